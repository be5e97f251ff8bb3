//! `/-/faults` on the OSS port: arm, read and clear faults (loopback peers only); and
//! `/-/callback-public-key.pem`, the key upload callbacks are signed with.

use crate::body::RequestBody;
use crate::faults::FaultSpec;
use crate::server::{Resp, State};
use axum::body::Body;
use http::{Method, Response, StatusCode};
use std::net::SocketAddr;

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
    if !peer.ip().is_loopback() {
        return json(
            StatusCode::FORBIDDEN,
            serde_json::json!({"error": "the admin routes answer loopback clients only"}),
        );
    }
    if parts.uri.path() != "/-/faults" {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "no such admin route"}),
        );
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
