//! Upload callbacks: after storing the object, OSS POSTs to the app server, and relays the app
//! server's answer to the uploader. The app server learns what was uploaded without the bytes
//! passing through it.

use crate::error::{Error, ErrorKind, Result};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `x-oss-callback` parameters, in OSS's JSON spelling (so a token server's hint can be used
/// as it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// Where OSS POSTs (up to 5 URLs separated by `;`, tried in order).
    pub callback_url: String,
    /// The body template, e.g. `bucket=${bucket}&object=${object}&size=${size}`.
    pub callback_body: String,
    /// `application/x-www-form-urlencoded` (OSS's default) or `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_body_type: Option<String>,
    /// The `Host` header OSS sends, when not the URL's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_host: Option<String>,
    /// Custom `x:` variables for the body template (sent as `x-oss-callback-var`).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        rename = "callbackVar"
    )]
    pub vars: BTreeMap<String, String>,
}

impl Callback {
    /// A callback to `url` with a body template.
    pub fn new(url: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            callback_url: url.into(),
            callback_body: body.into(),
            callback_body_type: None,
            callback_host: None,
            vars: BTreeMap::new(),
        }
    }

    /// Reads the callback a token server hinted (its JSON `Callback` object).
    pub fn from_hint(hint: &serde_json::Value) -> Result<Self> {
        let c: Callback = serde_json::from_value(hint.clone()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                "Callback",
                format!("the app server's Callback hint is not usable: {e}"),
            )
        })?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Error::new(ErrorKind::InvalidInput, "Callback", m);
        if self.callback_url.trim().is_empty() || self.callback_url.split(';').count() > 5 {
            return Err(bad("a callback needs 1 to 5 URLs".into()));
        }
        if self.callback_body.is_empty() {
            return Err(bad("a callback needs a body template".into()));
        }
        if let Some(k) = self.vars.keys().find(|k| !k.starts_with("x:")) {
            return Err(bad(format!(
                "callback variable {k:?} must start with \"x:\""
            )));
        }
        Ok(())
    }

    /// The `x-oss-callback` header value: base64 of the JSON OSS documents, fields in its order.
    ///
    /// ```
    /// use base64::Engine;
    /// let c = oss_direct::Callback::new("http://a/cb", "object=${object}");
    /// let json = base64::engine::general_purpose::STANDARD.decode(c.header_value()).unwrap();
    /// assert_eq!(json, br#"{"callbackUrl":"http://a/cb","callbackBody":"object=${object}"}"#);
    /// ```
    pub fn header_value(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Header<'a> {
            callback_url: &'a str,
            callback_body: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            callback_body_type: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            callback_host: Option<&'a str>,
        }
        let h = Header {
            callback_url: &self.callback_url,
            callback_body: &self.callback_body,
            callback_body_type: self.callback_body_type.as_deref(),
            callback_host: self.callback_host.as_deref(),
        };
        STANDARD.encode(serde_json::to_string(&h).expect("serializable"))
    }

    /// The `x-oss-callback-var` header value, when there are variables.
    pub fn vars_value(&self) -> Option<String> {
        (!self.vars.is_empty())
            .then(|| STANDARD.encode(serde_json::to_string(&self.vars).expect("serializable")))
    }

    pub(crate) fn apply(&self, req: crate::client::Request) -> Result<crate::client::Request> {
        self.validate()?;
        let mut req = req.header("x-oss-callback", &self.header_value())?;
        if let Some(v) = self.vars_value() {
            req = req.header("x-oss-callback-var", &v)?;
        }
        Ok(req)
    }
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
