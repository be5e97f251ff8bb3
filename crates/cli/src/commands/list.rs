//! `oss-direct list`: the uploads the app server recorded from upload callbacks.

use clap::Args;

use crate::connect::warn_if_cleartext;
use crate::exit::CliError;

/// List the uploads the app server recorded from upload callbacks (yours, newest first).
#[derive(Args)]
pub struct ListArgs {
    /// The app token server's URL.
    #[arg(long, env = "OSS_DIRECT_SERVER")]
    server: String,
    /// A user token sent as `Authorization: Bearer`.
    #[arg(long, env = "OSS_DIRECT_BEARER", hide_env_values = true)]
    bearer: Option<String>,
    /// Uploads per page.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Follow every page.
    #[arg(long)]
    all: bool,
    /// Print one JSON object per upload.
    #[arg(long)]
    json: bool,
}

impl ListArgs {
    pub async fn run(self) -> Result<(), CliError> {
        warn_if_cleartext(&self.server);
        let mut provider = oss_direct::AuthServerCredentials::new(self.server)?;
        if let Some(b) = self.bearer {
            provider = provider.with_bearer(b);
        }
        let mut after: Option<String> = None;
        loop {
            let page = provider
                .list_uploads(Some(self.limit), after.as_deref())
                .await?;
            for u in &page.uploads {
                if self.json {
                    println!("{}", serde_json::to_string(u).unwrap_or_default());
                } else {
                    let size = u.size.map(|s| format!("{s} B")).unwrap_or_default();
                    let dims = match (u.image_width, u.image_height) {
                        (Some(w), Some(h)) => format!("{w}x{h}"),
                        _ => String::new(),
                    };
                    println!("{}  {:>12}  {:>9}  {}", u.uploaded_at, size, dims, u.key);
                }
            }
            match page.next_after {
                Some(next) if self.all => after = Some(next),
                _ => return Ok(()),
            }
        }
    }
}
