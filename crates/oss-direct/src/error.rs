//! One error type for every operation: what failed, why, and whether retrying can help.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The app token server could not be reached, refused, or answered something unusable.
    Credentials,
    /// OSS answered with an error (see [`Error::oss`] for its code).
    Oss,
    /// Connection refused, reset or cut before an answer arrived.
    Network,
    /// No answer within the configured timeout.
    Timeout,
    /// A local file could not be read or written.
    Io,
    /// The CRC-64 OSS computed differs from the local one: the object is not what was sent.
    Integrity,
    /// The resumable upload's checkpoint could not be written.
    Checkpoint,
    /// The local file changed while it was being uploaded.
    FileChanged,
    /// The caller gave something unusable (an empty key, a bad endpoint, ...).
    InvalidInput,
    /// The operation was cancelled (paused) by the caller; a resumable upload can be resumed.
    Cancelled,
    /// OSS answered something this client does not understand.
    Unexpected,
    /// A photo could not be prepared for upload: malformed, truncated or over the limits.
    /// The original is untouched.
    Image,
}

/// The error OSS sent back (its XML `Error` document and HTTP status).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OssError {
    /// HTTP status.
    pub status: u16,
    /// `Code`, e.g. `AccessDenied`, `NoSuchKey`, `SecurityTokenExpired`.
    pub code: String,
    /// `Message`.
    pub message: String,
    /// `RequestId` (or the `x-oss-request-id` header).
    pub request_id: String,
    /// `HostId`.
    pub host_id: String,
}

/// An operation's failure.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    operation: &'static str,
    message: String,
    oss: Option<Box<OssError>>,
    retryable: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` in `operation`.
    pub fn new(kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> Self {
        let retryable = matches!(kind, ErrorKind::Network | ErrorKind::Timeout);
        Self {
            kind,
            operation,
            message: message.into(),
            oss: None,
            retryable,
            source: None,
        }
    }

    /// The same error, saying whether trying again later may help.
    pub(crate) fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// An error from OSS's answer.
    pub fn from_oss(operation: &'static str, oss: OssError) -> Self {
        let retryable = oss.status >= 500
            || matches!(
                oss.code.as_str(),
                "RequestTimeTooSkewed" | "InternalError" | "ServiceUnavailable"
            );
        let message = if oss.message.is_empty() {
            format!("{} (HTTP {})", oss.code, oss.status)
        } else {
            format!("{}: {} (HTTP {})", oss.code, oss.message, oss.status)
        };
        Self {
            kind: ErrorKind::Oss,
            operation,
            message,
            oss: Some(Box::new(oss)),
            retryable,
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The operation that failed, e.g. `"CompleteMultipartUpload"`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
    /// The human-readable reason.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// OSS's error document, when OSS answered with one.
    pub fn oss(&self) -> Option<&OssError> {
        self.oss.as_deref()
    }
    /// OSS's error code, when OSS answered with one.
    pub fn code(&self) -> Option<&str> {
        self.oss.as_ref().map(|o| o.code.as_str())
    }
    /// Whether the same request may succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
    /// Whether the answer says the temporary credentials are expired or unknown.
    pub fn is_credentials_expired(&self) -> bool {
        matches!(
            self.code(),
            Some("InvalidAccessKeyId" | "SecurityTokenExpired" | "InvalidSecurityToken")
        )
    }

    pub(crate) fn io(operation: &'static str, what: &str, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, operation, format!("{what}: {err}")).with_source(err)
    }

    pub(crate) fn from_reqwest(operation: &'static str, err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Network
        };
        // The innermost cause says what happened ("Connection refused"); the outer layers
        // only repeat the URL.
        let mut inner: &dyn std::error::Error = &err;
        while let Some(next) = inner.source() {
            inner = next;
        }
        let msg = if err.is_timeout() {
            "no answer within the timeout".to_string()
        } else if err.is_connect() {
            format!("cannot connect ({inner})")
        } else if std::ptr::addr_eq(inner, &err) {
            err.to_string()
        } else {
            format!("connection failed ({inner})")
        };
        let msg = strip_query(&msg);
        Self::new(kind, operation, msg).with_source(err.without_url())
    }
}

/// Drops query strings from URLs in a message, so a presigned signature or token never ends up
/// in an error shown or logged.
fn strip_query(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut skipping = false;
    for c in msg.chars() {
        if c == '?' {
            skipping = true;
            out.push_str("?…");
            continue;
        }
        if skipping && (c == ' ' || c == ')') {
            skipping = false;
        }
        if !skipping {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.operation, self.message)?;
        if let Some(oss) = &self.oss {
            if !oss.request_id.is_empty() {
                write!(f, " [request id {}]", oss.request_id)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oss_errors_know_if_retrying_helps() {
        let e = |status, code: &str| {
            Error::from_oss(
                "PutObject",
                OssError {
                    status,
                    code: code.into(),
                    ..Default::default()
                },
            )
        };
        assert!(e(503, "ServiceUnavailable").is_retryable());
        assert!(e(403, "RequestTimeTooSkewed").is_retryable());
        assert!(!e(403, "AccessDenied").is_retryable());
        assert!(e(403, "SecurityTokenExpired").is_credentials_expired());
        assert!(!e(403, "AccessDenied").is_credentials_expired());
        let shown = e(403, "AccessDenied").to_string();
        assert!(
            shown.starts_with("PutObject failed: AccessDenied"),
            "{shown}"
        );
    }

    #[test]
    fn messages_never_carry_query_strings() {
        let m = strip_query(
            "error sending request for url (http://h/k?Signature=abc&security-token=t)",
        );
        assert!(!m.contains("abc") && !m.contains("security-token"), "{m}");
        assert!(m.contains("http://h/k"));
    }
}
