//! One span per request (id, method, path, client, user, scope, cache) and one line when it ends
//! (status, latency). Handlers fill `user`, `scope` and `cache`; nothing here sees a secret.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

/// The header that carries the request id in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Runs the request inside its span and logs its outcome; echoes or assigns `x-request-id`.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_safe_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        user = tracing::field::Empty,
        scope = tracing::field::Empty,
        cache = tracing::field::Empty,
    );
    let started = Instant::now();
    async move {
        let mut response = next.run(request).await;
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_micros() as f64 / 1000.0;
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request done");
        }
        if let Ok(v) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        response
    }
    .instrument(span)
    .await
}

/// A caller-chosen id is kept only if it is short and plain, so it cannot forge log lines.
fn is_safe_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
