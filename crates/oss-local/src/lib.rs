//! oss-local: an offline Alibaba Cloud OSS + STS stand-in that verifies signatures, tokens and
//! policies, stores objects on disk, does IMG resize/watermark, calls upload callbacks, and can
//! inject faults.
//!
//! It exists so that the token server, the CLI and the app can run and be tested on one machine
//! without an Alibaba Cloud account. It is never the production path.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oss_local::Error> {
//! let running = oss_local::start(oss_local::Options::demo("/tmp/oss-local".into())).await?;
//! println!("OSS at {}, STS at {}", running.oss_endpoint(), running.sts_endpoint());
//! running.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod acl;
mod acs3;
mod admin;
mod append;
mod auth;
mod body;
mod body_md5;
mod bucket;
mod callback;
mod config;
mod context;
mod copy;
mod delete_many;
mod faults;
mod gzip;
mod img;
mod keys;
mod list;
mod multipart;
mod object;
mod op;
mod oss;
mod post;
mod post_policy;
/// The RAM policy grammar and evaluation (shared with the token server).
pub use oss_direct_wire::policy;
mod server;
mod storage;
mod sts;
mod tagging;
mod token;
mod xml;

pub use admin::ADMIN_TOKEN_HEADER;
pub use config::{
    BucketConfig, Options, Role, User, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_ACCOUNT_ID,
    DEMO_BUCKET, DEMO_ROLE_ARN,
};
pub use faults::{FaultSpec, Faults};

use context::State;
use server::Api;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Why the stand-in could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The data folder could not be prepared.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The options are inconsistent (a bad policy, bucket name, ...).
    #[error("configuration: {0}")]
    Config(String),
}

/// A running stand-in. Dropping it stops the servers too; [`Running::shutdown`] also waits.
pub struct Running {
    /// The bound OSS address.
    pub oss_addr: SocketAddr,
    /// The bound STS address.
    pub sts_addr: SocketAddr,
    region: String,
    admin_token: String,
    faults: Arc<Faults>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// `http://IP:PORT` of the OSS API.
    pub fn oss_endpoint(&self) -> String {
        format!("http://{}", self.oss_addr)
    }

    /// `http://IP:PORT` of the STS API.
    pub fn sts_endpoint(&self) -> String {
        format!("http://{}", self.sts_addr)
    }

    /// The region V4 signatures must name.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The secret the `/-/faults` admin route requires in the [`ADMIN_TOKEN_HEADER`] header
    /// (from [`Options::admin_token`], or made at random on start).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The fault switchboard.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Stops both servers, dropping open connections, and waits until they are gone.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Runs an `x-oss-process` chain on image bytes as GetObject does, with every watermark image
/// key naming `mark` (for the fuzz targets). `Ok` is the answer's content type and bytes, `Err`
/// the HTTP status and OSS error code.
#[doc(hidden)]
pub fn process_image(
    source: &[u8],
    process: &str,
    mark: &[u8],
) -> Result<(&'static str, Vec<u8>), (u16, String)> {
    let run = || {
        let actions = img::parse(process)?;
        img::process(source, &actions, &|_key| Ok(mark.to_vec()))
    };
    run()
        .map(|o| (o.content_type, o.bytes))
        .map_err(|e| (e.status.as_u16(), e.code))
}

pub(crate) fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Starts the OSS and STS servers described by `opts`.
pub async fn start(opts: Options) -> Result<Running, Error> {
    let data_err = |source| Error::DataDir {
        path: opts.data_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&opts.data_dir).map_err(data_err)?;
    let storage = storage::Storage::open(&opts.data_dir).map_err(data_err)?;
    for b in &opts.buckets {
        if !valid_bucket_name(&b.name) {
            return Err(Error::Config(format!("invalid bucket name {:?}", b.name)));
        }
        storage.ensure_bucket(&b.name).map_err(data_err)?;
    }
    let mut users = Vec::new();
    for u in &opts.users {
        let p = policy::Policy::from_value(&u.policy)
            .map_err(|e| Error::Config(format!("policy of user {}: {e}", u.name)))?;
        users.push((u.clone(), Arc::new(p)));
    }
    let mut roles = Vec::new();
    for r in &opts.roles {
        let p = policy::Policy::from_value(&r.policy)
            .map_err(|e| Error::Config(format!("policy of role {}: {e}", r.arn)))?;
        if !(900..=43200).contains(&r.max_session_duration) {
            return Err(Error::Config(format!(
                "max_session_duration of role {} must be 900..=43200",
                r.arn
            )));
        }
        roles.push((r.clone(), Arc::new(p)));
    }
    let tokens = token::TokenKey::load_or_create(&opts.data_dir).map_err(data_err)?;
    let faults = Arc::new(Faults::default());
    if let Some(s) = opts.token_lifetime_secs {
        faults.set_token_lifetime(Some(std::time::Duration::from_secs(s)));
    }

    let bind = |addr: SocketAddr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })
    };
    let oss_listener = bind(opts.oss_listen).await?;
    let sts_listener = bind(opts.sts_listen).await?;
    let oss_addr = oss_listener.local_addr().map_err(|source| Error::Bind {
        addr: opts.oss_listen,
        source,
    })?;
    let sts_addr = sts_listener.local_addr().map_err(|source| Error::Bind {
        addr: opts.sts_listen,
        source,
    })?;

    let region = opts.region.clone();
    let mut oss_public_addr = oss_addr;
    if oss_public_addr.ip().is_unspecified() {
        oss_public_addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let admin_token = opts
        .admin_token
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| storage::random_hex(16));
    let callback_key = keys::CallbackKey::new(&opts.data_dir, opts.data_dir.join("tmp"));
    let state = Arc::new(State {
        opts,
        users,
        roles,
        storage,
        tokens,
        faults: faults.clone(),
        callback_key,
        oss_public_addr,
        nonces: Mutex::new(HashMap::new()),
        upload_locks: Mutex::new(HashMap::new()),
        img_jobs: tokio::sync::Semaphore::new(img::CONCURRENT_JOBS),
        admin_token: admin_token.clone(),
        own_ports: [oss_addr.port(), sts_addr.port()],
    });
    let (stop, stop_rx) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(server::serve(
            oss_listener,
            state.clone(),
            Api::Oss,
            stop_rx.clone(),
        )),
        tokio::spawn(server::serve(sts_listener, state, Api::Sts, stop_rx)),
    ];
    Ok(Running {
        oss_addr,
        sts_addr,
        region,
        admin_token,
        faults,
        stop,
        tasks,
    })
}
