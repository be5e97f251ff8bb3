//! The app token server's answer to `GET /`: the reference server's five fields, the hints an app
//! fills its settings from, or an error. The server writes it, the library reads it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::callback::Callback;

/// `GET /` answered, success or failure, as one JSON object (`StatusCode` 200 with credentials,
/// or the HTTP status with `ErrorCode` and `ErrorMessage`). Every field but `StatusCode` is
/// optional when read, so that a reader can say which one is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TokenAnswer {
    /// 200, or the HTTP status of the failure. Read as a number or a string (older servers).
    #[serde(deserialize_with = "lenient_status", default)]
    pub status_code: Option<u16>,
    /// Temporary AccessKeyId (`STS.` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Temporary AccessKeySecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_secret: Option<String>,
    /// STS security token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
    /// When the credentials expire, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// The failure's code (STS's own, or the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// What went wrong, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Where to upload.
    #[serde(flatten)]
    pub hints: Hints,
}

/// What the token server says besides the credentials: where to upload, and the callback to attach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Hints {
    /// Bucket the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Region, e.g. `cn-hangzhou`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// OSS endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The object-name prefix the token's policy allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_prefix: Option<String>,
    /// The upload callback to attach, with the caller's `x:` variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
}

impl TokenAnswer {
    /// A failure answer.
    pub fn error(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status_code: Some(status),
            error_code: Some(code.into()),
            error_message: Some(message.into()),
            ..Self::default()
        }
    }
}

fn lenient_status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_server_writes_the_library_reads() {
        let mut cb = Callback::new("http://h/callback", "object=${object}&ticket=${x:ticket}");
        cb.vars.insert("x:ticket".into(), "v1.a.b".into());
        let answer = TokenAnswer {
            status_code: Some(200),
            access_key_id: Some("STS.a".into()),
            access_key_secret: Some("s".into()),
            security_token: Some("t".into()),
            expiration: Some("2030-01-01T00:00:00Z".into()),
            hints: Hints {
                bucket: Some("b".into()),
                object_prefix: Some("uploads/".into()),
                callback: Some(cb),
                ..Hints::default()
            },
            ..TokenAnswer::default()
        };
        let json = serde_json::to_string(&answer).unwrap();
        assert!(
            json.starts_with(r#"{"StatusCode":200,"AccessKeyId":"STS.a""#),
            "{json}"
        );
        assert!(
            !json.contains("ErrorCode") && !json.contains("Region"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<TokenAnswer>(&json).unwrap(), answer);
        let err =
            serde_json::to_string(&TokenAnswer::error(429, "Throttling", "slow down")).unwrap();
        assert_eq!(
            err,
            r#"{"StatusCode":429,"ErrorCode":"Throttling","ErrorMessage":"slow down"}"#
        );
    }

    #[test]
    fn the_reference_servers_string_status_is_read() {
        let a: TokenAnswer = serde_json::from_str(r#"{"StatusCode":"200"}"#).unwrap();
        assert_eq!(a.status_code, Some(200));
        let a: TokenAnswer = serde_json::from_str(r#"{"StatusCode":null}"#).unwrap();
        assert_eq!(a.status_code, None);
    }
}
