//! `oss-direct get KEY -o FILE`: download an object, optionally processed.

use std::path::PathBuf;

use clap::Args;
use oss_direct::GetOptions;

use crate::connect::Connect;
use crate::exit::CliError;

/// Download an object (optionally processed) to a file.
#[derive(Args)]
pub struct GetArgs {
    /// Object name.
    key: String,
    #[command(flatten)]
    connect: Connect,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
    /// An x-oss-process value, e.g. image/resize,w_200.
    #[arg(long)]
    process: Option<String>,
}

impl GetArgs {
    pub async fn run(self) -> Result<(), CliError> {
        let (_, conn) = self.connect.connect().await?;
        let options = GetOptions {
            range: None,
            process: self.process,
        };
        let n = conn
            .client
            .get_object_to_file(&self.key, &self.output, &options)
            .await?;
        eprintln!("wrote {n} bytes to {}", self.output.display());
        Ok(())
    }
}
