//! OSS upload callbacks: the hint the token carries, the RSA signature OSS puts on each callback,
//! the public keys (fetched only from trusted URL prefixes, cached), and the callback body.
//!
//! OSS signs `url_decode(path) + ("?" + query, if any) + "\n" + body` with RSA PKCS#1 v1.5 over
//! MD5, sends the signature base64-encoded in `Authorization`, and the URL of its PEM public key
//! base64-encoded in `x-oss-pub-key-url`. Anyone can make OSS call any URL with a callback, so the
//! key URL must be exactly one of the configured ones (Alibaba's
//! `gosspublic.alicdn.com/callback_pub_key_v1.pem`, or oss-local's). The body is the uploader's
//! text: the route trusts it only through the server's ticket ([`crate::ticket`]) and a
//! HeadObject of its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oss_direct_wire::callback::Callback;
use rsa::RsaPublicKey;
use serde_json::Value;
use url::Url;

use crate::ticket::{TICKET_FIELD, TICKET_VAR};

/// OSS's own callback public key (both schemes, as OSS sends either).
pub const DEFAULT_TRUSTED_KEY_URLS: &[&str] = &[
    "https://gosspublic.alicdn.com/callback_pub_key_v1.pem",
    "http://gosspublic.alicdn.com/callback_pub_key_v1.pem",
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
/// The timeout of one key fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub use oss_direct_wire::callback::signature::{parse_public_key_pem, verify as verify_signature};
/// `callbackBodyType` (shared with the library and oss-local).
pub use oss_direct_wire::callback::BodyType as CallbackBodyType;
pub use oss_direct_wire::callback::{decode_base64, string_to_sign};

/// The default `callbackBody` for a body type.
pub fn default_body(body_type: CallbackBodyType) -> &'static str {
    match body_type {
        CallbackBodyType::Form => DEFAULT_FORM_BODY,
        CallbackBodyType::Json => DEFAULT_JSON_BODY,
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
    /// Public keys are fetched only from exactly these URLs.
    pub trusted_key_urls: Vec<Url>,
}

impl CallbackConfig {
    /// The hint served with a token whose caller got `ticket`: the callback to attach, with the
    /// ticket as its `x:ticket` variable.
    pub fn hint(&self, ticket: &str) -> Callback {
        let urls: Vec<&str> = self.urls.iter().map(Url::as_str).collect();
        let mut hint = Callback::new(urls.join(";"), body_with_ticket(&self.body, self.body_type));
        hint.callback_body_type = Some(self.body_type.as_str().to_string());
        hint.vars = BTreeMap::from([(TICKET_VAR.to_string(), ticket.to_string())]);
        hint
    }
}

/// The body template with the ticket field added (the template was checked at start-up, so a
/// JSON one ends with `}`).
fn body_with_ticket(body: &str, body_type: CallbackBodyType) -> String {
    match body_type {
        CallbackBodyType::Form => format!("{body}&{TICKET_FIELD}=${{{TICKET_VAR}}}"),
        CallbackBodyType::Json => {
            let open = body.trim_end().strip_suffix('}').unwrap_or(body).trim_end();
            format!("{open},\"{TICKET_FIELD}\":${{{TICKET_VAR}}}}}")
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
    if fields.contains_key(TICKET_FIELD) {
        return Err(format!(
            "must not contain the field {TICKET_FIELD}: the server adds it (its value is the caller's ticket)"
        ));
    }
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

/// A trusted key URL from the configuration: http(s), a host, a path naming the key file, no
/// user, query or fragment. Only these exact URLs are ever fetched.
pub fn parse_trusted_key_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
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
    if url.path().ends_with('/') {
        return Err(format!(
            "{s:?} must name the key file (e.g. https://gosspublic.alicdn.com/callback_pub_key_v1.pem), not a folder"
        ));
    }
    Ok(url)
}

/// Whether `url` is exactly one of the trusted key URLs (after URL normalisation: scheme and
/// host case, default port, dot segments). Any query string, fragment or user name is refused.
pub fn is_trusted(url: &Url, trusted: &[Url]) -> bool {
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return false;
    }
    trusted.iter().any(|t| t == url)
}

/// Why a public key could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFetchError(pub String);

/// One trusted key URL: the key last fetched from it, the last failure, and a lock so that one
/// fetch at a time goes to that URL (fetches of different URLs do not wait on each other).
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    fetch: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SlotState {
    key: Option<(Arc<RsaPublicKey>, Instant)>,
    failure: Option<(String, Instant)>,
}

/// The public keys of the trusted key URLs, one slot per URL fixed at start-up: a callback can
/// name only one of them, so no request adds, evicts or replaces an entry, and a failed fetch
/// never replaces a key that worked. Fetches never follow redirects and are bounded in size and
/// time.
pub struct PublicKeys {
    client: reqwest::Client,
    slots: HashMap<String, Slot>,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeys")
            .field("urls", &self.slots.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a slot can answer without fetching.
enum Lookup {
    Use(Arc<RsaPublicKey>, Instant),
    Failed(String),
    Fetch,
}

impl SlotState {
    fn lookup(&self, refetch_older_than: Option<Duration>, now: Instant) -> Lookup {
        let recent_failure = self
            .failure
            .as_ref()
            .filter(|(_, at)| now.duration_since(*at) < FAILURE_TTL);
        match (&self.key, recent_failure) {
            (Some((k, at)), failure) => {
                let age = now.duration_since(*at);
                let wanted_fresh = refetch_older_than.is_some_and(|max| age >= max);
                // A recent failure means the URL is not answering: keep using the good key.
                if (age < KEY_TTL && !wanted_fresh) || failure.is_some() {
                    Lookup::Use(k.clone(), *at)
                } else {
                    Lookup::Fetch
                }
            }
            (None, Some((why, _))) => Lookup::Failed(why.clone()),
            (None, None) => Lookup::Fetch,
        }
    }
}

impl PublicKeys {
    /// Slots for exactly these key URLs.
    pub fn new(urls: &[Url]) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .build()
            .expect("a reqwest client builds");
        Self {
            client,
            slots: urls
                .iter()
                .map(|u| (u.as_str().to_string(), Slot::default()))
                .collect(),
        }
    }

    /// The key at `url` (one of the trusted URLs), and when it was fetched.
    /// `refetch_older_than` asks for a new copy when the cached one is older.
    pub async fn get(
        &self,
        url: &Url,
        refetch_older_than: Option<Duration>,
    ) -> Result<(Arc<RsaPublicKey>, Instant), KeyFetchError> {
        let slot = self
            .slots
            .get(url.as_str())
            .ok_or_else(|| KeyFetchError(format!("{url} is not a trusted key URL")))?;
        let answer = |lookup| match lookup {
            Lookup::Use(k, at) => Some(Ok((k, at))),
            Lookup::Failed(why) => Some(Err(KeyFetchError(why))),
            Lookup::Fetch => None,
        };
        let lookup = slot
            .state
            .lock()
            .unwrap()
            .lookup(refetch_older_than, Instant::now());
        if let Some(done) = answer(lookup) {
            return done;
        }
        let _one_at_a_time = slot.fetch.lock().await;
        // Someone else may have fetched it while we waited.
        let lookup = slot
            .state
            .lock()
            .unwrap()
            .lookup(refetch_older_than, Instant::now());
        if let Some(done) = answer(lookup) {
            return done;
        }
        let result = self.fetch_pem(url).await;
        let now = Instant::now();
        let mut state = slot.state.lock().unwrap();
        match result {
            Ok(k) => {
                let k = Arc::new(k);
                state.key = Some((k.clone(), now));
                state.failure = None;
                Ok((k, now))
            }
            Err(why) => {
                tracing::warn!(url = %url, error = %why, "callback public key unavailable");
                state.failure = Some((why.clone(), now));
                match &state.key {
                    Some((k, at)) => Ok((k.clone(), *at)),
                    None => Err(KeyFetchError(why)),
                }
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
    /// `ticket`: the server's ticket, from the `x:ticket` variable.
    pub ticket: Option<String>,
}

/// A JSON object whose keys are all different (serde_json's own map keeps the last of two).
struct UniqueObject(HashMap<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut map = HashMap::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    if map.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "the field {k:?} appears twice"
                        )));
                    }
                    map.insert(k, v);
                }
                Ok(UniqueObject(map))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Parses a callback body of the given type into its fields.
///
/// A field named twice is refused: the body is the uploader's text, and which of two copies a
/// reader takes must never matter.
pub fn parse_body(body: &[u8], body_type: CallbackBodyType) -> Result<CallbackFields, String> {
    let fields: HashMap<String, String> = match body_type {
        CallbackBodyType::Form => {
            let mut map = HashMap::new();
            for (k, v) in url::form_urlencoded::parse(body).into_owned() {
                if map.insert(k.clone(), v).is_some() {
                    return Err(format!("the body names the field {k:?} twice"));
                }
            }
            map
        }
        CallbackBodyType::Json => {
            let UniqueObject(map) = serde_json::from_slice(body)
                .map_err(|e| format!("the JSON body is not one object with unique keys: {e}"))?;
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
        ticket: text(TICKET_FIELD),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_key_urls_are_trusted() {
        let t: Vec<Url> = [
            "https://gosspublic.alicdn.com/callback_pub_key_v1.pem",
            "http://127.0.0.1:9000/-/callback-public-key.pem",
        ]
        .iter()
        .map(|s| parse_trusted_key_url(s).unwrap())
        .collect();
        let ok = |s: &str| is_trusted(&Url::parse(s).unwrap(), &t);
        assert!(ok("https://gosspublic.alicdn.com/callback_pub_key_v1.pem"));
        assert!(ok(
            "https://GOSSPUBLIC.alicdn.com:443/callback_pub_key_v1.pem"
        ));
        assert!(ok("http://127.0.0.1:9000/-/callback-public-key.pem"));
        assert!(ok("http://127.0.0.1:9000/-/x/../callback-public-key.pem"));
        // What a prefix used to let through: any file, path or query under it.
        assert!(!ok("https://gosspublic.alicdn.com/other.pem"));
        assert!(!ok(
            "https://gosspublic.alicdn.com/callback_pub_key_v1.pem?x=1"
        ));
        assert!(!ok(
            "https://gosspublic.alicdn.com/callback_pub_key_v1.pem?"
        ));
        assert!(!ok(
            "https://gosspublic.alicdn.com/callback_pub_key_v1.pem#f"
        ));
        assert!(!ok("http://127.0.0.1:9000/-/callback-public-key.pem/more"));
        assert!(
            !ok("http://gosspublic.alicdn.com/callback_pub_key_v1.pem"),
            "scheme"
        );
        assert!(!ok(
            "https://gosspublic.alicdn.com.evil.com/callback_pub_key_v1.pem"
        ));
        assert!(!ok(
            "https://u@gosspublic.alicdn.com/callback_pub_key_v1.pem"
        ));
        assert!(
            !ok("http://127.0.0.1:9001/-/callback-public-key.pem"),
            "port"
        );
        assert!(parse_trusted_key_url("ftp://x/k.pem").is_err());
        assert!(parse_trusted_key_url("http://u:p@x/k.pem").is_err());
        assert!(parse_trusted_key_url("http://x/k.pem?q").is_err());
        assert!(parse_trusted_key_url("http://127.0.0.1:9000/-/").is_err());
    }

    #[test]
    fn the_hint_adds_the_ticket_to_either_body_type() {
        for t in [CallbackBodyType::Form, CallbackBodyType::Json] {
            let cfg = CallbackConfig {
                urls: vec![Url::parse("http://a/cb").unwrap()],
                body: default_body(t).to_string(),
                body_type: t,
                trusted_key_urls: vec![],
            };
            let hint = cfg.hint("v1.x.y");
            assert_eq!(hint.vars["x:ticket"], "v1.x.y");
            assert!(hint.callback_body.contains("${x:ticket}"));
            // Filled as OSS does, the body parses with the ticket in it.
            let filled = hint
                .callback_body
                .replace(
                    "${x:ticket}",
                    if t == CallbackBodyType::Json {
                        "\"T\""
                    } else {
                        "T"
                    },
                )
                .replace(
                    "${bucket}",
                    if t == CallbackBodyType::Json {
                        "\"b\""
                    } else {
                        "b"
                    },
                )
                .replace(
                    "${object}",
                    if t == CallbackBodyType::Json {
                        "\"k\""
                    } else {
                        "k"
                    },
                )
                .replace(
                    "${etag}",
                    if t == CallbackBodyType::Json {
                        "\"E\""
                    } else {
                        "E"
                    },
                );
            let filled = regex_free_blank_vars(&filled, t);
            let f = parse_body(filled.as_bytes(), t).unwrap();
            assert_eq!(f.ticket.as_deref(), Some("T"));
        }
        assert!(check_body_template(
            "bucket=${bucket}&object=${object}&etag=${etag}&ticket=${x:ticket}",
            CallbackBodyType::Form
        )
        .is_err());
    }

    /// Fills the remaining `${...}` variables with empty values.
    fn regex_free_blank_vars(s: &str, t: CallbackBodyType) -> String {
        let mut out = s.to_string();
        for (_, var) in BODY_FIELDS {
            out = out.replace(
                var,
                if t == CallbackBodyType::Json {
                    "\"\""
                } else {
                    ""
                },
            );
        }
        out
    }

    #[test]
    fn bodies_naming_a_field_twice_are_refused() {
        assert!(parse_body(
            b"bucket=b&object=k&etag=E&object=other",
            CallbackBodyType::Form
        )
        .unwrap_err()
        .contains("twice"));
        assert!(parse_body(
            br#"{"bucket":"b","object":"k","etag":"E","object":"other"}"#,
            CallbackBodyType::Json
        )
        .unwrap_err()
        .contains("twice"));
    }

    #[test]
    fn body_templates_are_checked() {
        for t in [CallbackBodyType::Form, CallbackBodyType::Json] {
            check_body_template(default_body(t), t).unwrap();
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
