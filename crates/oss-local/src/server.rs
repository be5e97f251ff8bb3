//! Listening sockets, connections (so a fault can drop one), and the common response headers.

use crate::body::RequestBody;
use crate::context::{Resp, State};
use http::{HeaderValue, Request};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

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
