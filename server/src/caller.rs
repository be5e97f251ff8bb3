//! Who is calling: one axum extractor for every route that serves a caller (`GET /`,
//! `GET /uploads`). It reads the caller's address, verifies the bearer JWT when `Auth` is on,
//! and counts the request against the rate limit: a failed login against the address (so guessing
//! tokens is throttled too), a signed-in caller against its user, an anonymous one against its
//! address, each route in its own bucket.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;

use crate::auth::bearer_token;
use crate::error::AppError;
use crate::AppState;

/// The rate-limit bucket of a route.
pub(crate) trait Quota {
    /// Prefix of the rate-limit keys of this route.
    const NAME: &'static str;
}

/// `GET /`.
pub(crate) struct TokenQuota;
impl Quota for TokenQuota {
    const NAME: &'static str = "";
}

/// `GET /uploads`.
pub(crate) struct UploadsQuota;
impl Quota for UploadsQuota {
    const NAME: &'static str = "uploads:";
}

/// An authenticated (when `Auth` is on), rate-limited caller.
pub(crate) struct Caller<Q> {
    /// The JWT's `sub`, when `Auth` is on.
    pub user: Option<String>,
    _quota: PhantomData<Q>,
}

impl<Q: Quota> FromRequestParts<AppState> for Caller<Q> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let config = state.config();
        let address = client_address(parts, config.trust_forwarded_for);
        let user = match &config.auth {
            None => None,
            Some(verifier) => {
                let verified = bearer_token(&parts.headers).and_then(|token| match token {
                    None => Err(AppError::missing_token()),
                    Some(token) => verifier.verify(token),
                });
                match verified {
                    Ok(sub) => Some(sub),
                    Err(e) => {
                        state.rate_limit(&format!("ip:{address}"))?;
                        return Err(e);
                    }
                }
            }
        };
        let name = Q::NAME;
        match &user {
            Some(sub) => {
                tracing::Span::current().record("user", tracing::field::display(sub));
                state.rate_limit(&format!("{name}user:{sub}"))?;
            }
            None => state.rate_limit(&format!("{name}ip:{address}"))?,
        }
        Ok(Self {
            user,
            _quota: PhantomData,
        })
    }
}

/// The caller's address: the socket peer, or the last `X-Forwarded-For` entry (the one the
/// trusted proxy added) when `trust_forwarded_for` is set.
pub(crate) fn client_address(parts: &Parts, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| s.parse::<std::net::IpAddr>().is_ok());
        if let Some(ip) = forwarded {
            return ip.to_string();
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}
