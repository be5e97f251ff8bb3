//! OSS upload callbacks: the hint the token carries, the RSA signature OSS puts on each callback,
//! the public keys (fetched only from trusted URL prefixes, cached), and the callback body.
//!
//! OSS signs `url_decode(path) + ("?" + query, if any) + "\n" + body` with RSA PKCS#1 v1.5 over
//! MD5, sends the signature base64-encoded in `Authorization`, and the URL of its PEM public key
//! base64-encoded in `x-oss-pub-key-url`. Anyone can make OSS call any URL with a callback, so the
//! key URL must be one of ours (Alibaba's `gosspublic.alicdn.com`, or oss-local's), and the bucket
//! and object key in the body are checked by the route as well.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::{Digest, Md5};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde::Serialize;
use serde_json::Value;
use url::Url;

/// Where OSS's own callback public keys live (both schemes, as OSS sends either).
pub const DEFAULT_TRUSTED_KEY_URL_PREFIXES: &[&str] = &[
    "https://gosspublic.alicdn.com/",
    "http://gosspublic.alicdn.com/",
];

/// The body OSS fills for `application/x-www-form-urlencoded` (OSS URL-encodes each value).
pub const DEFAULT_FORM_BODY: &str = "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}&imageInfo.height=${imageInfo.height}&imageInfo.width=${imageInfo.width}&imageInfo.format=${imageInfo.format}";

/// The body OSS fills for `application/json` (OSS puts each value in as a JSON value).
pub const DEFAULT_JSON_BODY: &str = "{\"bucket\":${bucket},\"object\":${object},\"etag\":${etag},\"size\":${size},\"mimeType\":${mimeType},\"imageInfo.height\":${imageInfo.height},\"imageInfo.width\":${imageInfo.width},\"imageInfo.format\":${imageInfo.format}}";

/// The fields of the callback body this server reads; a custom `Callback.Body` must name them
/// this way (`bucket`, `object` and `etag` at least).
pub const BODY_FIELDS: &[(&str, &str)] = &[
    ("bucket", "${bucket}"),
    ("object", "${object}"),
    ("etag", "${etag}"),
    ("size", "${size}"),
    ("mimeType", "${mimeType}"),
    ("imageInfo.height", "${imageInfo.height}"),
    ("imageInfo.width", "${imageInfo.width}"),
    ("imageInfo.format", "${imageInfo.format}"),
];

/// The largest PEM accepted from a key URL.
const MAX_PEM_BYTES: usize = 16 * 1024;
/// How long a fetched key is used before it is fetched again.
const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
/// A key older than this is fetched again once when a signature does not verify with it (the
/// signer may have a new key, e.g. a restarted oss-local).
pub const KEY_REFRESH_AFTER: Duration = Duration::from_secs(5);
/// How long a failed fetch is remembered (so a flood of callbacks does not become a flood of
/// fetches).
const FAILURE_TTL: Duration = Duration::from_secs(10);
/// The most key URLs remembered.
const MAX_CACHED_KEYS: usize = 32;
/// The timeout of one key fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// `callbackBodyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackBodyType {
    /// `application/x-www-form-urlencoded` (OSS's default).
    Form,
    /// `application/json`.
    Json,
}

impl CallbackBodyType {
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
        if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Some(Self::Form)
        } else if mime.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The default `callbackBody` for this type.
    pub fn default_body(self) -> &'static str {
        match self {
            Self::Form => DEFAULT_FORM_BODY,
            Self::Json => DEFAULT_JSON_BODY,
        }
    }
}

/// The `Callback` section of `config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackConfig {
    /// `callbackUrl`: up to 5, tried in order by OSS.
    pub urls: Vec<Url>,
    /// `callbackBody`.
    pub body: String,
    /// `callbackBodyType`.
    pub body_type: CallbackBodyType,
    /// Public keys are fetched only from URLs under these.
    pub trusted_key_url_prefixes: Vec<Url>,
}

/// The `Callback` hint of the token JSON: exactly the JSON an app base64-encodes into
/// `x-oss-callback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackHint {
    /// `;`-separated callback URLs.
    #[serde(rename = "callbackUrl")]
    pub callback_url: String,
    /// The body template.
    #[serde(rename = "callbackBody")]
    pub callback_body: String,
    /// Its MIME type.
    #[serde(rename = "callbackBodyType")]
    pub callback_body_type: String,
}

impl CallbackConfig {
    /// The hint served with each token.
    pub fn hint(&self) -> CallbackHint {
        CallbackHint {
            callback_url: self
                .urls
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>()
                .join(";"),
            callback_body: self.body.clone(),
            callback_body_type: self.body_type.as_str().to_string(),
        }
    }
}

/// Checks that a custom body template names the fields this server reads: `bucket`, `object`,
/// `etag` (and the others, if present, filled by their variables).
pub fn check_body_template(body: &str, body_type: CallbackBodyType) -> Result<(), String> {
    let fields: HashMap<String, String> = match body_type {
        CallbackBodyType::Form => url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
        CallbackBodyType::Json => {
            // Variables are filled in as JSON values: put a string in each to parse the shape.
            let mut filled = body.to_string();
            for (_, var) in BODY_FIELDS {
                filled = filled.replace(var, &format!("{var:?}"));
            }
            let value: Value = serde_json::from_str(&filled).map_err(|e| {
                format!("is not a JSON object once its ${{...}} variables are filled: {e}")
            })?;
            let Value::Object(map) = value else {
                return Err("must be a JSON object".into());
            };
            map.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect()
        }
    };
    for (name, var) in BODY_FIELDS {
        let required = matches!(*name, "bucket" | "object" | "etag");
        match fields.get(*name) {
            Some(v) if v == var => {}
            Some(v) => return Err(format!("field {name} must be {var}, not {v:?}")),
            None if required => return Err(format!("must contain the field {name}={var}")),
            None => {}
        }
    }
    Ok(())
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

/// Whether `signature` is OSS's RSA PKCS#1 v1.5 MD5 signature of `message` under `key`.
pub fn verify_signature(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    let digest = Md5::digest(message);
    key.verify(Pkcs1v15Sign::new::<Md5>(), &digest, signature)
        .is_ok()
}

/// Decodes a base64 header value (standard alphabet, padding optional).
pub fn decode_base64(value: &str) -> Option<Vec<u8>> {
    let v = value.trim();
    base64::engine::general_purpose::STANDARD
        .decode(v)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
        .ok()
}

/// Parses an RSA public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
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

/// A trusted key URL prefix from the configuration: http(s), a host, no user or query; the path
/// ends with `/` (added if missing), so `http://127.0.0.1:9000` cannot match
/// `http://127.0.0.1:90001/`.
pub fn parse_trusted_prefix(s: &str) -> Result<Url, String> {
    let mut url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?} must start with https:// or http://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{s:?} must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{s:?} must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Whether `url` lies under one of `prefixes`: same scheme, host and port, and the prefix's path
/// at the start of the (normalised) path.
pub fn is_trusted(url: &Url, prefixes: &[Url]) -> bool {
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return false;
    }
    prefixes.iter().any(|p| {
        p.scheme() == url.scheme()
            && p.host_str() == url.host_str()
            && p.port_or_known_default() == url.port_or_known_default()
            && url.path().starts_with(p.path())
    })
}

/// Why a public key could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFetchError(pub String);

enum Cached {
    Key(Arc<RsaPublicKey>, Instant),
    Failed(String, Instant),
}

/// The public keys fetched so far, by URL. Fetches go one at a time, never follow redirects (a
/// redirect could leave the trusted prefix) and are bounded in size and time.
pub struct PublicKeys {
    client: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
    fetch: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeys").finish_non_exhaustive()
    }
}

impl Default for PublicKeys {
    fn default() -> Self {
        Self::new()
    }
}

impl PublicKeys {
    /// An empty cache.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .build()
            .expect("a reqwest client builds");
        Self {
            client,
            cache: Mutex::default(),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(
        &self,
        url: &str,
        now: Instant,
    ) -> Option<Result<(Arc<RsaPublicKey>, Instant), KeyFetchError>> {
        match self.cache.lock().unwrap().get(url) {
            Some(Cached::Key(k, at)) if now.duration_since(*at) < KEY_TTL => {
                Some(Ok((k.clone(), *at)))
            }
            Some(Cached::Failed(why, at)) if now.duration_since(*at) < FAILURE_TTL => {
                Some(Err(KeyFetchError(why.clone())))
            }
            _ => None,
        }
    }

    /// The key at `url` (which the caller has checked is trusted), and when it was fetched.
    /// `refetch_older_than` asks for a new copy when the cached one is older.
    pub async fn get(
        &self,
        url: &Url,
        refetch_older_than: Option<Duration>,
    ) -> Result<(Arc<RsaPublicKey>, Instant), KeyFetchError> {
        let key = url.as_str();
        let usable = |hit: &Result<(Arc<RsaPublicKey>, Instant), KeyFetchError>| match (
            hit,
            refetch_older_than,
        ) {
            (Ok((_, at)), Some(age)) => at.elapsed() < age,
            _ => true,
        };
        if let Some(hit) = self.cached(key, Instant::now()) {
            if usable(&hit) {
                return hit;
            }
        }
        let _one_at_a_time = self.fetch.lock().await;
        // Someone else may have fetched it while we waited.
        if let Some(hit) = self.cached(key, Instant::now()) {
            if usable(&hit) {
                return hit;
            }
        }
        let result = self.fetch_pem(url).await;
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap();
        if cache.len() >= MAX_CACHED_KEYS && !cache.contains_key(key) {
            // Forget the oldest entry.
            if let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, c)| match c {
                    Cached::Key(_, at) | Cached::Failed(_, at) => *at,
                })
                .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        match result {
            Ok(k) => {
                let k = Arc::new(k);
                cache.insert(key.to_string(), Cached::Key(k.clone(), now));
                Ok((k, now))
            }
            Err(why) => {
                tracing::warn!(url = %url, error = %why, "callback public key unavailable");
                cache.insert(key.to_string(), Cached::Failed(why.clone(), now));
                Err(KeyFetchError(why))
            }
        }
    }

    async fn fetch_pem(&self, url: &Url) -> Result<RsaPublicKey, String> {
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {}", without_url(&e)))?;
        if !response.status().is_success() {
            return Err(format!(
                "{url} answered HTTP {}",
                response.status().as_u16()
            ));
        }
        let mut pem = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("cannot read {url}: {}", without_url(&e)))?
        {
            pem.extend_from_slice(&chunk);
            if pem.len() > MAX_PEM_BYTES {
                return Err(format!("{url} is larger than {MAX_PEM_BYTES} bytes"));
            }
        }
        let pem = String::from_utf8(pem).map_err(|_| format!("{url} is not a PEM text"))?;
        parse_public_key_pem(&pem).map_err(|e| format!("{url}: {e}"))
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(&format!(" ({u})"), "");
    }
    s
}

/// What a callback body says about the stored object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallbackFields {
    /// `bucket`.
    pub bucket: String,
    /// `object`.
    pub key: String,
    /// `etag`, without quotes.
    pub etag: String,
    /// `size`.
    pub size: Option<i64>,
    /// `mimeType`.
    pub mime_type: Option<String>,
    /// `imageInfo.width`.
    pub image_width: Option<i64>,
    /// `imageInfo.height`.
    pub image_height: Option<i64>,
    /// `imageInfo.format`.
    pub image_format: Option<String>,
}

/// Parses a callback body of the given type into its fields.
pub fn parse_body(body: &[u8], body_type: CallbackBodyType) -> Result<CallbackFields, String> {
    let fields: HashMap<String, String> = match body_type {
        CallbackBodyType::Form => url::form_urlencoded::parse(body).into_owned().collect(),
        CallbackBodyType::Json => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| format!("the JSON body does not parse: {e}"))?;
            let Value::Object(map) = value else {
                return Err("the JSON body is not an object".into());
            };
            map.into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    Value::Number(n) => Some((k, n.to_string())),
                    _ => None,
                })
                .collect()
        }
    };
    let text = |name: &str| {
        fields
            .get(name)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let required = |name: &str| text(name).ok_or_else(|| format!("the body has no {name}"));
    let number = |name: &str| -> Result<Option<i64>, String> {
        match text(name) {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| format!("{name} is not a whole number: {s:?}")),
        }
    };
    Ok(CallbackFields {
        bucket: required("bucket")?,
        key: required("object")?,
        etag: required("etag")?.trim_matches('"').to_string(),
        size: number("size")?,
        mime_type: text("mimeType"),
        image_width: number("imageInfo.width")?,
        image_height: number("imageInfo.height")?,
        image_format: text("imageInfo.format"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn trusted_prefixes_match_scheme_host_port_and_path() {
        let p: Vec<Url> = ["https://gosspublic.alicdn.com/", "http://127.0.0.1:9000/-"]
            .iter()
            .map(|s| parse_trusted_prefix(s).unwrap())
            .collect();
        assert_eq!(p[1].as_str(), "http://127.0.0.1:9000/-/");
        let ok = |s: &str| is_trusted(&Url::parse(s).unwrap(), &p);
        assert!(ok("https://gosspublic.alicdn.com/callback_pub_key_v1.pem"));
        assert!(ok("https://GOSSPUBLIC.alicdn.com:443/x.pem"));
        assert!(ok("http://127.0.0.1:9000/-/callback-public-key.pem"));
        assert!(!ok("http://gosspublic.alicdn.com/x.pem"), "scheme");
        assert!(!ok("https://gosspublic.alicdn.com.evil.com/x.pem"));
        assert!(!ok("https://gosspublic.alicdn.com@evil.com/x.pem"));
        assert!(!ok("https://evil.com/https://gosspublic.alicdn.com/"));
        assert!(
            !ok("http://127.0.0.1:9001/-/callback-public-key.pem"),
            "port"
        );
        assert!(!ok("http://127.0.0.1:9000/other/key.pem"), "path");
        assert!(!ok("http://127.0.0.1:9000/-/../other.pem"), "dot segments");
        assert!(parse_trusted_prefix("ftp://x/").is_err());
        assert!(parse_trusted_prefix("http://u:p@x/").is_err());
    }

    #[test]
    fn body_templates_are_checked() {
        for t in [CallbackBodyType::Form, CallbackBodyType::Json] {
            check_body_template(t.default_body(), t).unwrap();
        }
        check_body_template(
            "bucket=${bucket}&object=${object}&etag=${etag}&note=${x:note}",
            CallbackBodyType::Form,
        )
        .unwrap();
        assert!(check_body_template("key=${object}&etag=${etag}", CallbackBodyType::Form).is_err());
        assert!(check_body_template(
            "bucket=${bucket}&object=${etag}&etag=${etag}",
            CallbackBodyType::Form
        )
        .is_err());
        assert!(check_body_template("{\"bucket\":${bucket}", CallbackBodyType::Json).is_err());
    }

    #[test]
    fn bodies_parse_in_both_types() {
        let form = b"bucket=b&object=users%2Fa%2Fx.jpg&etag=%22ABC%22&size=12&mimeType=image%2Fjpeg&imageInfo.height=3&imageInfo.width=4&imageInfo.format=jpg";
        let f = parse_body(form, CallbackBodyType::Form).unwrap();
        assert_eq!(f.key, "users/a/x.jpg");
        assert_eq!(f.etag, "ABC");
        assert_eq!(
            (f.size, f.image_width, f.image_height),
            (Some(12), Some(4), Some(3))
        );
        assert_eq!(f.image_format.as_deref(), Some("jpg"));
        let json = br#"{"bucket":"b","object":"k","etag":"E","size":"7","mimeType":"text/plain","imageInfo.height":"","imageInfo.width":"","imageInfo.format":""}"#;
        let j = parse_body(json, CallbackBodyType::Json).unwrap();
        assert_eq!(
            (j.size, j.image_width, j.image_format),
            (Some(7), None, None)
        );
        let json_numbers = br#"{"bucket":"b","object":"k","etag":"E","size":7}"#;
        assert_eq!(
            parse_body(json_numbers, CallbackBodyType::Json)
                .unwrap()
                .size,
            Some(7)
        );
        assert!(parse_body(b"bucket=b&etag=E", CallbackBodyType::Form).is_err());
        assert!(parse_body(b"bucket=b&object=k&etag=E&size=x", CallbackBodyType::Form).is_err());
        assert!(parse_body(b"[1]", CallbackBodyType::Json).is_err());
    }
}
