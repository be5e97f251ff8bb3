//! Credentials and where they come from: a static pair, or the app token server.

use crate::error::{Error, ErrorKind, Result};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// How long before `Expiration` cached credentials are replaced (the seed's 5 minutes).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// An AccessKey pair, with the STS security token and expiry for temporary credentials.
///
/// `Debug` never shows the secret or the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// AccessKeyId (`STS.` prefix for temporary credentials).
    pub access_key_id: String,
    /// AccessKeySecret.
    pub access_key_secret: String,
    /// STS security token.
    pub security_token: Option<String>,
    /// When temporary credentials stop working.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiration: Option<OffsetDateTime>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"***")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "***"),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl Credentials {
    /// Long-term credentials (no token, no expiry).
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
            expiration: None,
        }
    }

    /// Whether these credentials are still good for at least `margin`.
    pub fn is_fresh(&self, margin: Duration) -> bool {
        match self.expiration {
            None => true,
            Some(exp) => exp - OffsetDateTime::now_utc() > margin,
        }
    }

    pub(crate) fn signing(&self) -> oss_direct_wire::sign::SigningCredentials<'_> {
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &self.access_key_id,
            access_key_secret: &self.access_key_secret,
            security_token: self.security_token.as_deref(),
        }
    }
}

/// A source of credentials. Implementations cache and refresh as they see fit.
pub trait CredentialsProvider: Send + Sync + 'static {
    /// Credentials to sign the next request with.
    fn credentials(&self) -> BoxFuture<'_, Result<Credentials>>;
    /// Called when OSS said the credentials are expired or unknown: the next call to
    /// [`credentials`](Self::credentials) must not return them again.
    fn invalidate(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Always the same credentials (tests, tools with their own keys).
#[derive(Debug, Clone)]
pub struct StaticCredentials(pub Credentials);

impl CredentialsProvider for StaticCredentials {
    fn credentials(&self) -> BoxFuture<'_, Result<Credentials>> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }
}

/// What the app token server said besides the credentials: where to upload, and the upload
/// callback to attach (with the caller's `x:` variables).
pub use oss_direct_wire::token::Hints as TokenHints;

/// A parsed answer of the app token server.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The temporary credentials.
    pub credentials: Credentials,
    /// Settings hints.
    pub hints: TokenHints,
}

const OP_TOKEN: &str = "GetToken";

/// Parses the app token server's JSON (`StatusCode` as a number or a string).
///
/// ```
/// let body = r#"{"StatusCode":"200","AccessKeyId":"STS.a","AccessKeySecret":"s",
///   "SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z","Bucket":"b"}"#;
/// let t = oss_direct::credentials::parse_token_response(200, body).unwrap();
/// assert_eq!(t.credentials.access_key_id, "STS.a");
/// assert_eq!(t.hints.bucket.as_deref(), Some("b"));
/// ```
pub fn parse_token_response(http_status: u16, body: &str) -> Result<TokenResponse> {
    let fail = |msg: String| Error::new(ErrorKind::Credentials, OP_TOKEN, msg);
    let raw: oss_direct_wire::token::TokenAnswer = serde_json::from_str(body).map_err(|e| {
        let snippet: String = body.chars().take(80).collect();
        if http_status != 200 {
            fail(format!(
                "the app server answered HTTP {http_status} without a token (body starts {snippet:?})"
            ))
        } else {
            fail(format!("the app server's answer is not token JSON ({e})"))
        }
    })?;
    if raw.status_code != Some(200) || http_status != 200 {
        let code = raw.error_code.unwrap_or_else(|| "UnknownError".into());
        let msg = raw
            .error_message
            .unwrap_or_else(|| "no ErrorMessage given".into());
        return Err(fail(format!(
            "the app server refused a token: {code}: {msg} (HTTP {http_status})"
        )));
    }
    let need = |v: Option<String>, name: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| fail(format!("the app server's token JSON has no {name}")))
    };
    let access_key_id = need(raw.access_key_id, "AccessKeyId")?;
    let access_key_secret = need(raw.access_key_secret, "AccessKeySecret")?;
    let security_token = need(raw.security_token, "SecurityToken")?;
    let expiration = need(raw.expiration, "Expiration")?;
    let expiration =
        OffsetDateTime::parse(&expiration, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                fail(format!(
                    "the app server's Expiration {expiration:?} is not an RFC 3339 time"
                ))
            })?;
    Ok(TokenResponse {
        credentials: Credentials {
            access_key_id,
            access_key_secret,
            security_token: Some(security_token),
            expiration: Some(expiration),
        },
        hints: raw.hints,
    })
}

/// Credentials from the app token server: GETs its URL (with an optional `Bearer` user token),
/// caches the answer, refreshes it [`DEFAULT_REFRESH_MARGIN`] before `Expiration`, and makes a
/// single request however many uploads ask at once.
pub struct AuthServerCredentials {
    url: String,
    bearer: Option<String>,
    http: reqwest::Client,
    margin: Duration,
    cached: Mutex<Option<TokenResponse>>,
}

impl fmt::Debug for AuthServerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServerCredentials")
            .field("url", &self.url)
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .finish()
    }
}

impl AuthServerCredentials {
    /// A provider for the token URL (the app's "App server" setting).
    ///
    /// ```
    /// let p = oss_direct::AuthServerCredentials::new("http://127.0.0.1:7080/").unwrap();
    /// ```
    pub fn new(url: impl Into<String>) -> Result<Self> {
        let url = url.into();
        let parsed = url::Url::parse(&url).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                OP_TOKEN,
                format!("the app server URL {url:?} is not a URL ({e})"),
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OP_TOKEN,
                format!("the app server URL {url:?} must start with http:// or https://"),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::from_reqwest(OP_TOKEN, e))?;
        Ok(Self {
            url,
            bearer: None,
            http,
            margin: DEFAULT_REFRESH_MARGIN,
            cached: Mutex::new(None),
        })
    }

    /// Sends `Authorization: Bearer <token>` (the signed-in user's token).
    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(token.into());
        self
    }

    /// Changes how early before expiry the credentials are refreshed.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The token URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.bearer {
            Some(b) => req.bearer_auth(b),
            None => req,
        }
    }

    /// Asks the server for a token now, bypassing the cache (and caching the answer).
    pub async fn fetch(&self) -> Result<TokenResponse> {
        let mut cached = self.cached.lock().await;
        let t = self.fetch_uncached().await?;
        *cached = Some(t.clone());
        Ok(t)
    }

    /// The current token with its hints, fetched when there is none or it is about to expire.
    pub async fn token(&self) -> Result<TokenResponse> {
        // Holding the lock across the fetch is what makes it single-flight.
        let mut cached = self.cached.lock().await;
        if let Some(t) = cached.as_ref() {
            if t.credentials.is_fresh(self.margin) {
                return Ok(t.clone());
            }
        }
        let t = self.fetch_uncached().await?;
        *cached = Some(t.clone());
        Ok(t)
    }

    async fn fetch_uncached(&self) -> Result<TokenResponse> {
        let resp = self.authorized(self.http.get(&self.url)).send().await.map_err(|e| {
            let kind = Error::from_reqwest(OP_TOKEN, e);
            Error::new(
                ErrorKind::Credentials,
                OP_TOKEN,
                format!(
                    "cannot reach the app server at {}: {} — check the App server setting and that the server is running",
                    self.url,
                    kind.message()
                ),
            )
            // The network may come back: a queue waits and tries again.
            .with_retryable(true)
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| Error::from_reqwest(OP_TOKEN, e))?;
        // A failing server (5xx, e.g. STS unreachable) or throttling may pass; a refusal does not.
        let t = parse_token_response(status, &body)
            .map_err(|e| e.with_retryable(status >= 500 || status == 429))?;
        if !t.credentials.is_fresh(Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::Credentials,
                OP_TOKEN,
                "the app server handed out a token that has already expired (is its clock right?)",
            ));
        }
        tracing::debug!(target: "oss_direct::credentials", expiration = ?t.credentials.expiration, "fetched a token");
        Ok(t)
    }
}

impl CredentialsProvider for AuthServerCredentials {
    fn credentials(&self) -> BoxFuture<'_, Result<Credentials>> {
        Box::pin(async move { Ok(self.token().await?.credentials) })
    }
    fn invalidate(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            *self.cached.lock().await = None;
        })
    }
}

impl<T: CredentialsProvider> CredentialsProvider for Arc<T> {
    fn credentials(&self) -> BoxFuture<'_, Result<Credentials>> {
        (**self).credentials()
    }
    fn invalidate(&self) -> BoxFuture<'_, ()> {
        (**self).invalidate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials {
            access_key_id: "STS.id".into(),
            access_key_secret: "very-secret".into(),
            security_token: Some("token-value".into()),
            expiration: None,
        };
        let s = format!("{c:?}");
        assert!(s.contains("STS.id"));
        assert!(
            !s.contains("very-secret") && !s.contains("token-value"),
            "{s}"
        );
    }

    #[test]
    fn status_code_as_number_or_string() {
        for sc in ["200", "\"200\""] {
            let body = format!(
                r#"{{"StatusCode":{sc},"AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z"}}"#
            );
            let t = parse_token_response(200, &body).unwrap();
            assert_eq!(t.credentials.security_token.as_deref(), Some("t"));
            assert_eq!(t.credentials.expiration.unwrap().year(), 2030);
        }
    }

    #[test]
    fn error_json_carries_code_and_message() {
        let body = r#"{"StatusCode":500,"ErrorCode":"InvalidAccessKeyId.NotFound","ErrorMessage":"Specified access key is not found."}"#;
        let e = parse_token_response(500, body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert!(e.message().contains("InvalidAccessKeyId.NotFound"));
        assert!(e.message().contains("Specified access key is not found."));
    }

    #[test]
    fn missing_fields_and_non_json_are_named() {
        let e = parse_token_response(
            200,
            r#"{"StatusCode":200,"AccessKeyId":"STS.a","AccessKeySecret":"s","Expiration":"2030-01-01T00:00:00Z"}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("SecurityToken"), "{e}");
        let e = parse_token_response(502, "<html>Bad Gateway</html>").unwrap_err();
        assert!(e.message().contains("HTTP 502"), "{e}");
        let e = parse_token_response(200, "not json").unwrap_err();
        assert!(e.message().contains("not token JSON"), "{e}");
        let e = parse_token_response(
            200,
            r#"{"StatusCode":200,"AccessKeyId":"a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"tomorrow"}"#,
        )
        .unwrap_err();
        assert!(e.message().contains("RFC 3339"), "{e}");
    }

    #[test]
    fn freshness_uses_the_margin() {
        let mut c = Credentials::new("a", "b");
        assert!(c.is_fresh(DEFAULT_REFRESH_MARGIN));
        c.expiration = Some(OffsetDateTime::now_utc() + Duration::from_secs(240));
        assert!(!c.is_fresh(DEFAULT_REFRESH_MARGIN));
        assert!(c.is_fresh(Duration::from_secs(60)));
    }

    #[test]
    fn bad_urls_are_refused_up_front() {
        assert!(AuthServerCredentials::new("not a url").is_err());
        assert!(AuthServerCredentials::new("ftp://x/").is_err());
        assert!(AuthServerCredentials::new("http://127.0.0.1:7080/").is_ok());
    }
}
