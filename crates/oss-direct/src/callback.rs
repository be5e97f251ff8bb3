//! Upload callbacks: after storing the object, OSS POSTs to the app server, and relays the app
//! server's answer to the uploader. The app server learns what was uploaded without the bytes
//! passing through it.

use crate::error::{Error, ErrorKind, Result};
use serde::Serialize;

pub use oss_direct_wire::callback::{BodyType, Callback, CallbackError};

/// Adds the callback headers to a request (after the checks OSS would make).
pub(crate) fn apply(cb: &Callback, req: crate::client::Request) -> Result<crate::client::Request> {
    cb.validate()
        .map_err(|e| Error::new(ErrorKind::InvalidInput, "Callback", e.to_string()))?;
    let mut req = req.header("x-oss-callback", &cb.header_value())?;
    if let Some(v) = cb.vars_value() {
        req = req.header("x-oss-callback-var", &v)?;
    }
    Ok(req)
}

/// What became of an upload's callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum CallbackOutcome {
    /// The app server answered; OSS relayed its body.
    Answered {
        /// The app server's answer (JSON as text).
        body: String,
    },
    /// The object is stored, but the app server was not told (OSS's 203 `CallbackFailed`).
    Failed {
        /// OSS's explanation.
        message: String,
    },
}

/// Reads the answer of an upload that carried a callback.
pub(crate) fn outcome(status: u16, body: &[u8]) -> CallbackOutcome {
    if status == 203 {
        let e = crate::xml::parse_error(status, None, body);
        CallbackOutcome::Failed {
            message: if e.message.is_empty() {
                e.code
            } else {
                e.message
            },
        }
    } else {
        CallbackOutcome::Answered {
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_used_verbatim_and_checked() {
        let hint = serde_json::json!({
            "callbackUrl": "http://10.0.0.1:7080/callback",
            "callbackBody": "bucket=${bucket}&object=${object}",
            "callbackBodyType": "application/x-www-form-urlencoded",
            "callbackVar": {"x:device": "phone"}
        });
        let c = Callback::from_hint(&hint).unwrap();
        assert_eq!(c.vars["x:device"], "phone");
        use base64::{engine::general_purpose::STANDARD, Engine};
        let decoded = STANDARD.decode(c.header_value()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(v["callbackBodyType"], "application/x-www-form-urlencoded");
        assert!(v.get("callbackVar").is_none());
        let vars = STANDARD.decode(c.vars_value().unwrap()).unwrap();
        assert_eq!(vars, br#"{"x:device":"phone"}"#);

        let mut bad = hint.clone();
        bad["callbackVar"] = serde_json::json!({"device": "phone"});
        assert!(Callback::from_hint(&bad).is_err());
        assert!(Callback::from_hint(&serde_json::json!({"callbackUrl": ""})).is_err());
        let six = ["http://a/"; 6].join(";");
        assert!(
            Callback::from_hint(&serde_json::json!({"callbackUrl": six, "callbackBody": "x"}))
                .is_err()
        );
    }

    #[test]
    fn answers_and_callback_failed_are_told_apart() {
        assert_eq!(
            outcome(200, br#"{"Status":"OK"}"#),
            CallbackOutcome::Answered {
                body: r#"{"Status":"OK"}"#.into()
            }
        );
        let failed = outcome(
            203,
            b"<Error><Code>CallbackFailed</Code><Message>Error status : 502.</Message></Error>",
        );
        assert_eq!(
            failed,
            CallbackOutcome::Failed {
                message: "Error status : 502.".into()
            }
        );
    }
}
