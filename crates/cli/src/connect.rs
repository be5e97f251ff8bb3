//! `--server` and what may override the token server's hints, shared by the subcommands that
//! talk to OSS.

use clap::Args;
use std::time::{Duration, Instant};

use oss_direct::queue::is_transient;
use oss_direct::{Settings, SignatureVersion};

use crate::exit::CliError;

/// How to reach the app token server and OSS.
#[derive(Args, Clone)]
pub struct Connect {
    /// The app token server's URL.
    #[arg(long, env = "OSS_DIRECT_SERVER")]
    pub server: String,
    /// A user token sent as `Authorization: Bearer` (when the server requires sign-in).
    #[arg(long, env = "OSS_DIRECT_BEARER", hide_env_values = true)]
    pub bearer: Option<String>,
    /// Bucket (default: the token server's hint).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Region, e.g. cn-hangzhou (default: the token server's hint).
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint override, e.g. http://127.0.0.1:9000 (default: the hint, else the region's).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Object name prefix (default: the token server's hint).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Signature version: v4 (default) or v1.
    #[arg(long, default_value = "v4")]
    pub signature_version: SignatureVersion,
}

impl Connect {
    /// Settings filled from the flags and the token server's hints, and a connection.
    pub async fn connect(&self) -> Result<(Settings, oss_direct::Connection), CliError> {
        warn_if_cleartext(&self.server);
        Ok(self.try_connect().await?)
    }

    /// [`Connect::connect`], riding out an app server that is unreachable, failing or
    /// throttling for up to `max_wait` (capped exponential backoff), as the upload queue does.
    pub async fn connect_patiently(
        &self,
        max_wait: Duration,
    ) -> Result<(Settings, oss_direct::Connection), CliError> {
        warn_if_cleartext(&self.server);
        let started = Instant::now();
        let mut delay = Duration::from_secs(1);
        let mut told = false;
        loop {
            match self.try_connect().await {
                Err(e) if is_transient(&e) && started.elapsed() + delay < max_wait => {
                    if !told {
                        eprintln!("oss-direct: waiting for the app server: {}", e.message());
                        told = true;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                other => return Ok(other?),
            }
        }
    }

    async fn try_connect(&self) -> oss_direct::Result<(Settings, oss_direct::Connection)> {
        let mut s = Settings {
            server_url: self.server.clone(),
            bucket: self.bucket.clone().unwrap_or_default(),
            region: self.region.clone().unwrap_or_default(),
            endpoint: self.endpoint.clone().unwrap_or_default(),
            object_prefix: self.prefix.clone().unwrap_or_default(),
            signature_version: self.signature_version,
        };
        let c = s.connect(self.bearer.as_deref()).await?;
        Ok((s, c))
    }
}

/// One line on stderr when the App server is plain http:// to a host outside the local network
/// (the user token and the STS credentials would travel in clear).
pub fn warn_if_cleartext(server: &str) {
    if let Some(w) = oss_direct::endpoint::cleartext_warning(server) {
        eprintln!("oss-direct: warning: {w}");
    }
}
