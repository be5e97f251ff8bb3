//! `oss-direct`: the app's uploads from a terminal, for testers, scripts and benchmarks.
//! A thin layer over the `oss-direct` library: every upload goes through the same calls as the
//! app.
//!
//! ```text
//! oss-direct upload photo.jpg --server http://127.0.0.1:7080/ --resumable --json
//! ```

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use oss_direct::{GetOptions, Settings, SignatureVersion, UploadMode, UploadOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

#[derive(Args, Clone)]
struct Connect {
    /// The app token server's URL.
    #[arg(long, env = "OSS_DIRECT_SERVER")]
    server: String,
    /// A user token sent as `Authorization: Bearer` (when the server requires sign-in).
    #[arg(long, env = "OSS_DIRECT_BEARER", hide_env_values = true)]
    bearer: Option<String>,
    /// Bucket (default: the token server's hint).
    #[arg(long)]
    bucket: Option<String>,
    /// Region, e.g. cn-hangzhou (default: the token server's hint).
    #[arg(long)]
    region: Option<String>,
    /// Endpoint override, e.g. http://127.0.0.1:9000 (default: the hint, else the region's).
    #[arg(long)]
    endpoint: Option<String>,
    /// Object name prefix (default: the token server's hint).
    #[arg(long)]
    prefix: Option<String>,
    /// Signature version: v4 (default) or v1.
    #[arg(long, default_value = "v4")]
    signature_version: SignatureVersion,
}

impl Connect {
    async fn connect(&self) -> oss_direct::Result<(Settings, oss_direct::Connection)> {
        warn_if_cleartext(&self.server);
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

#[derive(Subcommand)]
enum Command {
    /// Upload a file (simple or resumable).
    Upload {
        /// The file.
        file: PathBuf,
        #[command(flatten)]
        connect: Connect,
        /// Object name (default: prefix + the file's name).
        #[arg(long)]
        key: Option<String>,
        /// Always use a resumable (multipart, checkpointed) upload.
        #[arg(long, conflicts_with = "simple")]
        resumable: bool,
        /// Always use one PutObject.
        #[arg(long)]
        simple: bool,
        /// Part size in bytes for resumable uploads.
        #[arg(long, default_value_t = oss_direct::resumable::DEFAULT_PART_SIZE)]
        part_size: u64,
        /// Parts in flight at once.
        #[arg(long, default_value_t = oss_direct::resumable::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// Where resumable uploads keep their checkpoints.
        #[arg(long)]
        checkpoint_dir: Option<PathBuf>,
        /// Print one JSON line instead of a progress bar.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        photo: photo::PhotoArgs,
    },
    /// Fetch a token and show what it is for (never the secret or the security token).
    Token {
        #[command(flatten)]
        connect: Connect,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a presigned GET URL, optionally with image processing.
    Url {
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
    },
    /// List the uploads the app server recorded from upload callbacks (yours, newest first).
    List {
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
    },
    /// Download an object (optionally processed) to a file.
    Get {
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
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("oss-direct: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Upload {
            file,
            connect,
            key,
            resumable,
            simple,
            part_size,
            concurrency,
            checkpoint_dir,
            json,
            photo,
        } => {
            let (settings, conn) = connect.connect().await.map_err(|e| e.to_string())?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| format!("{} is not a file name", file.display()))?;
            let key = key.unwrap_or_else(|| settings.key_for(&name));
            settings.check_key(&key).map_err(|e| e.to_string())?;
            let prepared = photo.prepare(&file).await?;
            let file = prepared.as_ref().map_or(file, |p| p.path.clone());
            let size = std::fs::metadata(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?
                .len();
            let bar = (!json && std::io::stderr().is_terminal()).then(|| {
                let b = ProgressBar::new(size);
                b.set_style(
                    ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    )
                    .expect("a valid template"),
                );
                b
            });
            let progress: Option<oss_direct::ProgressFn> = bar.clone().map(|b| {
                Arc::new(move |p: oss_direct::Progress| b.set_position(p.bytes_done))
                    as oss_direct::ProgressFn
            });
            let options = UploadOptions {
                mode: if resumable {
                    UploadMode::Resumable
                } else if simple {
                    UploadMode::Simple
                } else {
                    UploadMode::Auto
                },
                part_size,
                concurrency,
                checkpoint_dir,
                progress,
                callback: match conn.hints.callback.clone() {
                    Some(cb) => Some(cb.validate().map(|()| cb).map_err(|e| e.to_string())?),
                    None => None,
                },
                ..Default::default()
            };
            let cancel = options.cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    cancel.cancel();
                }
            });
            let started = Instant::now();
            let out = conn
                .client
                .upload_file(&key, &file, options)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let seconds = started.elapsed().as_secs_f64();
            if let Some(p) = &prepared {
                p.remove().map_err(|e| e.to_string())?;
            }
            let u = &out.upload;
            if json {
                let line = serde_json::json!({
                    "key": u.key, "etag": u.etag, "crc64": u.crc64.to_string(), "bytes": u.bytes,
                    "seconds": seconds, "resumed_parts": u.resumed_parts,
                    "uploaded_parts": u.uploaded_parts, "restarted": out.restarted,
                    "callback": u.callback,
                    "prepared": prepared.as_ref().map(photo::json),
                });
                println!("{line}");
            } else {
                if let Some(p) = &prepared {
                    eprintln!("photo: {}", p.report.summary());
                }
                if let Some(why) = &out.restarted {
                    eprintln!("note: started over because {why}");
                }
                match &u.callback {
                    Some(oss_direct::CallbackOutcome::Answered { body }) => {
                        eprintln!("the app server was told: {body}")
                    }
                    Some(oss_direct::CallbackOutcome::Failed { message }) => eprintln!(
                        "warning: stored, but the app server was not told (CallbackFailed: {message})"
                    ),
                    None => {}
                }
                println!(
                    "uploaded {} ({} bytes in {:.2} s), ETag {}, CRC-64 {} verified{}",
                    u.key,
                    u.bytes,
                    seconds,
                    u.etag,
                    u.crc64,
                    if u.resumed_parts > 0 {
                        format!(", resumed with {} parts already there", u.resumed_parts)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(())
        }
        Command::Token { connect, json } => {
            let (settings, conn) = connect.connect().await.map_err(|e| e.to_string())?;
            let creds = conn.credentials.token().await.map_err(|e| e.to_string())?;
            let exp = conn
                .expiration
                .map(|e| e.format(&time_format()).unwrap_or_default())
                .unwrap_or_default();
            let left = conn
                .expiration
                .map(|e| (e - time::OffsetDateTime::now_utc()).whole_seconds())
                .unwrap_or(0);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "AccessKeyId": creds.credentials.access_key_id, "Expiration": exp,
                        "SecondsLeft": left, "Bucket": settings.bucket, "Region": settings.region,
                        "Endpoint": conn.client.endpoint().base_url(), "ObjectPrefix": settings.object_prefix,
                    })
                );
            } else {
                println!("AccessKeyId  {}", creds.credentials.access_key_id);
                println!("Expiration   {exp} ({left} s left)");
                println!("Bucket       {}", settings.bucket);
                println!("Region       {}", settings.region);
                println!("Endpoint     {}", conn.client.endpoint().base_url());
                println!("ObjectPrefix {}", settings.object_prefix);
            }
            Ok(())
        }
        Command::Url {
            key,
            connect,
            process,
            expires,
        } => {
            let (_, conn) = connect.connect().await.map_err(|e| e.to_string())?;
            let url = conn
                .client
                .presign_get(&key, Duration::from_secs(expires), process.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!("{url}");
            Ok(())
        }
        Command::List {
            server,
            bearer,
            limit,
            all,
            json,
        } => {
            warn_if_cleartext(&server);
            let mut provider =
                oss_direct::AuthServerCredentials::new(server).map_err(|e| e.to_string())?;
            if let Some(b) = bearer {
                provider = provider.with_bearer(b);
            }
            let mut after: Option<String> = None;
            loop {
                let page = provider
                    .list_uploads(Some(limit), after.as_deref())
                    .await
                    .map_err(|e| e.to_string())?;
                for u in &page.uploads {
                    if json {
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
                    Some(next) if all => after = Some(next),
                    _ => break,
                }
            }
            Ok(())
        }
        Command::Get {
            key,
            connect,
            output,
            process,
        } => {
            let (_, conn) = connect.connect().await.map_err(|e| e.to_string())?;
            let n = conn
                .client
                .get_object_to_file(
                    &key,
                    &output,
                    &GetOptions {
                        range: None,
                        process,
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("wrote {n} bytes to {}", output.display());
            Ok(())
        }
    }
}

/// One line on stderr when the App server is plain http:// to a host outside the local network
/// (the user token and the STS credentials would travel in clear).
fn warn_if_cleartext(server: &str) {
    if let Some(w) = oss_direct::endpoint::cleartext_warning(server) {
        eprintln!("oss-direct: warning: {w}");
    }
}

fn time_format() -> time::format_description::well_known::Rfc3339 {
    time::format_description::well_known::Rfc3339
}
