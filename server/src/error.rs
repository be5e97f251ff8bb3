//! The one error type a request can end in, and the JSON it becomes.
//!
//! Every failure answers `{"StatusCode":<code>,"ErrorCode":"...","ErrorMessage":"..."}` with the
//! same HTTP status as `StatusCode`, like the reference `app-token-server.jar` (which answers 500
//! for any STS failure). STS's own error codes pass through unchanged.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};

use crate::sts::StsError;
use oss_direct_wire::token::TokenAnswer;

/// A request that could not be answered with a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// HTTP status (and `StatusCode` in the JSON body).
    pub status: StatusCode,
    /// Machine-readable code: STS's own (`InvalidAccessKeyId.NotFound`, ...) or one of this
    /// server's (see `server/README.md`).
    pub code: String,
    /// Human-readable explanation; never contains a secret.
    pub message: String,
    /// Seconds after which a throttled caller may retry (`Retry-After`).
    pub retry_after: Option<u64>,
}

/// The JSON body of an error answer.
impl AppError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 401: no `Authorization: Bearer` header although the server requires one.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "MissingBearerToken",
            "this server requires an Authorization: Bearer <token> header",
        )
    }

    /// 401: the bearer token was malformed, badly signed, expired or for someone else.
    pub fn invalid_token(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidBearerToken",
            format!("the bearer token was rejected: {why}"),
        )
    }

    /// 403: a valid bearer token whose subject cannot be used as an object prefix.
    pub fn invalid_subject(why: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::FORBIDDEN, "InvalidSubject", why.to_string())
    }

    /// 400: `?scope=` is not one of `read`, `write`, `read-write`.
    pub fn invalid_scope(given: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            format!("scope {given:?} is not one of read, write, read-write"),
        )
    }

    /// 403: the scope exists but this server's configuration does not offer it.
    pub fn scope_not_allowed(given: &str, allowed: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ScopeNotAllowed",
            format!(
                "scope {given:?} is not offered by this server (offered: {})",
                allowed.join(", ")
            ),
        )
    }

    /// 429: the caller asked too often.
    pub fn throttled(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Throttling",
                format!(
                    "too many token requests from this client; retry after {} s",
                    retry_after_secs.max(1)
                ),
            )
        }
    }

    /// 404 for any path other than `/` and `/healthz`.
    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no such endpoint: {path} (the token is served at GET /)"),
        )
    }
}

impl From<StsError> for AppError {
    /// Every STS failure is a 500 for the app, as in the reference server. STS's own code passes
    /// through, but not its message: on `SignatureDoesNotMatch` STS echoes its string to sign,
    /// which names the server's AccessKey ID and the role; that stays in the server's log.
    fn from(e: StsError) -> Self {
        let (code, message) = match e {
            StsError::Service {
                code, request_id, ..
            } => {
                let message = format!(
                    "STS refused AssumeRole with {code}{}; the token server's log has the details",
                    request_id
                        .map(|id| format!(" (RequestId {id})"))
                        .unwrap_or_default()
                );
                (code, message)
            }
            StsError::Timeout { .. } => ("StsTimeout".to_string(), e.to_string()),
            StsError::Unreachable { .. } => ("StsUnreachable".to_string(), e.to_string()),
            StsError::BadResponse { .. } => ("StsBadResponse".to_string(), e.to_string()),
        };
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = TokenAnswer::error(self.status.as_u16(), self.code, self.message);
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"app-token-server\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_messages_do_not_reach_the_caller() {
        // What real STS answers on SignatureDoesNotMatch: its string to sign, with the RAM
        // user's AccessKey ID and the role in it.
        let e = StsError::Service {
            status: 400,
            code: "SignatureDoesNotMatch".into(),
            message: "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tSecretId%26RoleArn%3Dacs%253Aram".into(),
            request_id: Some("REQ-1".into()),
        };
        let app = AppError::from(e);
        assert_eq!(app.code, "SignatureDoesNotMatch");
        assert_eq!(app.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!app.message.contains("LTAI5tSecretId"), "{}", app.message);
        assert!(!app.message.contains("string to sign"), "{}", app.message);
        assert!(app.message.contains("REQ-1"), "{}", app.message);
    }
}
