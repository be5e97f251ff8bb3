//! `oss-local --demo`: the offline OSS + STS on loopback. Run `oss-local --help` for flags.

use clap::Parser;
use oss_local::{Options, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_BUCKET, DEMO_ROLE_ARN};
use std::net::SocketAddr;
use std::path::PathBuf;

/// An offline Alibaba Cloud OSS + STS stand-in that verifies signatures, tokens and policies.
/// For development and tests only.
#[derive(Parser, Debug)]
#[command(name = "oss-local", version)]
struct Cli {
    /// Create the demo account: bucket demo-bucket, RAM user LTAI5tLocalDemoKey, role
    /// acs:ram::1000000000000000:role/oss-direct-demo.
    #[arg(long)]
    demo: bool,
    /// OSS API address; port 0 picks a free port [default: 127.0.0.1:9000 or the config file's].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// STS API address; port 0 picks a free port [default: 127.0.0.1:9001 or the config file's].
    #[arg(long)]
    sts_listen: Option<SocketAddr>,
    /// Where objects, uploads and the token key live [default: the user's data directory].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// JSON file with options (users, roles, buckets, region, ...); flags given on the command
    /// line override its addresses and data dir.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Region of the OSS endpoint [default: cn-hangzhou or the config file's].
    #[arg(long)]
    region: Option<String>,
    /// Write an app-token-server config.json for the demo account here.
    #[arg(long)]
    write_token_server_config: Option<PathBuf>,
    /// Write {"oss_endpoint","sts_endpoint","region","admin_token"} here once listening (for
    /// scripts). The faults admin route requires admin_token in x-oss-local-admin-token
    /// (set it with OSS_LOCAL_ADMIN_TOKEN, else it is random).
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

fn fail(msg: String) -> ! {
    eprintln!("oss-local: {msg}");
    std::process::exit(2);
}

/// Keeps memory that request bodies freed for the next ones. Each body arrives in buffers of a
/// few hundred KiB; glibc's malloc by default hands allocations that size out as fresh `mmap`s
/// and returns them (or trims its heaps) when freed, so every buffer is faulted in and zeroed by
/// the kernel again: 24,000-35,000 page faults per 512 MiB received. Allocations up to 4 MiB
/// come from the heap instead, and a heap keeps up to 64 MiB of free memory rather than returning
/// it at once: 4,000 faults, 3-7% less CPU per GiB received (`perf stat` A/B, 4 rounds each).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two of malloc's parameters; called before any request is served.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

#[tokio::main]
async fn main() {
    keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OSS_LOCAL_LOG")
                .unwrap_or_else(|_| "oss_local=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut opts = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
            serde_json::from_str::<Options>(&text)
                .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())))
        }
        None => Options::default(),
    };
    if cli.demo {
        opts.add_demo_account();
    }
    if opts.users.is_empty() && opts.roles.is_empty() {
        fail("nothing to serve: pass --demo or a --config with users, roles and buckets".into());
    }
    if let Some(a) = cli.listen {
        opts.oss_listen = a;
    }
    if let Some(a) = cli.sts_listen {
        opts.sts_listen = a;
    }
    if let Some(r) = cli.region {
        opts.region = r;
    }
    opts.data_dir = match cli.data_dir {
        Some(d) => d,
        None if cli.config.is_some() && opts.data_dir != Options::default().data_dir => {
            opts.data_dir
        }
        None => Options::default_data_dir(),
    };
    if let Ok(t) = std::env::var("OSS_LOCAL_ADMIN_TOKEN") {
        opts.admin_token = Some(t).filter(|t| !t.is_empty());
    }
    let region = opts.region.clone();
    let data_dir = opts.data_dir.clone();
    let running = oss_local::start(opts)
        .await
        .unwrap_or_else(|e| fail(e.to_string()));

    println!("oss-local is running (for development and tests only; not Alibaba Cloud).");
    println!("OSS_ENDPOINT={}", running.oss_endpoint());
    println!("STS_ENDPOINT={}", running.sts_endpoint());
    println!("REGION={region}");
    println!("DATA_DIR={}", data_dir.display());
    // The faults admin route's secret (a test switch, not an account credential).
    println!("ADMIN_TOKEN={}", running.admin_token());
    if cli.demo {
        println!("BUCKET={DEMO_BUCKET}");
        println!("ACCESS_KEY_ID={DEMO_ACCESS_KEY_ID}");
        println!("ACCESS_KEY_SECRET={DEMO_ACCESS_KEY_SECRET}");
        println!("ROLE_ARN={DEMO_ROLE_ARN}");
    }
    if let Some(path) = &cli.write_token_server_config {
        let cfg = serde_json::json!({
            "AccessKeyID": DEMO_ACCESS_KEY_ID,
            "AccessKeySecret": DEMO_ACCESS_KEY_SECRET,
            "RoleArn": DEMO_ROLE_ARN,
            "TokenExpireTime": "900",
            "PolicyFile": "policy/bucket_write_policy.txt",
            "StsEndpoint": running.sts_endpoint(),
            "Bucket": DEMO_BUCKET,
            "Region": region,
            "OssEndpoint": running.oss_endpoint(),
            "ObjectPrefix": "uploads/",
        });
        let text = serde_json::to_string_pretty(&cfg).expect("json");
        std::fs::write(path, text + "\n")
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        println!("TOKEN_SERVER_CONFIG={}", path.display());
    }
    if let Some(path) = &cli.ready_file {
        let ready = serde_json::json!({
            "oss_endpoint": running.oss_endpoint(),
            "sts_endpoint": running.sts_endpoint(),
            "region": region,
            "admin_token": running.admin_token(),
        });
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, ready.to_string())
            .and_then(|_| std::fs::rename(&tmp, path))
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();

    wait_for_stop().await;
    running.shutdown().await;
}

/// Ctrl-C, or SIGTERM where there is one.
#[cfg(unix)]
async fn wait_for_stop() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .unwrap_or_else(|e| fail(format!("signal handler: {e}")));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Ctrl-C.
#[cfg(not(unix))]
async fn wait_for_stop() {
    let _ = tokio::signal::ctrl_c().await;
}
