//! `oss-direct url KEY`: a presigned GET URL, optionally with image processing.

use std::time::Duration;

use clap::Args;

use crate::connect::Connect;
use crate::exit::CliError;

/// Print a presigned GET URL, optionally with image processing.
#[derive(Args)]
pub struct UrlArgs {
    /// Object name.
    key: String,
    #[command(flatten)]
    connect: Connect,
    /// An x-oss-process value, e.g. image/resize,w_200.
    #[arg(long)]
    process: Option<String>,
    /// Seconds the URL stays valid.
    #[arg(long, default_value_t = 3600)]
    expires: u64,
}

impl UrlArgs {
    pub async fn run(self) -> Result<(), CliError> {
        let (_, conn) = self.connect.connect().await?;
        let url = conn
            .client
            .presign_get(
                &self.key,
                Duration::from_secs(self.expires),
                self.process.as_deref(),
            )
            .await?;
        println!("{url}");
        Ok(())
    }
}
