//! `POST /callback` and `GET /uploads` in process: callbacks signed like OSS signs them (RSA
//! PKCS#1 v1.5 over MD5) with a test key whose PEM an in-test HTTP server serves at a trusted
//! URL, about objects really stored in a real oss-local, which the server confirms with a
//! HeadObject of its own (through oss-local's STS). Every database test runs on SQLite, and on
//! PostgreSQL when `OSS_DIRECT_TEST_POSTGRES_URL` is set (`scripts/postgres.sh` starts one).

mod common;

use std::sync::Arc;

use app_token_server::{app, AppState, Config};
use axum::body::Body;
use common::*;
use http::{Request, StatusCode};
use oss_direct::{Client, ClientConfig, Credentials, StaticCredentials};
use oss_local::{DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_BUCKET, DEMO_ROLE_ARN};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use tower::ServiceExt;

const PG_ENV: &str = "OSS_DIRECT_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

/// Everything a callback test needs: the test key, its server, oss-local, a config using them.
struct Fixture {
    oss_key: RsaPrivateKey,
    keys: KeyServer,
    cfg: TestConfig,
    oss: oss_local::Running,
    _data: tempfile::TempDir,
}

impl Fixture {
    /// `None` when the database is PostgreSQL and no server is configured.
    async fn new(db: Db, overrides: Value) -> Option<Fixture> {
        let database_url = match db {
            Db::Sqlite => None,
            Db::Postgres => match std::env::var(PG_ENV) {
                Ok(url) if !url.is_empty() => Some(url),
                _ => {
                    println!("skipped: {PG_ENV} is not set (scripts/postgres.sh starts a PostgreSQL and prints it)");
                    return None;
                }
            },
        };
        let data = tempfile::tempdir().unwrap();
        let oss = oss_local::start(oss_local::Options::demo(data.path().to_path_buf()))
            .await
            .unwrap();
        let keys = KeyServer::start(
            std::fs::read_to_string(format!("{FIXTURES}/callback_test_public.pem")).unwrap(),
        )
        .await;
        let mut value = json!({
            "AccessKeyID": DEMO_ACCESS_KEY_ID,
            "AccessKeySecret": DEMO_ACCESS_KEY_SECRET,
            "RoleArn": DEMO_ROLE_ARN,
            "TokenExpireTime": "900",
            "PolicyFile": "policy/bucket_write_policy.txt",
            "StsEndpoint": oss.sts_endpoint(),
            "Bucket": DEMO_BUCKET,
            "ObjectPrefix": "uploads/",
            "Region": oss.region(),
            "OssEndpoint": oss.oss_endpoint(),
            "Auth": jwt_auth(),
            "Callback": {
                "Url": "http://127.0.0.1:7080/callback",
                "TrustedKeyUrls": [keys.key_url()],
            },
            "RateLimit": false,
        });
        if let Some(url) = database_url {
            value["DatabaseUrl"] = json!(url);
        }
        let value = merged(value, overrides);
        Some(Fixture {
            oss_key: private_key("callback_test_private.pem"),
            keys,
            cfg: write_config(&value),
            oss,
            _data: data,
        })
    }

    async fn state(&self) -> AppState {
        let config = Config::load_with_env(&self.cfg.file, &|_| None).expect("config loads");
        AppState::open(config).await.expect("the database opens")
    }

    /// Stores `len` bytes at `key` in oss-local (as an upload would); its ETag.
    async fn put(&self, key: &str, len: usize) -> String {
        let creds = Credentials::new(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET);
        let config = ClientConfig::new(DEMO_BUCKET, self.oss.region())
            .with_endpoint(self.oss.oss_endpoint());
        let client = Client::new(config, Arc::new(StaticCredentials(creds))).unwrap();
        let body: Vec<u8> = (0..len).map(|i| (i * 7 + key.len()) as u8).collect();
        client
            .put_object(key, body.into(), Some("image/jpeg"))
            .await
            .unwrap()
            .etag
            .trim_matches('"')
            .to_string()
    }

    /// A callback signed by "OSS" about `key` with the given ETag and size, carrying `ticket`.
    fn callback(&self, key: &str, etag: &str, size: u64, ticket: &str) -> CallbackRequest<'static> {
        CallbackRequest::signed(
            &self.oss_key,
            &self.keys.key_url(),
            with_ticket(form_body(DEMO_BUCKET, key, etag, size), ticket),
        )
    }
}

/// The ticket the server hands `user` (or anyone, without caller authentication) with a token.
async fn ticket(state: &AppState, user: Option<&str>) -> String {
    let mut r = Request::get("/");
    if let Some(u) = user {
        r = r.header("authorization", format!("Bearer {}", jwt_for(u)));
    }
    let (status, body) = call(state, r.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["Callback"]["callbackVar"]["x:ticket"]
        .as_str()
        .expect("a ticket in the callback hint")
        .to_string()
}

/// The form body as OSS fills the server's template: the default fields and the ticket.
fn with_ticket(body: String, ticket: &str) -> String {
    format!("{body}&ticket={ticket}")
}

/// A unique user name, so runs against one PostgreSQL do not see each other's rows.
fn unique_user(name: &str) -> String {
    format!("{name}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

struct CallbackRequest<'a> {
    path: &'a str,
    body: String,
    content_type: &'a str,
    authorization: Option<String>,
    key_url: Option<String>,
}

impl<'a> CallbackRequest<'a> {
    /// A form callback to `/callback`, signed with `key`, pointing at `key_url`.
    fn signed(key: &RsaPrivateKey, key_url: &str, body: String) -> Self {
        Self {
            path: "/callback",
            authorization: Some(oss_signature(key, "/callback", &body)),
            key_url: Some(b64(key_url)),
            body,
            content_type: "application/x-www-form-urlencoded",
        }
    }
}

async fn send(state: &AppState, req: &CallbackRequest<'_>) -> (StatusCode, Value) {
    let mut r = Request::post(req.path).header("content-type", req.content_type);
    if let Some(a) = &req.authorization {
        r = r.header("authorization", a);
    }
    if let Some(u) = &req.key_url {
        r = r.header("x-oss-pub-key-url", u);
    }
    call(state, r.body(Body::from(req.body.clone())).unwrap()).await
}

async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("JSON expected, got {:?}", String::from_utf8_lossy(&bytes)));
    (status, body)
}

async fn list(state: &AppState, user: Option<&str>, query: &str) -> (StatusCode, Value) {
    let mut r = Request::get(format!("/uploads{query}"));
    if let Some(u) = user {
        r = r.header("authorization", format!("Bearer {}", jwt_for(u)));
    }
    call(state, r.body(Body::empty()).unwrap()).await
}

fn keys_of(list: &Value) -> Vec<String> {
    list["Uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Key"].as_str().unwrap().to_string())
        .collect()
}

/// Runs a scenario on SQLite and on PostgreSQL (skipped without `OSS_DIRECT_TEST_POSTGRES_URL`).
macro_rules! on_both_databases {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(super::Db::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$scenario(super::Db::Postgres).await;
            }
        }
    };
}

on_both_databases!(a_signed_callback_is_recorded_and_listed_newest_first);
async fn a_signed_callback_is_recorded_and_listed_newest_first(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let state = fx.state().await;
    let alice = unique_user("alice");
    let ticket = ticket(&state, Some(&alice)).await;
    let key1 = format!("uploads/users/{alice}/2026/photo 1.jpg");
    let etag1 = fx.put(&key1, 1234).await;
    let (status, body) = send(&state, &fx.callback(&key1, &etag1, 1234, &ticket)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Status"], "OK");
    assert_eq!(body["User"], alice.as_str());
    assert_eq!(body["Bucket"], "demo-bucket");
    assert_eq!(body["Key"], key1.as_str());
    assert_eq!(body["ETag"], etag1.as_str());
    assert_eq!(body["Size"], 1234);
    assert_eq!(body["ContentType"], "image/jpeg");
    assert_eq!(
        (
            &body["ImageWidth"],
            &body["ImageHeight"],
            &body["ImageFormat"]
        ),
        (&json!(640), &json!(480), &json!("jpg"))
    );
    assert!(
        body["UploadedAt"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );

    // A second upload with a JSON body, signed with a query string in the URL.
    let key2 = format!("uploads/users/{alice}/notes.txt");
    let etag2 = fx.put(&key2, 5).await;
    let json_body = json!({"bucket": "demo-bucket", "object": key2, "etag": etag2, "size": 5,
        "mimeType": "text/plain", "imageInfo.height": "", "imageInfo.width": "", "imageInfo.format": "",
        "ticket": ticket})
    .to_string();
    let req2 = CallbackRequest {
        path: "/callback?from=oss",
        authorization: Some(oss_signature(&fx.oss_key, "/callback?from=oss", &json_body)),
        key_url: Some(b64(fx.keys.key_url())),
        body: json_body,
        content_type: "application/json",
    };
    let (status, body) = send(&state, &req2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ImageWidth"], Value::Null);
    assert_eq!(
        fx.keys.fetches(),
        1,
        "the public key is fetched once and cached"
    );

    // Alice sees both, newest first; Bob sees none of them.
    let (status, all) = list(&state, Some(&alice), "").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(keys_of(&all), vec![key2.clone(), key1.clone()]);
    assert_eq!(all["NextAfter"], Value::Null);
    let (_, bobs) = list(&state, Some(&unique_user("bob")), "").await;
    assert_eq!(keys_of(&bobs), Vec::<String>::new());

    // Paged.
    let (_, page1) = list(&state, Some(&alice), "?limit=1").await;
    assert_eq!(keys_of(&page1), vec![key2.clone()]);
    let after = page1["NextAfter"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, page2) = list(&state, Some(&alice), &format!("?limit=1&after={after}")).await;
    assert_eq!(keys_of(&page2), vec![key1.clone()]);
    assert_eq!(page2["NextAfter"], Value::Null);

    // The listing needs the caller's token and sane parameters.
    let (status, body) = list(&state, None, "").await;
    assert_eq!(
        (status, body["ErrorCode"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("MissingBearerToken"))
    );
    for bad in ["?limit=0", "?limit=x", "?limit=1001", "?after=nonsense"] {
        let (status, body) = list(&state, Some(&alice), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["ErrorCode"], "InvalidParameter");
    }
}

on_both_databases!(forged_unknown_or_tampered_callbacks_are_refused_and_not_recorded);
async fn forged_unknown_or_tampered_callbacks_are_refused_and_not_recorded(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let state = fx.state().await;
    let forger = private_key("callback_forger_private.pem");
    // The forger serves its own key, from a host that is not trusted.
    let rogue_keys = KeyServer::start(
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(
            &forger.to_public_key(),
            rsa::pkcs8::LineEnding::LF,
        )
        .unwrap(),
    )
    .await;
    let alice = unique_user("alice");
    let ticket = ticket(&state, Some(&alice)).await;
    let key = format!("uploads/users/{alice}/x.jpg");
    let etag = fx.put(&key, 10).await;
    let body = with_ticket(form_body("demo-bucket", &key, &etag, 10), &ticket);
    let good = fx.callback(&key, &etag, 10, &ticket);
    let signed = |b: String| CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), b);

    let mut cases: Vec<(&str, CallbackRequest, StatusCode, &str)> = Vec::new();
    cases.push((
        "signed with another key",
        CallbackRequest::signed(&forger, &fx.keys.key_url(), body.clone()),
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "key from an untrusted host",
        CallbackRequest::signed(&forger, &rogue_keys.key_url(), body.clone()),
        StatusCode::FORBIDDEN,
        "UntrustedCallbackPublicKeyUrl",
    ));
    for url in [
        format!("{}/-/other-key.pem", fx.keys.base),
        format!("{}?x=1", fx.keys.key_url()),
        format!("{}?", fx.keys.key_url()),
        format!("{}/more", fx.keys.key_url()),
    ] {
        cases.push((
            "a key URL that is not exactly the trusted one",
            CallbackRequest {
                key_url: Some(b64(url)),
                ..signed(body.clone())
            },
            StatusCode::FORBIDDEN,
            "UntrustedCallbackPublicKeyUrl",
        ));
    }
    cases.push((
        "tampered body",
        CallbackRequest {
            body: with_ticket(form_body("demo-bucket", &key, &etag, 999_999), &ticket),
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "tampered path",
        CallbackRequest {
            path: "/callback?user=bob",
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "no authorization",
        CallbackRequest {
            authorization: None,
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "MissingCallbackSignature",
    ));
    cases.push((
        "garbage authorization",
        CallbackRequest {
            authorization: Some("not base64 at all!".into()),
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "base64 garbage authorization",
        CallbackRequest {
            authorization: Some(b64("0123456789")),
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "no public key URL",
        CallbackRequest {
            key_url: None,
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "MissingCallbackPublicKeyUrl",
    ));
    cases.push((
        "public key URL not base64",
        CallbackRequest {
            key_url: Some(fx.keys.key_url()),
            ..signed(body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackPublicKeyUrl",
    ));
    // Correctly signed by "OSS", but not an upload of this app: OSS signs for any bucket.
    cases.push((
        "another bucket",
        signed(with_ticket(
            form_body("someone-elses-bucket", &key, &etag, 10),
            &ticket,
        )),
        StatusCode::FORBIDDEN,
        "CallbackBucketNotAllowed",
    ));
    cases.push((
        "no ticket (a body the uploader wrote without the server's hint)",
        signed(form_body("demo-bucket", &key, &etag, 10)),
        StatusCode::FORBIDDEN,
        "MissingCallbackTicket",
    ));
    cases.push((
        "a made-up ticket",
        signed(with_ticket(
            form_body("demo-bucket", &key, &etag, 10),
            "v1.eyJiIjoiZGVtby1idWNrZXQiLCJwIjoidXBsb2Fkcy8iLCJlIjo5OTk5OTk5OTk5fQ.AAAA",
        )),
        StatusCode::FORBIDDEN,
        "InvalidCallbackTicket",
    ));
    cases.push((
        "the ticket twice",
        signed(format!("{body}&ticket={ticket}")),
        StatusCode::BAD_REQUEST,
        "InvalidCallbackBody",
    ));
    for outside in [
        "elsewhere/x.jpg".to_string(),
        "uploads/x.jpg".to_string(),
        "uploads/users/x.jpg".to_string(),
        format!("uploads/users/{alice}/"),
        format!("uploads/users/{alice}x/y.jpg"),
        "uploads/users/../x.jpg".to_string(),
    ] {
        cases.push((
            "a key outside the ticket's prefix",
            signed(with_ticket(
                form_body("demo-bucket", &outside, &etag, 10),
                &ticket,
            )),
            StatusCode::FORBIDDEN,
            "CallbackKeyOutsidePrefix",
        ));
    }
    cases.push((
        "an object never uploaded",
        fx.callback(
            &format!("uploads/users/{alice}/never.jpg"),
            &etag,
            10,
            &ticket,
        ),
        StatusCode::FORBIDDEN,
        "CallbackObjectNotFound",
    ));
    cases.push((
        "another ETag than the stored one",
        fx.callback(&key, "5EB63BBBE01EEED093CB22BB8F5ACDC3", 10, &ticket),
        StatusCode::FORBIDDEN,
        "CallbackObjectMismatch",
    ));
    cases.push((
        "another size than the stored one",
        fx.callback(&key, &etag, 11, &ticket),
        StatusCode::FORBIDDEN,
        "CallbackObjectMismatch",
    ));
    cases.push((
        "a signed body without an object",
        signed(format!("bucket=demo-bucket&etag=E1&ticket={ticket}")),
        StatusCode::BAD_REQUEST,
        "InvalidCallbackBody",
    ));

    for (what, req, want_status, want_code) in &cases {
        let (status, body) = send(&state, req).await;
        assert_eq!(status, *want_status, "{what}: {body}");
        assert_eq!(body["ErrorCode"], *want_code, "{what}: {body}");
        assert_eq!(body["StatusCode"], want_status.as_u16(), "{what}: {body}");
    }
    assert_eq!(
        rogue_keys.fetches(),
        0,
        "an untrusted key URL is never fetched"
    );
    assert_eq!(
        fx.keys.fetches(),
        1,
        "only the exact trusted URL is fetched"
    );
    let (_, listed) = list(&state, Some(&alice), "").await;
    assert_eq!(
        keys_of(&listed),
        Vec::<String>::new(),
        "nothing was recorded"
    );

    // The genuine callback still goes through afterwards.
    let (status, body) = send(&state, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

on_both_databases!(a_callback_body_naming_another_users_object_records_nothing_for_them);
/// The attack of issue 11: Alice uploads under her own prefix, but writes a callback body that
/// names Bob's key (OSS passes literal text through unchanged, and signs it).
async fn a_callback_body_naming_another_users_object_records_nothing_for_them(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let state = fx.state().await;
    let (alice, bob) = (unique_user("alice"), unique_user("bob"));
    let alice_ticket = ticket(&state, Some(&alice)).await;
    // Bob's real photo, and Alice's own upload whose callback claims it.
    let bobs_key = format!("uploads/users/{bob}/x.jpg");
    let bobs_etag = fx.put(&bobs_key, 10).await;
    let alices_key = format!("uploads/users/{alice}/mine.jpg");
    fx.put(&alices_key, 10).await;
    let forged = fx.callback(&bobs_key, &bobs_etag, 10, &alice_ticket);
    let (status, body) = send(&state, &forged).await;
    assert_eq!(
        (status, body["ErrorCode"].as_str()),
        (StatusCode::FORBIDDEN, Some("CallbackKeyOutsidePrefix")),
        "{body}"
    );
    // Nothing in Bob's list, nothing in Alice's, and Bob's genuine callback is recorded for him.
    assert!(keys_of(&list(&state, Some(&bob), "").await.1).is_empty());
    assert!(keys_of(&list(&state, Some(&alice), "").await.1).is_empty());
    let bob_ticket = ticket(&state, Some(&bob)).await;
    let (status, body) = send(&state, &fx.callback(&bobs_key, &bobs_etag, 10, &bob_ticket)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["User"], bob.as_str());
}

on_both_databases!(a_reupload_or_a_replay_answers_ok_and_keeps_one_record);
async fn a_reupload_or_a_replay_answers_ok_and_keeps_one_record(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let state = fx.state().await;
    let alice = unique_user("alice");
    let ticket = ticket(&state, Some(&alice)).await;
    let key = format!("uploads/users/{alice}/x.jpg");
    let etag1 = fx.put(&key, 10).await;
    let req = fx.callback(&key, &etag1, 10, &ticket);
    let (status, first) = send(&state, &req).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The same callback again (a replay), and the same bytes uploaded again (a re-upload: the
    // same ETag): both answered 200 with the one record.
    let (status, replay) = send(&state, &req).await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(replay["Id"], first["Id"]);
    assert_eq!(fx.put(&key, 10).await, etag1);
    let (status, again) = send(&state, &fx.callback(&key, &etag1, 10, &ticket)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["Id"], first["Id"]);
    // A new version of the object (another ETag) is a new upload.
    let etag2 = fx.put(&key, 11).await;
    assert_ne!(etag1, etag2);
    let (status, _) = send(&state, &fx.callback(&key, &etag2, 11, &ticket)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = list(&state, Some(&alice), "").await;
    assert_eq!(keys_of(&listed), vec![key.clone(), key.clone()]);
    let etags: Vec<&str> = listed["Uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["ETag"].as_str().unwrap())
        .collect();
    assert_eq!(etags, vec![etag2.as_str(), etag1.as_str()]);
}

on_both_databases!(records_survive_a_restart);
async fn records_survive_a_restart(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let alice = unique_user("alice");
    let key = format!("uploads/users/{alice}/kept.jpg");
    let etag = fx.put(&key, 10).await;
    {
        let state = fx.state().await;
        let t = ticket(&state, Some(&alice)).await;
        assert_eq!(
            send(&state, &fx.callback(&key, &etag, 10, &t)).await.0,
            StatusCode::OK
        );
    }
    let restarted = fx.state().await;
    let (_, listed) = list(&restarted, Some(&alice), "").await;
    assert_eq!(keys_of(&listed), vec![key]);
    assert_eq!(listed["Uploads"][0]["Size"], 10);
}

#[tokio::test]
async fn the_default_sqlite_file_is_beside_the_config() {
    let fx = Fixture::new(Db::Sqlite, json!({})).await.unwrap();
    let state = fx.state().await;
    let t = ticket(&state, Some("alice")).await;
    let etag = fx.put("uploads/users/alice/a.jpg", 1).await;
    let req = fx.callback("uploads/users/alice/a.jpg", &etag, 1, &t);
    assert_eq!(send(&state, &req).await.0, StatusCode::OK);
    assert!(fx.cfg.dir.path().join("uploads.db").is_file());
}

#[tokio::test]
async fn without_auth_uploads_have_no_user_and_the_list_shows_all() {
    let fx = Fixture::new(Db::Sqlite, json!({"Auth": null}))
        .await
        .unwrap();
    let state = fx.state().await;
    let t = ticket(&state, None).await;
    for key in ["uploads/a.jpg", "uploads/users/mallory/b.jpg"] {
        let etag = fx.put(key, 1).await;
        let req = CallbackRequest::signed(
            &fx.oss_key,
            &fx.keys.key_url(),
            // A client-chosen variable naming a user is ignored.
            format!(
                "{}&x:user=bob",
                with_ticket(form_body("demo-bucket", key, &etag, 1), &t)
            ),
        );
        let (status, body) = send(&state, &req).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["User"], Value::Null);
    }
    let etag = fx.put("other/x.jpg", 1).await;
    let outside = fx.callback("other/x.jpg", &etag, 1, &t);
    assert_eq!(
        send(&state, &outside).await.1["ErrorCode"],
        "CallbackKeyOutsidePrefix"
    );
    let (status, listed) = list(&state, None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys_of(&listed),
        vec!["uploads/users/mallory/b.jpg", "uploads/a.jpg"]
    );
}

#[tokio::test]
async fn the_token_carries_the_callback_hint_with_the_callers_ticket() {
    let fx = Fixture::new(
        Db::Sqlite,
        json!({"Callback": {
            "Url": ["https://app.example.com/callback", "http://10.0.0.2:7080/callback"],
            "BodyType": "application/json",
        }}),
    )
    .await
    .unwrap();
    let state = fx.state().await;
    let req = Request::get("/")
        .header("authorization", format!("Bearer {}", jwt_for("alice")))
        .body(Body::empty())
        .unwrap();
    let (status, body) = call(&state, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hint = &body["Callback"];
    assert_eq!(
        hint["callbackUrl"],
        "https://app.example.com/callback;http://10.0.0.2:7080/callback"
    );
    assert_eq!(hint["callbackBodyType"], "application/json");
    let default = app_token_server::callback::DEFAULT_JSON_BODY;
    assert_eq!(
        hint["callbackBody"],
        format!(
            "{},\"ticket\":${{x:ticket}}}}",
            &default[..default.len() - 1]
        )
    );
    // The ticket binds Alice, her prefix and the bucket; the library sends it as a variable.
    let t = hint["callbackVar"]["x:ticket"].as_str().unwrap();
    let key = app_token_server::ticket::TicketKey::derive(DEMO_ACCESS_KEY_SECRET);
    let claims = key.verify(t, 0).unwrap();
    assert_eq!(claims.user.as_deref(), Some("alice"));
    assert_eq!(claims.prefix, "uploads/users/alice/");
    assert_eq!(claims.bucket, DEMO_BUCKET);
    let cb = oss_direct::Callback::from_hint(hint).unwrap();
    assert_eq!(cb.vars.get("x:ticket").map(String::as_str), Some(t));
    assert_eq!(body["ObjectPrefix"], "uploads/users/alice/");
}

#[tokio::test]
async fn without_callback_config_there_is_no_hint_and_no_routes() {
    let sts = FakeSts::start().await;
    let cfg = write_config(&base_config(&sts.endpoint()));
    let state = AppState::new(Config::load_with_env(&cfg.file, &|_| None).unwrap());
    let (status, body) = call(&state, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("Callback").is_none(), "{body}");
    let (status, body) = call(
        &state,
        Request::post("/callback").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["ErrorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("CallbackNotConfigured"))
    );
    let (status, body) = call(
        &state,
        Request::get("/uploads").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["ErrorCode"].as_str()),
        (StatusCode::NOT_FOUND, Some("UploadsNotConfigured"))
    );
    let (status, body) = call(
        &state,
        Request::get("/callback").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert!(
        body["ErrorMessage"].as_str().unwrap().ends_with("use POST"),
        "{body}"
    );
}

#[tokio::test]
async fn a_key_that_cannot_be_fetched_is_a_502_and_nothing_is_recorded() {
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}{KEY_PATH}");
    let fx = Fixture::new(
        Db::Sqlite,
        json!({"Auth": null, "Callback": {
            "Url": "http://127.0.0.1:7080/callback",
            "TrustedKeyUrls": [url],
        }}),
    )
    .await
    .unwrap();
    let state = fx.state().await;
    let t = ticket(&state, None).await;
    let etag = fx.put("uploads/a.jpg", 1).await;
    let req = CallbackRequest::signed(
        &fx.oss_key,
        &url,
        with_ticket(form_body("demo-bucket", "uploads/a.jpg", &etag, 1), &t),
    );
    let (status, body) = send(&state, &req).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["ErrorCode"], "CallbackPublicKeyUnavailable");
    let (_, listed) = list(&state, None, "").await;
    assert_eq!(keys_of(&listed), Vec::<String>::new());
}

/// Sends a callback about a fresh object, signed with `signer`; its status.
async fn send_about_new_object(
    fx: &Fixture,
    state: &AppState,
    signer: &RsaPrivateKey,
    name: &str,
) -> StatusCode {
    let t = ticket(state, None).await;
    let key = format!("uploads/{name}");
    let etag = fx.put(&key, 1).await;
    let body = with_ticket(form_body("demo-bucket", &key, &etag, 1), &t);
    send(
        state,
        &CallbackRequest::signed(signer, &fx.keys.key_url(), body),
    )
    .await
    .0
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_again_once_the_cached_one_is_a_few_seconds_old() {
    let fx = Fixture::new(Db::Sqlite, json!({"Auth": null}))
        .await
        .unwrap();
    let state = fx.state().await;
    assert_eq!(
        send_about_new_object(&fx, &state, &fx.oss_key, "1").await,
        StatusCode::OK
    );
    assert_eq!(fx.keys.fetches(), 1);

    // The signer restarts with a new key (as oss-local may).
    let new_key = private_key("callback_forger_private.pem");
    fx.keys.set_pem(
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(
            &new_key.to_public_key(),
            rsa::pkcs8::LineEnding::LF,
        )
        .unwrap(),
    );
    // A fresh cached key is trusted: no refetch on every bad signature.
    assert_eq!(
        send_about_new_object(&fx, &state, &new_key, "2").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(fx.keys.fetches(), 1);
    // Once it is older than the refresh age, a failing signature fetches the key once more.
    tokio::time::sleep(
        app_token_server::callback::KEY_REFRESH_AFTER + std::time::Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        send_about_new_object(&fx, &state, &new_key, "3").await,
        StatusCode::OK
    );
    assert_eq!(fx.keys.fetches(), 2);
    // The old key's signatures now fail.
    assert_eq!(
        send_about_new_object(&fx, &state, &fx.oss_key, "4").await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_failed_refetch_never_replaces_a_good_key() {
    let fx = Fixture::new(Db::Sqlite, json!({"Auth": null}))
        .await
        .unwrap();
    let state = fx.state().await;
    let forger = private_key("callback_forger_private.pem");
    assert_eq!(
        send_about_new_object(&fx, &state, &fx.oss_key, "1").await,
        StatusCode::OK
    );
    // The key URL starts answering junk; a forged signature, once the key is a few seconds
    // old, makes the server fetch it again, and that fetch fails.
    fx.keys.set_pem("not a key".into());
    tokio::time::sleep(
        app_token_server::callback::KEY_REFRESH_AFTER + std::time::Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        send_about_new_object(&fx, &state, &forger, "2").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(fx.keys.fetches(), 2, "the refetch was tried");
    // Genuine callbacks still verify with the key that worked.
    assert_eq!(
        send_about_new_object(&fx, &state, &fx.oss_key, "3").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_hanging_key_url_does_not_hold_up_the_others() {
    // One trusted key URL whose server accepts connections and never answers.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_url = format!("http://{}{KEY_PATH}", hanging.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = hanging.accept().await {
            held.push(conn);
        }
    });
    let fx = Fixture::new(Db::Sqlite, json!({"Auth": null}))
        .await
        .unwrap();
    let cfg = merged(
        serde_json::from_str(&std::fs::read_to_string(&fx.cfg.file).unwrap()).unwrap(),
        json!({"Callback": {"Url": "http://127.0.0.1:7080/callback",
            "TrustedKeyUrls": [fx.keys.key_url(), hanging_url]}}),
    );
    std::fs::write(&fx.cfg.file, cfg.to_string()).unwrap();
    let state = fx.state().await;
    let t = ticket(&state, None).await;
    let etag = fx.put("uploads/h.jpg", 1).await;
    let stuck_req = CallbackRequest::signed(
        &fx.oss_key,
        &hanging_url,
        with_ticket(form_body("demo-bucket", "uploads/h.jpg", &etag, 1), &t),
    );
    let stuck_state = state.clone();
    let stuck = tokio::spawn(async move { send(&stuck_state, &stuck_req).await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // While that fetch hangs, a callback with the other key goes through.
    assert_eq!(
        send_about_new_object(&fx, &state, &fx.oss_key, "g").await,
        StatusCode::OK
    );
    assert!(!stuck.is_finished(), "the hanging fetch is still waiting");
    let (status, body) = stuck.await.unwrap();
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
}

#[tokio::test]
async fn a_peer_sending_refused_callbacks_is_throttled_before_any_work() {
    let fx = Fixture::new(
        Db::Sqlite,
        json!({"Auth": null, "RateLimit": {"RequestsPerMinute": 1, "Burst": 3}}),
    )
    .await
    .unwrap();
    let state = fx.state().await;
    let forger = private_key("callback_forger_private.pem");
    let t = ticket(&state, None).await;
    let etag = fx.put("uploads/x.jpg", 1).await;
    let body = with_ticket(form_body("demo-bucket", "uploads/x.jpg", &etag, 1), &t);
    for i in 0..4 {
        let forged = CallbackRequest::signed(&forger, &fx.keys.key_url(), body.clone());
        let (status, answer) = send(&state, &forged).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "refusal {i}: {answer}");
    }
    let fetches = fx.keys.fetches();
    // Over its quota of refusals, the peer is turned away, even with a good callback...
    let (status, answer) = send(&state, &fx.callback("uploads/x.jpg", &etag, 1, &t)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(fx.keys.fetches(), fetches, "and no key is fetched for it");
}
