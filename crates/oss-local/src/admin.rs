//! `/-/faults` on the OSS port: arm, read and clear faults; and `/-/callback-public-key.pem`,
//! the key upload callbacks are signed with.
//!
//! The faults route answers loopback peers that present the admin token (printed at start-up,
//! in the ready file, and [`Running::admin_token`](crate::Running::admin_token)) in the
//! [`ADMIN_TOKEN_HEADER`] header, and takes only `application/json` bodies. An upload callback
//! cannot present it (oss-local never calls back to its own ports anyway) and a web page cannot
//! send a custom header cross-site without a CORS preflight, which this route never grants.

use crate::body::RequestBody;
use crate::context::{Resp, State};
use crate::faults::FaultSpec;
use axum::body::Body;
use http::{Method, Response, StatusCode};
use std::net::SocketAddr;

/// The header that must carry the admin token.
pub const ADMIN_TOKEN_HEADER: &str = "x-oss-local-admin-token";

/// Compares in time independent of where the first difference is.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Why a request may not use the faults route, if it may not.
fn refusal(state: &State, parts: &http::request::Parts, peer: SocketAddr) -> Option<Resp> {
    if !peer.ip().is_loopback() {
        return Some(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": "the admin routes answer loopback clients only"}),
        ));
    }
    let token = parts.headers.get(ADMIN_TOKEN_HEADER).map(|v| v.as_bytes());
    if !token.is_some_and(|t| same_secret(t, state.admin_token.as_bytes())) {
        return Some(json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": format!("{ADMIN_TOKEN_HEADER} is missing or wrong (oss-local prints ADMIN_TOKEN at start-up)")}),
        ));
    }
    let has_body = matches!(parts.method, Method::POST | Method::PUT);
    let is_json = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if has_body && !is_json {
        return Some(json(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            serde_json::json!({"error": "the faults route takes Content-Type: application/json only"}),
        ));
    }
    None
}

fn json(status: StatusCode, v: serde_json::Value) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .expect("valid response")
}

pub(crate) async fn handle(
    state: &State,
    parts: &http::request::Parts,
    mut body: RequestBody,
    peer: SocketAddr,
) -> Resp {
    // The callback public key is public; everything else is for local tests only.
    if parts.uri.path() == crate::callback::PUBLIC_KEY_PATH && parts.method == Method::GET {
        return match state.callback_key.public_pem() {
            Ok(pem) => Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/x-pem-file")
                .body(Body::from(pem))
                .expect("valid response"),
            Err(e) => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"error": e.message}),
            ),
        };
    }
    if parts.uri.path() != "/-/faults" {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "no such admin route"}),
        );
    }
    if let Some(refused) = refusal(state, parts, peer) {
        return refused;
    }
    match parts.method {
        Method::GET => json(StatusCode::OK, state.faults.snapshot()),
        Method::DELETE => {
            state.faults.clear();
            json(StatusCode::OK, state.faults.snapshot())
        }
        Method::POST | Method::PUT => {
            let bytes = match body.collect(64 * 1024).await {
                Ok(b) => b,
                Err(e) => {
                    return json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"error": e.message}),
                    )
                }
            };
            // One spec or a list of them.
            let specs: Result<Vec<FaultSpec>, _> = serde_json::from_slice::<Vec<FaultSpec>>(&bytes)
                .or_else(|_| serde_json::from_slice::<FaultSpec>(&bytes).map(|s| vec![s]));
            match specs {
                Ok(specs) => {
                    for s in specs {
                        state.faults.apply(s);
                    }
                    json(StatusCode::OK, state.faults.snapshot())
                }
                Err(e) => json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"error": e.to_string()}),
                ),
            }
        }
        _ => json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "use GET, POST or DELETE"}),
        ),
    }
}
