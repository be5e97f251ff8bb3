//! The offline stack for tests: `oss-local` (OSS + STS) and a real `app-token-server` in front of
//! its STS, both on loopback ports chosen by the system, data in a temporary folder.
//!
//! ```no_run
//! # async fn t() {
//! let stack = oss_direct_testkit::Stack::start().await;
//! let mut settings = stack.settings();
//! let conn = settings.connect(None).await.unwrap();
//! # }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// How to set the stack up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Policy file given to the token server, relative to the repository root.
    pub policy: &'static str,
    /// `ObjectPrefix` of the token server.
    pub prefix: &'static str,
    /// Whether the token server takes upload callbacks (recorded in SQLite in the temp folder;
    /// oss-local's public key trusted).
    pub callback: bool,
    /// Whether the token server rate-limits its callers (its default); off for tests that start
    /// the CLI many times.
    pub rate_limit: bool,
}

/// A test policy allowing everything on the bucket and prefix (listing and deleting included).
pub const ALL_ON_PREFIX_POLICY: &str = "crates/testkit/policies/all_on_prefix_policy.txt";

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            policy: "policy/bucket_read_write_policy.txt",
            prefix: "uploads/",
            callback: false,
            rate_limit: true,
        }
    }
}

/// A running offline stack.
pub struct Stack {
    /// oss-local (OSS + STS).
    pub oss: Option<oss_local::Running>,
    /// The token server's URL (`http://127.0.0.1:PORT/`).
    pub token_url: String,
    /// The OSS endpoint.
    pub oss_endpoint: String,
    oss_addr: SocketAddr,
    sts_addr: SocketAddr,
    /// Temporary folder holding oss-local's data and the token server's config.
    pub dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Stack {
    /// Starts the stack with the read-write policy on `uploads/`.
    pub async fn start() -> Stack {
        Self::start_with(StackOptions::default()).await
    }

    /// Starts the stack.
    pub async fn start_with(opts: StackOptions) -> Stack {
        let dir = tempfile::tempdir().expect("temp dir");
        let oss = oss_local::start(oss_local::Options::demo(dir.path().join("oss-data")))
            .await
            .expect("oss-local starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = serde_json::json!({
            "AccessKeyID": oss_local::DEMO_ACCESS_KEY_ID,
            "AccessKeySecret": oss_local::DEMO_ACCESS_KEY_SECRET,
            "RoleArn": oss_local::DEMO_ROLE_ARN,
            "TokenExpireTime": "900",
            "PolicyFile": repo_root().join(opts.policy),
            "StsEndpoint": oss.sts_endpoint(),
            "Bucket": oss_local::DEMO_BUCKET,
            "ObjectPrefix": opts.prefix,
            "Region": oss.region(),
            "OssEndpoint": oss.oss_endpoint(),
        });
        if !opts.rate_limit {
            config["RateLimit"] = false.into();
        }
        if opts.callback {
            config["Callback"] = serde_json::json!({
                "Url": format!("http://{addr}/callback"),
                "TrustedKeyUrls": [format!("{}/-/callback-public-key.pem", oss.oss_endpoint())],
            });
            config["DatabaseUrl"] =
                format!("sqlite://{}", dir.path().join("uploads.db").display()).into();
        }
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let cfg = app_token_server::Config::load(&config_path).expect("token server config");
        let state = app_token_server::AppState::open(cfg)
            .await
            .expect("token server state");
        let app = app_token_server::app(state);
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Stack {
            token_url: format!("http://{addr}/"),
            oss_endpoint: oss.oss_endpoint(),
            oss_addr: oss.oss_addr,
            sts_addr: oss.sts_addr,
            oss: Some(oss),
            dir,
            server,
        }
    }

    /// App settings pointing at this stack (bucket, region and prefix come from the hints).
    pub fn settings(&self) -> oss_direct::Settings {
        oss_direct::Settings {
            server_url: self.token_url.clone(),
            ..Default::default()
        }
    }

    /// The fault switchboard of oss-local.
    pub fn faults(&self) -> &oss_local::Faults {
        self.oss.as_ref().expect("oss-local running").faults()
    }

    /// Stops oss-local.
    pub async fn stop_oss(&mut self) {
        if let Some(oss) = self.oss.take() {
            oss.shutdown().await;
        }
    }

    /// Starts oss-local again on the same ports and data.
    pub async fn start_oss(&mut self) {
        let mut opts = oss_local::Options::demo(self.dir.path().join("oss-data"));
        opts.oss_listen = self.oss_addr;
        opts.sts_listen = self.sts_addr;
        self.oss = Some(oss_local::start(opts).await.expect("oss-local restarts"));
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}
