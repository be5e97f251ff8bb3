//! `app-token-server [PORT] [--config FILE] [--listen ADDR]`: serves STS tokens to apps.
//!
//! Run `app-token-server --help`; see `server/README.md` for the configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use app_token_server::{app, AppState, Config};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The app token server: hands apps short-lived STS credentials scoped by a policy template.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port to listen on.
    #[arg(default_value_t = 7080)]
    port: u16,
    /// The configuration file (policy files are looked up beside it first).
    #[arg(long, default_value = "config.json")]
    config: PathBuf,
    /// Address to listen on; the default reaches phones on the LAN.
    #[arg(long, default_value = "0.0.0.0")]
    listen: String,
    /// Log format.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    log_format: String,
    /// Check the configuration and policies, print one line, and exit (0 if good, 2 if not).
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_format);
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("app-token-server: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if args.check {
        println!(
            "{}: OK (role {}, {} s tokens, scopes: default{}, auth: {}{})",
            config.file.display(),
            config.role_arn,
            config.token_expire_seconds,
            config
                .scope_names()
                .iter()
                .map(|s| format!(", {s}"))
                .collect::<String>(),
            if config.auth.is_some() { "jwt" } else { "off" },
            match (&config.callback, &config.database_url) {
                (Some(_), Some(db)) => format!(", callbacks: on, database: {db}"),
                (None, Some(db)) => format!(", database: {db}"),
                _ => String::new(),
            },
        );
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The uploads database (when configured) must open before anything listens.
    let state = match runtime.block_on(AppState::open(config)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("app-token-server: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(args, state)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("app-token-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args, state: AppState) -> Result<(), String> {
    let config = state.config();
    let addr = listen_addr(&args.listen, args.port)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(
        listen = %local,
        config = %config.file.display(),
        sts = %config.sts_endpoint,
        role_arn = %config.role_arn,
        auth = if config.auth.is_some() { "jwt" } else { "off" },
        scopes = ?config.scope_names(),
        token_expire_seconds = config.token_expire_seconds,
        cache = config.token_cache,
        "app-token-server listening"
    );
    if config.auth.is_none() {
        tracing::warn!("caller authentication is off: anyone who reaches this port gets a token (demo only; see Auth in README)");
    }
    if config.auth.is_none() && config.object_prefix.is_empty() {
        tracing::warn!("ObjectPrefix is empty: tokens cover the whole bucket");
    }
    if config.sts_endpoint.scheme() == "http" && !is_loopback_host(&config.sts_endpoint) {
        tracing::warn!(sts = %config.sts_endpoint, "StsEndpoint is plain http to a remote host: credentials would cross the network unencrypted");
    }
    if let Some(callback) = &config.callback {
        tracing::info!(
            callback_urls = ?callback.urls.iter().map(url::Url::as_str).collect::<Vec<_>>(),
            trusted_key_urls = ?callback.trusted_key_urls.iter().map(url::Url::as_str).collect::<Vec<_>>(),
            "upload callbacks on (POST /callback)"
        );
    }
    if let Some(db) = &config.database_url {
        tracing::info!(database = %db, "uploads recorded (GET /uploads)");
    }
    axum::serve(
        listener,
        app(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("app-token-server stopped");
    Ok(())
}

fn listen_addr(listen: &str, port: u16) -> Result<SocketAddr, String> {
    // Accept a bare IP (the port comes from PORT) or a full ADDR:PORT.
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let ip: std::net::IpAddr = listen
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .map_err(|_| format!("--listen {listen:?} is not an IP address"))?;
    Ok(SocketAddr::new(ip, port))
}

fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn init_logging(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
