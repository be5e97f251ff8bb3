//! Listening sockets, connections (so a fault can drop one), shared state, and the common
//! response headers.

use crate::body::RequestBody;
use crate::config::{Options, Role, User};
use crate::faults::Faults;
use crate::storage::Storage;
use crate::token::TokenKey;
use axum::body::Body;
use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use oss_direct_wire::policy::Policy;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// A response with axum's body type (full or streamed).
pub(crate) type Resp = Response<Body>;

/// Everything the handlers share.
pub(crate) struct State {
    pub opts: Options,
    pub users: Vec<(User, Arc<Policy>)>,
    pub roles: Vec<(Role, Arc<Policy>)>,
    pub storage: Storage,
    pub tokens: TokenKey,
    pub faults: Arc<Faults>,
    /// STS `SignatureNonce`s seen, with when they may be forgotten.
    pub nonces: Mutex<HashMap<String, i64>>,
    /// Signs upload callbacks.
    pub callback_key: crate::callback::CallbackKey,
    /// Where callback receivers fetch the public key (the OSS address, loopback if unspecified).
    pub oss_public_addr: SocketAddr,
    /// The secret the faults admin route requires (`x-oss-local-admin-token`).
    pub admin_token: String,
    /// Ports oss-local listens on (OSS, STS): upload callbacks never go there.
    pub own_ports: [u16; 2],
    /// Turns for image processing jobs (at most `img::CONCURRENT_JOBS` at once).
    pub img_jobs: tokio::sync::Semaphore,
    /// Serialises Complete/Abort of one upload id.
    pub upload_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl State {
    pub fn upload_lock(&self, upload_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(upload_id.to_string()).or_default().clone()
    }

    /// Drops a lock from the table once `held` (the caller's handle, being released) is the
    /// only one left, so per-object locks (AppendObject) do not pile up.
    pub fn release_lock(&self, key: &str, held: Arc<tokio::sync::Mutex<()>>) {
        let mut m = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&held) <= 2 {
            m.remove(key);
        }
    }

    /// Drops the lock of a finished upload (holders keep their `Arc`).
    pub fn forget_upload_lock(&self, upload_id: &str) {
        let mut m = self.upload_locks.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(upload_id);
    }
}

/// Which API a listener serves.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Api {
    Oss,
    Sts,
}

/// Accepts connections until `shutdown` flips, then drops every open connection.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    api: Api,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let mut stop = shutdown.clone();
                conns.spawn(async move {
                    let cut = Arc::new(Notify::new());
                    let cut_for_requests = cut.clone();
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        let cut = cut_for_requests.clone();
                        async move { Ok::<_, Infallible>(handle(state, api, peer, cut, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = cut.notified() => {}
                        _ = stop.changed() => {}
                    }
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// A request id like the service's: 24 upper-case hex digits.
pub(crate) fn new_request_id() -> String {
    crate::storage::random_hex(12).to_ascii_uppercase()
}

async fn handle(
    state: Arc<State>,
    api: Api,
    peer: SocketAddr,
    cut: Arc<Notify>,
    req: Request<Incoming>,
) -> Resp {
    let (parts, body) = req.into_parts();
    let body = RequestBody::new(body, cut);
    let request_id = new_request_id();
    let mut resp = match api {
        Api::Oss if parts.uri.path().starts_with("/-/") => {
            crate::admin::handle(&state, &parts, body, peer).await
        }
        Api::Oss => crate::oss::handle(&state, &parts, body, peer, &request_id).await,
        Api::Sts => crate::sts::handle(&state, &parts, body).await,
    };
    // The path only: queries carry signatures and tokens.
    tracing::info!(
        method = %parts.method,
        path = %parts.uri.path(),
        status = resp.status().as_u16(),
        "request"
    );
    let h = resp.headers_mut();
    if matches!(api, Api::Oss) {
        h.insert(
            "x-oss-request-id",
            HeaderValue::from_str(&request_id).expect("hex"),
        );
        h.insert("server", HeaderValue::from_static("AliyunOSS"));
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now())) {
        h.insert(http::header::DATE, v);
    }
    resp
}
