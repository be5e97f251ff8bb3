//! Helpers for the raw-HTTP tests: a demo server on a temp dir, request signing with
//! `oss_direct_wire::sign`, and STS AssumeRole.
#![allow(dead_code)]

use http::{HeaderMap, HeaderName, HeaderValue};
use oss_direct_wire::sign::{self, SigningCredentials};
use oss_local::{Options, Running, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_ROLE_ARN};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub const REGION: &str = "cn-hangzhou";

pub async fn start(dir: &std::path::Path) -> Running {
    oss_local::start(Options::demo(dir.to_path_buf()))
        .await
        .expect("oss-local starts")
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub ak: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Creds {
    pub fn user() -> Self {
        Creds {
            ak: DEMO_ACCESS_KEY_ID.into(),
            secret: DEMO_ACCESS_KEY_SECRET.into(),
            token: None,
        }
    }
    fn signing(&self) -> SigningCredentials<'_> {
        SigningCredentials {
            access_key_id: &self.ak,
            access_key_secret: &self.secret,
            security_token: self.token.as_deref(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    V1,
    V4,
    None,
}

pub fn v4_timestamp(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap()
}

pub fn query_string(q: &[(String, String)]) -> String {
    q.iter()
        .map(|(k, v)| {
            if v.is_empty() {
                sign::uri_encode(k, false)
            } else {
                format!(
                    "{}={}",
                    sign::uri_encode(k, false),
                    sign::uri_encode(v, false)
                )
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn url(run: &Running, bucket: &str, key: Option<&str>, q: &[(String, String)]) -> String {
    let mut u = format!("{}/{bucket}/", run.oss_endpoint());
    if let Some(k) = key {
        u.push_str(&sign::uri_encode(k, true));
    }
    if !q.is_empty() {
        u.push('?');
        u.push_str(&query_string(q));
    }
    u
}

pub fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A request to send: built, signed at `at`, then sent.
pub struct Req<'a> {
    pub method: &'a str,
    pub bucket: &'a str,
    pub key: Option<&'a str>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl<'a> Req<'a> {
    pub fn new(method: &'a str, bucket: &'a str, key: Option<&'a str>) -> Self {
        Req {
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query.extend(q(pairs));
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The `<Code>` of an OSS error document.
    pub fn code(&self) -> String {
        xml_field(&self.text(), "Code").unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

pub fn xml_field(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].to_string())
}

pub fn xml_fields(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.split(&close).next().map(str::to_string))
        .collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Signs (V1/V4 header) and sends.
pub async fn send(run: &Running, req: Req<'_>, creds: &Creds, sig: Sig) -> Resp {
    send_at(run, req, creds, sig, SystemTime::now()).await
}

pub async fn send_at(
    run: &Running,
    mut req: Req<'_>,
    creds: &Creds,
    sig: Sig,
    at: SystemTime,
) -> Resp {
    if !req.headers.contains_key("content-length") && req.method != "GET" && req.method != "HEAD" {
        let len = req.body.len().to_string();
        req.headers
            .insert("content-length", HeaderValue::from_str(&len).unwrap());
    }
    match sig {
        Sig::V1 => sign::sign_v1(
            req.method,
            Some(req.bucket),
            req.key,
            &req.query,
            &mut req.headers,
            creds.signing(),
            &httpdate::fmt_http_date(at),
        ),
        Sig::V4 => sign::sign_v4(
            req.method,
            Some(req.bucket),
            req.key,
            &req.query,
            &mut req.headers,
            creds.signing(),
            REGION,
            &v4_timestamp(at),
        ),
        Sig::None => {}
    }
    let u = url(run, req.bucket, req.key, &req.query);
    raw(req.method, &u, req.headers, req.body).await
}

pub async fn raw(method: &str, url: &str, headers: HeaderMap, body: Vec<u8>) -> Resp {
    let r = client()
        .request(method.parse().unwrap(), url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap().to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// Calls STS AssumeRole with the demo user (or `ak`/`secret`), returns status and JSON.
pub async fn assume_role_with(
    run: &Running,
    ak: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let r = assume_role_raw(run, ak, secret, extra).await;
    (r.status, serde_json::from_slice(&r.body).unwrap())
}

/// STS AssumeRole signed with `ak`/`secret`, the parameters changed by `extra` (an empty value
/// removes one), the answer as it came.
pub async fn assume_role_raw(
    run: &Running,
    ak: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> Resp {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let ts = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap();
    for (k, v) in [
        ("Action", "AssumeRole"),
        ("Format", "JSON"),
        ("Version", "2015-04-01"),
        ("AccessKeyId", ak),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", ts.as_str()),
        ("RoleArn", DEMO_ROLE_ARN),
        ("RoleSessionName", "test-session"),
        ("DurationSeconds", "900"),
    ] {
        p.insert(k.into(), v.into());
    }
    p.insert(
        "SignatureNonce".into(),
        format!("{:x}", rand::random::<u128>()),
    );
    for (k, v) in extra {
        if v.is_empty() {
            p.remove(*k);
        } else {
            p.insert(k.to_string(), v.to_string());
        }
    }
    let sts = sign::rpc_string_to_sign("POST", &p);
    p.insert("Signature".into(), sign::rpc_signature(secret, &sts));
    let form: Vec<(String, String)> = p.into_iter().collect();
    let r = client()
        .post(run.sts_endpoint() + "/")
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap().to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

pub async fn assume_role(run: &Running, extra: &[(&str, &str)]) -> Creds {
    let (status, v) =
        assume_role_with(run, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, extra).await;
    assert_eq!(status, 200, "{v}");
    let c = &v["Credentials"];
    Creds {
        ak: c["AccessKeyId"].as_str().unwrap().into(),
        secret: c["AccessKeySecret"].as_str().unwrap().into(),
        token: Some(c["SecurityToken"].as_str().unwrap().into()),
    }
}

/// Deterministic test bytes.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}
