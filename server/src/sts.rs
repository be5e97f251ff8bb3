//! The STS `AssumeRole` call (RPC style, HMAC-SHA1 signature, JSON answer).
//!
//! The request is a form POST to the STS endpoint, signed with `oss_direct_wire::sign`'s RPC signature
//! (the same code `oss-local` verifies with). Answers are parsed into [`StsCredentials`] or an
//! [`StsError`] that keeps STS's own `Code`/`Message` so they can pass through to the app.

use std::collections::BTreeMap;
use std::time::Duration;

use oss_direct_wire::sign::{rpc_percent_encode, rpc_signature, rpc_string_to_sign};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

/// The long-term AccessKey of the RAM user that calls `AssumeRole`. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// AccessKey ID (`LTAI...`).
    pub id: String,
    /// AccessKey secret; never logged.
    pub secret: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"***")
            .finish()
    }
}

/// What one `AssumeRole` call asks for.
#[derive(Debug, Clone)]
pub struct AssumeRoleRequest<'a> {
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: &'a str,
    /// 2-32 characters of `[A-Za-z0-9.@_-]`; shows up in ActionTrail.
    pub role_session_name: &'a str,
    /// Lifetime of the credentials, 900..=43200 seconds.
    pub duration_seconds: u64,
    /// The filled, minified session policy.
    pub policy: &'a str,
}

/// Temporary credentials issued by STS. `Debug` hides the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct StsCredentials {
    /// Temporary AccessKey ID (`STS.` prefix).
    pub access_key_id: String,
    /// Temporary AccessKey secret.
    pub access_key_secret: String,
    /// The security token the app sends as `x-oss-security-token`.
    pub security_token: String,
    /// When the credentials expire, as STS wrote it (`2026-01-01T00:15:00Z`).
    pub expiration: String,
    /// The same instant, parsed.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"***")
            .field("security_token", &"***")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Why `AssumeRole` gave no credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    /// STS answered with an error document (`Code`, `Message`, `RequestId`).
    #[error("STS AssumeRole failed with HTTP {status}: {code}: {message}")]
    Service {
        /// HTTP status of STS's answer.
        status: u16,
        /// STS's error code, e.g. `InvalidAccessKeyId.NotFound`, `SignatureDoesNotMatch`.
        code: String,
        /// STS's error message.
        message: String,
        /// STS's request id, for a support ticket.
        request_id: Option<String>,
    },
    /// No answer within the configured timeout.
    #[error("STS AssumeRole at {endpoint} did not answer within {seconds} s")]
    Timeout {
        /// The STS endpoint.
        endpoint: String,
        /// The timeout that passed.
        seconds: u64,
    },
    /// The connection could not be made or broke.
    #[error("STS AssumeRole at {endpoint} is unreachable: {reason}")]
    Unreachable {
        /// The STS endpoint.
        endpoint: String,
        /// What the network layer said.
        reason: String,
    },
    /// STS answered something that is not the documented JSON.
    #[error(
        "STS AssumeRole at {endpoint} answered HTTP {status} with an unexpected body: {reason}"
    )]
    BadResponse {
        /// The STS endpoint.
        endpoint: String,
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
}

impl StsError {
    /// Whether trying again later may help (network trouble, throttling, STS-side errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            StsError::Service { status, code, .. } => {
                *status >= 500 || code.starts_with("Throttling")
            }
            StsError::Timeout { .. } | StsError::Unreachable { .. } => true,
            StsError::BadResponse { .. } => false,
        }
    }
}

/// The default STS endpoint (the public one; any region's `sts.<region>.aliyuncs.com` works too).
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.aliyuncs.com";

/// Calls STS `AssumeRole` with one RAM user's AccessKey.
#[derive(Clone)]
pub struct StsClient {
    endpoint: Url,
    access_key: AccessKey,
    http: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for StsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("access_key", &self.access_key)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResponse {
    credentials: Option<CredentialsJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsJson {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsErrorJson {
    code: String,
    #[serde(default)]
    message: String,
    request_id: Option<String>,
}

impl StsClient {
    /// A client for `endpoint` that gives up on STS after `timeout` (connecting included).
    pub fn new(endpoint: Url, access_key: AccessKey, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("app-token-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with rustls builds");
        Self {
            endpoint,
            access_key,
            http,
            timeout,
        }
    }

    /// The STS endpoint this client calls.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The signed form parameters of one `AssumeRole` call (exposed for tests).
    pub fn signed_params(
        &self,
        req: &AssumeRoleRequest<'_>,
        now: OffsetDateTime,
        nonce: &str,
    ) -> BTreeMap<String, String> {
        let mut params = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            params.insert(k.to_string(), v.to_string());
        };
        put("Action", "AssumeRole");
        put("Version", "2015-04-01");
        put("Format", "JSON");
        put("AccessKeyId", &self.access_key.id);
        put("SignatureMethod", "HMAC-SHA1");
        put("SignatureVersion", "1.0");
        put("SignatureNonce", nonce);
        put("Timestamp", &sts_timestamp(now));
        put("RoleArn", req.role_arn);
        put("RoleSessionName", req.role_session_name);
        put("DurationSeconds", &req.duration_seconds.to_string());
        put("Policy", req.policy);
        let signature = rpc_signature(
            &self.access_key.secret,
            &rpc_string_to_sign("POST", &params),
        );
        params.insert("Signature".to_string(), signature);
        params
    }

    /// Calls `AssumeRole` and returns the temporary credentials.
    pub async fn assume_role(
        &self,
        req: &AssumeRoleRequest<'_>,
    ) -> Result<StsCredentials, StsError> {
        let nonce = format!("{:032x}", rand::random::<u128>());
        let params = self.signed_params(req, OffsetDateTime::now_utc(), &nonce);
        let body = params
            .iter()
            .map(|(k, v)| format!("{}={}", rpc_percent_encode(k), rpc_percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");

        let endpoint = self.endpoint.as_str().to_string();
        let net_error = |e: reqwest::Error| {
            if e.is_timeout() {
                StsError::Timeout {
                    endpoint: endpoint.clone(),
                    seconds: self.timeout.as_secs(),
                }
            } else {
                StsError::Unreachable {
                    endpoint: endpoint.clone(),
                    reason: error_chain(&e),
                }
            }
        };
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(net_error)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(net_error)?;
        self.parse_answer(status, &bytes)
    }

    fn parse_answer(&self, status: u16, body: &[u8]) -> Result<StsCredentials, StsError> {
        let bad = |reason: String| StsError::BadResponse {
            endpoint: self.endpoint.as_str().to_string(),
            status,
            reason,
        };
        let service_error = |e: StsErrorJson| StsError::Service {
            status,
            code: e.code,
            // STS echoes its string-to-sign on SignatureDoesNotMatch, which names the RAM user's
            // AccessKey ID; the app has no business knowing it.
            message: e.message.replace(&self.access_key.id, "***"),
            request_id: e.request_id,
        };
        if !(200..300).contains(&status) {
            return match serde_json::from_slice::<StsErrorJson>(body) {
                Ok(e) => Err(service_error(e)),
                Err(_) => Err(bad(format!(
                    "not an STS error document ({} bytes)",
                    body.len()
                ))),
            };
        }
        // Never put the body in an error: on success it holds the credentials.
        let parsed: AssumeRoleResponse = serde_json::from_slice(body)
            .map_err(|e| bad(format!("not JSON ({})", e.classify_name())))?;
        let Some(c) = parsed.credentials else {
            // A gateway may answer 200 with an error document.
            return Err(match serde_json::from_slice::<StsErrorJson>(body) {
                Ok(e) => service_error(e),
                Err(_) => bad("no Credentials in the answer".into()),
            });
        };
        if c.access_key_id.is_empty()
            || c.access_key_secret.is_empty()
            || c.security_token.is_empty()
        {
            return Err(bad("empty Credentials in the answer".into()));
        }
        let expires_at = OffsetDateTime::parse(&c.expiration, &Rfc3339)
            .map_err(|_| bad(format!("Expiration {:?} is not a UTC time", c.expiration)))?;
        Ok(StsCredentials {
            access_key_id: c.access_key_id,
            access_key_secret: c.access_key_secret,
            security_token: c.security_token,
            expiration: c.expiration,
            expires_at,
        })
    }
}

/// STS's `Timestamp` format: UTC, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn sts_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The error and its causes on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected fields",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> StsClient {
        StsClient::new(
            Url::parse("http://127.0.0.1:9/").unwrap(),
            AccessKey {
                id: "LTAIexample".into(),
                secret: "very-secret".into(),
            },
            Duration::from_secs(1),
        )
    }

    #[test]
    fn timestamp_is_utc_seconds() {
        let t = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        assert_eq!(sts_timestamp(t), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn signed_params_verify_with_the_rpc_signature() {
        let c = client();
        let req = AssumeRoleRequest {
            role_arn: "acs:ram::1:role/r",
            role_session_name: "s1",
            duration_seconds: 900,
            policy: r#"{"Version":"1"}"#,
        };
        let mut p = c.signed_params(&req, OffsetDateTime::UNIX_EPOCH, "n1");
        let sig = p.remove("Signature").unwrap();
        assert_eq!(
            sig,
            rpc_signature("very-secret", &rpc_string_to_sign("POST", &p))
        );
        assert_eq!(p["Timestamp"], "1970-01-01T00:00:00Z");
        assert_eq!(p["DurationSeconds"], "900");
        assert_eq!(p["SignatureNonce"], "n1");
        assert!(!p.values().any(|v| v.contains("very-secret")));
    }

    #[test]
    fn debug_hides_secrets() {
        let c = client();
        assert!(!format!("{c:?}").contains("very-secret"));
        let creds = StsCredentials {
            access_key_id: "STS.x".into(),
            access_key_secret: "tmp-secret".into(),
            security_token: "tok".into(),
            expiration: "2026-01-01T00:00:00Z".into(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        let d = format!("{creds:?}");
        assert!(!d.contains("tmp-secret") && !d.contains("\"tok\""));
    }

    #[test]
    fn error_document_passes_through_without_the_access_key_id() {
        let body = br#"{"RequestId":"R1","HostId":"sts.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"server string to sign is:POST&%2F&AccessKeyId%3DLTAIexample"}"#;
        let e = client().parse_answer(400, body).unwrap_err();
        match e {
            StsError::Service {
                status,
                code,
                message,
                request_id,
            } => {
                assert_eq!(status, 400);
                assert_eq!(code, "SignatureDoesNotMatch");
                assert!(!message.contains("LTAIexample"), "{message}");
                assert_eq!(request_id.as_deref(), Some("R1"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn success_answer_parses() {
        let body = br#"{"RequestId":"R","AssumedRoleUser":{"Arn":"a","AssumedRoleId":"b"},"Credentials":{"AccessKeyId":"STS.1","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-01-01T00:15:00Z"}}"#;
        let c = client().parse_answer(200, body).unwrap();
        assert_eq!(c.access_key_id, "STS.1");
        assert_eq!(c.expires_at.unix_timestamp(), 1_767_226_500);
    }

    #[test]
    fn garbage_is_a_bad_response_that_does_not_echo_the_body() {
        let e = client()
            .parse_answer(200, b"<html>secret-ish</html>")
            .unwrap_err();
        assert!(matches!(e, StsError::BadResponse { status: 200, .. }));
        assert!(!e.to_string().contains("secret-ish"));
        let e = client().parse_answer(502, b"Bad Gateway").unwrap_err();
        assert!(matches!(e, StsError::BadResponse { status: 502, .. }));
        let e = client()
            .parse_answer(200, br#"{"RequestId":"R"}"#)
            .unwrap_err();
        assert!(matches!(e, StsError::BadResponse { status: 200, .. }));
        let e = client()
            .parse_answer(200, br#"{"Code":"Throttling.User","Message":"slow down"}"#)
            .unwrap_err();
        assert!(e.is_retryable());
        assert!(matches!(e, StsError::Service { ref code, .. } if code == "Throttling.User"));
    }
}
