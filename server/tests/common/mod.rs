//! Test helpers: a stand-in STS on loopback that checks the RPC signature like the real one, and
//! config files in temp folders.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http::StatusCode;
use oss_direct_wire::sign::{rpc_signature, rpc_string_to_sign};
use serde_json::{json, Value};

/// The RAM user the stand-in STS knows.
pub const STS_KEY_ID: &str = "LTAItestKeyId";
/// Its secret.
pub const STS_KEY_SECRET: &str = "TestKeySecret-0123456789";
/// The role it lets that user assume.
pub const ROLE_ARN: &str = "acs:ram::1000000000000000:role/oss-direct-test";
/// A JWT HS256 secret for auth tests.
pub const JWT_SECRET: &str = "jwt-test-secret-0123456789abcdef0123";

/// What the stand-in STS does with the next calls.
#[derive(Debug, Clone)]
pub enum StsMode {
    /// Issue credentials living `DurationSeconds`.
    Issue,
    /// Answer an error document.
    Fail {
        status: u16,
        code: String,
        message: String,
    },
    /// Never answer.
    Hang,
}

/// A running stand-in STS.
#[derive(Clone)]
pub struct FakeSts {
    pub addr: SocketAddr,
    pub calls: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
    pub issued: Arc<Mutex<Vec<Value>>>,
    mode: Arc<Mutex<StsMode>>,
}

impl FakeSts {
    pub async fn start() -> FakeSts {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sts = FakeSts {
            addr: listener.local_addr().unwrap(),
            calls: Arc::default(),
            requests: Arc::default(),
            issued: Arc::default(),
            mode: Arc::new(Mutex::new(StsMode::Issue)),
        };
        let app = Router::new()
            .route("/", post(assume_role))
            .with_state(sts.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        sts
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: StsMode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn last_request(&self) -> BTreeMap<String, String> {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("STS was called")
    }

    /// Every secret and token this STS has handed out.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap()
            .iter()
            .flat_map(|c| {
                [
                    c["AccessKeySecret"].as_str().unwrap().to_string(),
                    c["SecurityToken"].as_str().unwrap().to_string(),
                ]
            })
            .collect()
    }
}

fn sts_error(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"RequestId": "FAKE-REQUEST-ID", "HostId": "sts.aliyuncs.com", "Code": code, "Message": message})),
    )
        .into_response()
}

async fn assume_role(State(sts): State<FakeSts>, body: String) -> Response {
    let n = sts.calls.fetch_add(1, Ordering::SeqCst);
    let mut params: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    sts.requests.lock().unwrap().push(params.clone());
    let mode = sts.mode.lock().unwrap().clone();
    match mode {
        StsMode::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        StsMode::Fail {
            status,
            code,
            message,
        } => return sts_error(status, &code, &message),
        StsMode::Issue => {}
    }
    let signature = params.remove("Signature").unwrap_or_default();
    if params.get("AccessKeyId").map(String::as_str) != Some(STS_KEY_ID) {
        return sts_error(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    let string_to_sign = rpc_string_to_sign("POST", &params);
    if rpc_signature(STS_KEY_SECRET, &string_to_sign) != signature {
        return sts_error(
            400,
            "SignatureDoesNotMatch",
            &format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
        );
    }
    if params.get("RoleArn").map(String::as_str) != Some(ROLE_ARN) {
        return sts_error(404, "EntityNotExist.Role", "The role not exists.");
    }
    let seconds: i64 = params["DurationSeconds"].parse().unwrap();
    let expiration = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    let creds = json!({
        "AccessKeyId": format!("STS.fake{n}"),
        "AccessKeySecret": format!("TmpSecret{n}{:016x}", rand::random::<u64>()),
        "SecurityToken": format!("CAIS{n}{:032x}", rand::random::<u128>()),
        "Expiration": app_token_server::sts_timestamp(expiration),
    });
    sts.issued.lock().unwrap().push(creds.clone());
    Json(json!({
        "RequestId": format!("REQ-{n}"),
        "AssumedRoleUser": {"Arn": "acs:ram::1000000000000000:role/oss-direct-test/s", "AssumedRoleId": "1:s"},
        "Credentials": creds,
    }))
    .into_response()
}

/// A temp folder with `policy/` (a copy of the repo's) and `config.json` made from `base` plus
/// `overrides` (a `null` override removes the key).
pub struct TestConfig {
    pub dir: tempfile::TempDir,
    pub file: PathBuf,
}

pub fn base_config(sts_endpoint: &str) -> Value {
    json!({
        "AccessKeyID": STS_KEY_ID,
        "AccessKeySecret": STS_KEY_SECRET,
        "RoleArn": ROLE_ARN,
        "TokenExpireTime": "900",
        "PolicyFile": "policy/bucket_write_policy.txt",
        "StsEndpoint": sts_endpoint,
        "StsTimeoutSeconds": 10,
        "Bucket": "demo-bucket",
        "ObjectPrefix": "uploads/",
        "Region": "cn-hangzhou",
        "OssEndpoint": "https://oss-cn-hangzhou.aliyuncs.com",
    })
}

pub fn write_config(value: &Value) -> TestConfig {
    let dir = tempfile::tempdir().unwrap();
    let policy_src = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy"));
    std::fs::create_dir(dir.path().join("policy")).unwrap();
    for entry in std::fs::read_dir(policy_src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("policy").join(entry.file_name()),
        )
        .unwrap();
    }
    let file = dir.path().join("config.json");
    std::fs::write(&file, serde_json::to_string_pretty(value).unwrap()).unwrap();
    TestConfig { dir, file }
}

/// `base` with `overrides` merged in (null removes a key).
pub fn merged(mut base: Value, overrides: Value) -> Value {
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// An HS256 JWT for `sub`, valid for an hour.
pub fn jwt_for(sub: &str) -> String {
    let claims = json!({"sub": sub, "exp": jsonwebtoken::get_current_timestamp() + 3600, "iss": "test-login", "aud": "oss-direct"});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// The auth settings matching [`jwt_for`].
pub fn jwt_auth() -> Value {
    json!({"Jwt": {"Hs256Secret": JWT_SECRET, "Issuer": "test-login", "Audience": "oss-direct"}})
}

/// A loopback port nobody listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// --- Upload callbacks, signed as OSS signs them -------------------------------------------------

use axum::routing::get;
use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use rsa::RsaPrivateKey;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
pub const KEY_PATH: &str = "/-/callback-public-key.pem";

pub fn private_key(name: &str) -> RsaPrivateKey {
    let pem = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    RsaPrivateKey::from_pkcs8_pem(&pem).unwrap()
}

pub fn b64(data: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// An HTTP server serving a PEM public key at `/-/callback-public-key.pem`, counting fetches.
pub struct KeyServer {
    pub base: String,
    pub fetches: Arc<AtomicUsize>,
    pem: Arc<Mutex<String>>,
}

impl KeyServer {
    pub async fn start(pem: String) -> KeyServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let pem = Arc::new(Mutex::new(pem));
        let (f, p) = (fetches.clone(), pem.clone());
        let router = Router::new().route(
            KEY_PATH,
            get(move || {
                f.fetch_add(1, Ordering::SeqCst);
                let pem = p.lock().unwrap().clone();
                async move { pem }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        KeyServer { base, fetches, pem }
    }

    /// Serves another key from now on (the signer got a new one).
    pub fn set_pem(&self, pem: String) {
        *self.pem.lock().unwrap() = pem;
    }

    pub fn key_url(&self) -> String {
        format!("{}{KEY_PATH}", self.base)
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// The signing side of OSS: `authorization` for a callback to `path_and_query` with `body`.
pub fn oss_signature(key: &RsaPrivateKey, path_and_query: &str, body: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let message = oss_direct_wire::callback::string_to_sign(path, query, body.as_bytes());
    b64(oss_direct_wire::callback::signature::sign(key, &message).unwrap())
}

/// A form callback body as OSS fills the default template.
pub fn form_body(bucket: &str, key: &str, etag: &str, size: u64) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "bucket={}&object={}&etag={}&size={size}&mimeType=image%2Fjpeg&imageInfo.height=480&imageInfo.width=640&imageInfo.format=jpg",
        enc(bucket),
        enc(key),
        enc(etag)
    )
}
