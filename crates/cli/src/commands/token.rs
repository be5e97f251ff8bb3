//! `oss-direct token`: fetch a token and show what it is for (never the secret or the token).

use clap::Args;

use crate::connect::Connect;
use crate::exit::CliError;

/// Fetch a token and show what it is for (never the secret or the security token).
#[derive(Args)]
pub struct TokenArgs {
    #[command(flatten)]
    connect: Connect,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl TokenArgs {
    pub async fn run(self) -> Result<(), CliError> {
        let (settings, conn) = self.connect.connect().await?;
        let creds = conn.credentials.token().await?;
        let rfc3339 = time::format_description::well_known::Rfc3339;
        let exp = conn
            .expiration
            .map(|e| e.format(&rfc3339).unwrap_or_default())
            .unwrap_or_default();
        let left = conn
            .expiration
            .map(|e| (e - time::OffsetDateTime::now_utc()).whole_seconds())
            .unwrap_or(0);
        let endpoint = conn.client.endpoint().base_url();
        if self.json {
            let line = serde_json::json!({
                "AccessKeyId": creds.credentials.access_key_id, "Expiration": exp,
                "SecondsLeft": left, "Bucket": settings.bucket, "Region": settings.region,
                "Endpoint": endpoint, "ObjectPrefix": settings.object_prefix,
            });
            println!("{line}");
        } else {
            println!("AccessKeyId  {}", creds.credentials.access_key_id);
            println!("Expiration   {exp} ({left} s left)");
            println!("Bucket       {}", settings.bucket);
            println!("Region       {}", settings.region);
            println!("Endpoint     {endpoint}");
            println!("ObjectPrefix {}", settings.object_prefix);
        }
        Ok(())
    }
}
