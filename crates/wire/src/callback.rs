//! Upload callbacks, as the three programs see them: the `x-oss-callback` parameters an uploader
//! attaches (and the token server hints), the bytes OSS signs when it calls the app server back,
//! and (feature `rsa`) that RSA signature.
//!
//! OSS signs `url_decode(path) + ("?" + query, if any) + "\n" + body` with RSA PKCS#1 v1.5 over
//! MD5, sends the signature base64-encoded in `Authorization`, and the URL of its PEM public key
//! base64-encoded in `x-oss-pub-key-url`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// OSS tries at most this many callback URLs.
pub const MAX_CALLBACK_URLS: usize = 5;

/// `callbackBodyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyType {
    /// `application/x-www-form-urlencoded` (OSS's default).
    #[default]
    Form,
    /// `application/json`.
    Json,
}

impl BodyType {
    /// The MIME type, as in `callbackBodyType` and the callback's `Content-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "application/x-www-form-urlencoded",
            Self::Json => "application/json",
        }
    }

    /// Parses a MIME type (parameters such as `; charset=utf-8` are ignored).
    pub fn parse(s: &str) -> Option<Self> {
        let mime = s.split(';').next().unwrap_or("").trim();
        if mime.eq_ignore_ascii_case(Self::Form.as_str()) {
            Some(Self::Form)
        } else if mime.eq_ignore_ascii_case(Self::Json.as_str()) {
            Some(Self::Json)
        } else {
            None
        }
    }
}

/// Why callback parameters were refused; the text is OSS's own message for the case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// `x-oss-callback` is not base64.
    #[error("The callback configuration is not base64 encoded.")]
    NotBase64,
    /// `x-oss-callback` is not the JSON object OSS documents.
    #[error("The callback configuration is not json format.")]
    NotJson,
    /// No URL, more than five, or one that is not http(s).
    #[error("The callbackUrl must hold 1 to 5 http(s) URLs.")]
    Urls,
    /// `callbackBody` is empty.
    #[error("The callbackBody is empty.")]
    EmptyBody,
    /// An unknown `callbackBodyType`.
    #[error("The callbackBodyType must be application/x-www-form-urlencoded or application/json.")]
    BodyType,
    /// `x-oss-callback-var` is not base64.
    #[error("The callback-var is not base64 encoded.")]
    VarsNotBase64,
    /// `x-oss-callback-var` is not a JSON object.
    #[error("The callback-var is not json format.")]
    VarsNotJson,
    /// A custom variable without the `x:` prefix.
    #[error("Callback variables must start with x:.")]
    VarPrefix,
    /// A token server's hint that is not callback JSON.
    #[error("the app server's Callback hint is not usable: {0}")]
    Hint(String),
}

/// The `x-oss-callback` parameters in OSS's JSON spelling, plus the custom `x:` variables sent in
/// `x-oss-callback-var`. A token server's `Callback` hint is exactly this JSON.
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

    /// Reads the callback a token server hinted (its JSON `Callback` object), and validates it.
    pub fn from_hint(hint: &serde_json::Value) -> Result<Self, CallbackError> {
        let c: Callback =
            serde_json::from_value(hint.clone()).map_err(|e| CallbackError::Hint(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// The body type (form when not given).
    pub fn body_type(&self) -> Result<BodyType, CallbackError> {
        match self.callback_body_type.as_deref() {
            None => Ok(BodyType::Form),
            Some(t) => BodyType::parse(t).ok_or(CallbackError::BodyType),
        }
    }

    /// The callback URLs.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.callback_url.split(';').filter(|u| !u.is_empty())
    }

    /// Checks what OSS checks before storing anything: 1 to 5 http(s) URLs, a body, a known body
    /// type, `x:` variables.
    pub fn validate(&self) -> Result<(), CallbackError> {
        let urls: Vec<&str> = self.urls().collect();
        if urls.is_empty() || urls.len() > MAX_CALLBACK_URLS {
            return Err(CallbackError::Urls);
        }
        let http =
            |u: &str| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !urls.iter().all(|u| http(u)) {
            return Err(CallbackError::Urls);
        }
        if self.callback_body.is_empty() {
            return Err(CallbackError::EmptyBody);
        }
        self.body_type()?;
        if self.vars.keys().any(|k| !k.starts_with("x:")) {
            return Err(CallbackError::VarPrefix);
        }
        Ok(())
    }

    /// The `x-oss-callback` header value: base64 of the JSON OSS documents, fields in its order
    /// (the variables go in [`Callback::vars_value`]).
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

    /// Reads the two headers as OSS does (the reverse of [`Callback::header_value`] and
    /// [`Callback::vars_value`]), and validates the result.
    pub fn from_headers(callback: &str, vars: Option<&str>) -> Result<Self, CallbackError> {
        let json = STANDARD
            .decode(callback.trim())
            .map_err(|_| CallbackError::NotBase64)?;
        let mut cb: Callback = serde_json::from_slice(&json).map_err(|_| CallbackError::NotJson)?;
        // Variables come only from their own header.
        cb.vars.clear();
        if let Some(raw) = vars {
            let json = STANDARD
                .decode(raw.trim())
                .map_err(|_| CallbackError::VarsNotBase64)?;
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&json).map_err(|_| CallbackError::VarsNotJson)?;
            // Only `x:` names can be referenced; OSS ignores the others.
            for (k, v) in map.into_iter().filter(|(k, _)| k.starts_with("x:")) {
                let v = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                cb.vars.insert(k, v);
            }
        }
        cb.validate()?;
        Ok(cb)
    }
}

/// The bytes OSS signs: `url_decode(path)`, then `?query` as received if there is a query, a
/// newline, and the body.
pub fn string_to_sign(path: &str, query: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    if let Some(q) = query {
        out.push(b'?');
        out.extend_from_slice(q.as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// Decodes a base64 header value (standard alphabet, padding optional).
pub fn decode_base64(value: &str) -> Option<Vec<u8>> {
    let v = value.trim();
    STANDARD
        .decode(v)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
        .ok()
}

/// The RSA signature of callbacks (PKCS#1 v1.5 over MD5).
#[cfg(feature = "rsa")]
pub mod signature {
    use md5::{Digest, Md5};
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};

    /// OSS's signature of `message` (from [`super::string_to_sign`]).
    pub fn sign(key: &RsaPrivateKey, message: &[u8]) -> Result<Vec<u8>, rsa::Error> {
        key.sign(Pkcs1v15Sign::new::<Md5>(), &Md5::digest(message))
    }

    /// Whether `signature` is OSS's signature of `message` under `key`.
    pub fn verify(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
        key.verify(Pkcs1v15Sign::new::<Md5>(), &Md5::digest(message), signature)
            .is_ok()
    }

    /// Parses an RSA public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`), at least
    /// 1024 bits.
    pub fn parse_public_key_pem(pem: &str) -> Result<RsaPublicKey, String> {
        let key = RsaPublicKey::from_public_key_pem(pem.trim())
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
            .map_err(|_| "not an RSA public key in PEM".to_string())?;
        if key.size() < 128 {
            return Err(format!(
                "the RSA key has {} bits; at least 1024 are required",
                key.size() * 8
            ));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_variables_travel_apart() {
        let mut c = Callback::new("http://10.0.0.1:7080/callback", "object=${object}&t=${x:t}");
        c.callback_body_type = Some("application/json".into());
        c.vars.insert("x:t".into(), "v1.a.b".into());
        let decoded = STANDARD.decode(c.header_value()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert!(v.get("callbackVar").is_none(), "{v}");
        let back = Callback::from_headers(&c.header_value(), c.vars_value().as_deref()).unwrap();
        assert_eq!(back, c);
        // The hint JSON (what a token server sends) reads into the same value.
        let hint: Callback = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(hint, c);
        assert_eq!(c.body_type().unwrap(), BodyType::Json);
    }

    #[test]
    fn what_oss_refuses_is_refused() {
        let ok = Callback::new("http://a/cb", "x");
        let h = ok.header_value();
        assert_eq!(
            Callback::from_headers("%%", None),
            Err(CallbackError::NotBase64)
        );
        assert_eq!(
            Callback::from_headers(&STANDARD.encode("[1]"), None),
            Err(CallbackError::NotJson)
        );
        let six = Callback::new(["http://a/"; 6].join(";"), "x");
        assert_eq!(six.validate(), Err(CallbackError::Urls));
        assert_eq!(
            Callback::new("ftp://a/", "x").validate(),
            Err(CallbackError::Urls)
        );
        assert_eq!(
            Callback::new("http://a/", "").validate(),
            Err(CallbackError::EmptyBody)
        );
        let mut t = ok.clone();
        t.callback_body_type = Some("text/plain".into());
        assert_eq!(t.validate(), Err(CallbackError::BodyType));
        // In the headers a name without `x:` is ignored, as OSS does; in a hint it is refused.
        let vars = STANDARD.encode(r#"{"device":"phone","x:a":"1"}"#);
        let read = Callback::from_headers(&h, Some(&vars)).unwrap();
        assert_eq!(read.vars.keys().collect::<Vec<_>>(), ["x:a"]);
        let mut hint = ok.clone();
        hint.vars.insert("device".into(), "phone".into());
        assert_eq!(hint.validate(), Err(CallbackError::VarPrefix));
        assert_eq!(
            Callback::from_headers(&h, Some("%%")),
            Err(CallbackError::VarsNotBase64)
        );
    }

    #[test]
    fn string_to_sign_decodes_the_path_but_not_the_query() {
        assert_eq!(
            string_to_sign("/call%20back", Some("a=%20b"), b"x=1"),
            b"/call back?a=%20b\nx=1".to_vec()
        );
        assert_eq!(
            string_to_sign("/callback", None, b""),
            b"/callback\n".to_vec()
        );
    }
}
