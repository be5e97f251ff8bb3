//! `oss-direct`: the app's uploads from a terminal, for testers, scripts and benchmarks.
//! A thin layer over the `oss-direct` library: every upload goes through the same calls as the
//! app (the upload queue, the same preparation of photos).
//!
//! ```text
//! oss-direct upload photo.jpg album/ --recursive --server http://127.0.0.1:7080/ --json
//! ```
//!
//! Exit codes: see [`exit`].

use clap::{Parser, Subcommand};

mod commands;
mod connect;
mod exit;
mod photo;

#[derive(Parser)]
#[command(
    name = "oss-direct",
    version,
    about = "Upload files straight to Alibaba Cloud OSS with short-lived tokens from an app token server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upload files and folders (simple or resumable), several at once, riding out network loss.
    Upload(commands::upload::UploadArgs),
    /// Fetch a token and show what it is for (never the secret or the security token).
    Token(commands::token::TokenArgs),
    /// Print a presigned GET URL, optionally with image processing.
    Url(commands::url::UrlArgs),
    /// List the uploads the app server recorded from upload callbacks (yours, newest first).
    List(commands::list::ListArgs),
    /// Download an object (optionally processed) to a file.
    Get(commands::get::GetArgs),
}

// One thread drives every request (files and parts read ahead on blocking threads): with
// tokio's multi-thread scheduler the same upload cost ~10% more CPU, in some 2.7x as many context
// switches (workers waking, parking and stealing), for no throughput: the client needs ~0.6
// CPU-seconds per GiB, so one core carries well over 1 GB/s (bench/cost.sh; bench/RESULTS.md).
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let result = match Cli::parse().command {
        Command::Upload(a) => a.run().await,
        Command::Token(a) => a.run().await,
        Command::Url(a) => a.run().await,
        Command::List(a) => a.run().await,
        Command::Get(a) => a.run().await,
    };
    if let Err(e) = result {
        eprintln!("oss-direct: {}", e.message);
        std::process::exit(e.code);
    }
    std::process::exit(exit::OK);
}
