//! `POST /callback` and `GET /uploads` in process: callbacks signed like OSS signs them (RSA
//! PKCS#1 v1.5 over MD5) with a test key whose PEM an in-test HTTP server serves under a trusted
//! prefix. Every database test runs on SQLite, and on PostgreSQL when
//! `OSS_DIRECT_TEST_POSTGRES_URL` is set (`scripts/postgres.sh` starts one).

mod common;

use app_token_server::{app, AppState, Config};
use axum::body::Body;
use common::*;
use http::{Request, StatusCode};
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

/// Everything a callback test needs: the test key, its server, a config using them.
struct Fixture {
    oss_key: RsaPrivateKey,
    keys: KeyServer,
    cfg: TestConfig,
    _sts: FakeSts,
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
        let sts = FakeSts::start().await;
        let keys = KeyServer::start(
            std::fs::read_to_string(format!("{FIXTURES}/callback_test_public.pem")).unwrap(),
        )
        .await;
        let mut value = merged(
            base_config(&sts.endpoint()),
            json!({
                "Auth": jwt_auth(),
                "Callback": {
                    "Url": "http://127.0.0.1:7080/callback",
                    "TrustedKeyUrlPrefixes": [format!("{}/-/", keys.base)],
                },
                "RateLimit": false,
            }),
        );
        if let Some(url) = database_url {
            value["DatabaseUrl"] = json!(url);
        }
        let value = merged(value, overrides);
        Some(Fixture {
            oss_key: private_key("callback_test_private.pem"),
            keys,
            cfg: write_config(&value),
            _sts: sts,
        })
    }

    async fn state(&self) -> AppState {
        let config = Config::load_with_env(&self.cfg.file, &|_| None).expect("config loads");
        AppState::open(config).await.expect("the database opens")
    }
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
    let key1 = format!("uploads/users/{alice}/2026/photo 1.jpg");
    let req = CallbackRequest::signed(
        &fx.oss_key,
        &fx.keys.key_url(),
        form_body(
            "demo-bucket",
            &key1,
            "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"",
            1234,
        ),
    );
    let (status, body) = send(&state, &req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Status"], "OK");
    assert_eq!(body["User"], alice.as_str());
    assert_eq!(body["Bucket"], "demo-bucket");
    assert_eq!(body["Key"], key1.as_str());
    assert_eq!(body["ETag"], "5EB63BBBE01EEED093CB22BB8F5ACDC3");
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
    let json_body = json!({"bucket": "demo-bucket", "object": key2, "etag": "ABCDEF", "size": 5,
        "mimeType": "text/plain", "imageInfo.height": "", "imageInfo.width": "", "imageInfo.format": ""})
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
    let key = format!("uploads/users/{alice}/x.jpg");
    let body = form_body("demo-bucket", &key, "E1", 10);
    let good = CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone());

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
    cases.push((
        "key from the trusted host but outside the trusted path",
        CallbackRequest {
            key_url: Some(b64(format!("{}/other/key.pem", fx.keys.base))),
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "UntrustedCallbackPublicKeyUrl",
    ));
    cases.push((
        "tampered body",
        CallbackRequest {
            body: form_body("demo-bucket", &key, "E1", 999_999),
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "tampered path",
        CallbackRequest {
            path: "/callback?user=bob",
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "no authorization",
        CallbackRequest {
            authorization: None,
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "MissingCallbackSignature",
    ));
    cases.push((
        "garbage authorization",
        CallbackRequest {
            authorization: Some("not base64 at all!".into()),
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "base64 garbage authorization",
        CallbackRequest {
            authorization: Some(b64("0123456789")),
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackSignature",
    ));
    cases.push((
        "no public key URL",
        CallbackRequest {
            key_url: None,
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "MissingCallbackPublicKeyUrl",
    ));
    cases.push((
        "public key URL not base64",
        CallbackRequest {
            key_url: Some(fx.keys.key_url()),
            ..CallbackRequest::signed(&fx.oss_key, &fx.keys.key_url(), body.clone())
        },
        StatusCode::FORBIDDEN,
        "InvalidCallbackPublicKeyUrl",
    ));
    // Correctly signed by "OSS", but not an upload of this app: OSS signs for any bucket.
    cases.push((
        "another bucket",
        CallbackRequest::signed(
            &fx.oss_key,
            &fx.keys.key_url(),
            form_body("someone-elses-bucket", &key, "E1", 10),
        ),
        StatusCode::FORBIDDEN,
        "CallbackBucketNotAllowed",
    ));
    for outside in [
        "elsewhere/x.jpg".to_string(),
        "uploads/x.jpg".to_string(),
        "uploads/users/x.jpg".to_string(),
        format!("uploads/users/{alice}/"),
        "uploads/users/../x.jpg".to_string(),
    ] {
        cases.push((
            "a key outside the per-user prefixes",
            CallbackRequest::signed(
                &fx.oss_key,
                &fx.keys.key_url(),
                form_body("demo-bucket", &outside, "E1", 10),
            ),
            StatusCode::FORBIDDEN,
            "CallbackKeyOutsidePrefix",
        ));
    }
    cases.push((
        "a signed body without an object",
        CallbackRequest::signed(
            &fx.oss_key,
            &fx.keys.key_url(),
            "bucket=demo-bucket&etag=E1".into(),
        ),
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

on_both_databases!(a_replayed_callback_is_refused_and_recorded_once);
async fn a_replayed_callback_is_refused_and_recorded_once(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let state = fx.state().await;
    let alice = unique_user("alice");
    let key = format!("uploads/users/{alice}/x.jpg");
    let req = CallbackRequest::signed(
        &fx.oss_key,
        &fx.keys.key_url(),
        form_body("demo-bucket", &key, "E1", 10),
    );
    let (status, _) = send(&state, &req).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(&state, &req).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["ErrorCode"], "CallbackReplayed");
    // A new version of the object (another ETag) is a new upload.
    let req = CallbackRequest::signed(
        &fx.oss_key,
        &fx.keys.key_url(),
        form_body("demo-bucket", &key, "E2", 11),
    );
    let (status, _) = send(&state, &req).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = list(&state, Some(&alice), "").await;
    assert_eq!(keys_of(&listed), vec![key.clone(), key.clone()]);
    let etags: Vec<&str> = listed["Uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["ETag"].as_str().unwrap())
        .collect();
    assert_eq!(etags, vec!["E2", "E1"]);
}

on_both_databases!(records_survive_a_restart);
async fn records_survive_a_restart(db: Db) {
    let Some(fx) = Fixture::new(db, json!({})).await else {
        return;
    };
    let alice = unique_user("alice");
    let key = format!("uploads/users/{alice}/kept.jpg");
    {
        let state = fx.state().await;
        let req = CallbackRequest::signed(
            &fx.oss_key,
            &fx.keys.key_url(),
            form_body("demo-bucket", &key, "E1", 10),
        );
        assert_eq!(send(&state, &req).await.0, StatusCode::OK);
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
    let req = CallbackRequest::signed(
        &fx.oss_key,
        &fx.keys.key_url(),
        form_body("demo-bucket", "uploads/users/alice/a.jpg", "E1", 1),
    );
    assert_eq!(send(&state, &req).await.0, StatusCode::OK);
    assert!(fx.cfg.dir.path().join("uploads.db").is_file());
}

#[tokio::test]
async fn without_auth_uploads_have_no_user_and_the_list_shows_all() {
    let fx = Fixture::new(Db::Sqlite, json!({"Auth": null}))
        .await
        .unwrap();
    let state = fx.state().await;
    for (i, key) in ["uploads/a.jpg", "uploads/users/mallory/b.jpg"]
        .iter()
        .enumerate()
    {
        let req = CallbackRequest::signed(
            &fx.oss_key,
            &fx.keys.key_url(),
            // A client-chosen variable naming a user is ignored.
            format!(
                "{}&x:user=bob",
                form_body("demo-bucket", key, &format!("E{i}"), 1)
            ),
        );
        let (status, body) = send(&state, &req).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["User"], Value::Null);
    }
    let outside = CallbackRequest::signed(
        &fx.oss_key,
        &fx.keys.key_url(),
        form_body("demo-bucket", "other/x.jpg", "E9", 1),
    );
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
async fn the_token_carries_the_callback_hint() {
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
    assert_eq!(
        body["Callback"],
        json!({
            "callbackUrl": "https://app.example.com/callback;http://10.0.0.2:7080/callback",
            "callbackBody": app_token_server::callback::DEFAULT_JSON_BODY,
            "callbackBodyType": "application/json",
        })
    );
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
    let fx = Fixture::new(
        Db::Sqlite,
        json!({"Auth": null, "Callback": {
            "Url": "http://127.0.0.1:7080/callback",
            "TrustedKeyUrlPrefixes": [format!("http://127.0.0.1:{port}/-/")],
        }}),
    )
    .await
    .unwrap();
    let state = fx.state().await;
    let req = CallbackRequest::signed(
        &fx.oss_key,
        &format!("http://127.0.0.1:{port}{KEY_PATH}"),
        form_body("demo-bucket", "uploads/a.jpg", "E1", 1),
    );
    let (status, body) = send(&state, &req).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["ErrorCode"], "CallbackPublicKeyUnavailable");
    let (_, listed) = list(&state, None, "").await;
    assert_eq!(keys_of(&listed), Vec::<String>::new());
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_again_once_the_cached_one_is_a_few_seconds_old() {
    let fx = Fixture::new(Db::Sqlite, json!({"Auth": null}))
        .await
        .unwrap();
    let state = fx.state().await;
    let send_signed = |key: &RsaPrivateKey, etag: &str| {
        CallbackRequest::signed(
            key,
            &fx.keys.key_url(),
            form_body("demo-bucket", "uploads/a.jpg", etag, 1),
        )
    };
    assert_eq!(
        send(&state, &send_signed(&fx.oss_key, "E1")).await.0,
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
    let (status, _) = send(&state, &send_signed(&new_key, "E2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(fx.keys.fetches(), 1);
    // Once it is older than the refresh age, a failing signature fetches the key once more.
    tokio::time::sleep(
        app_token_server::callback::KEY_REFRESH_AFTER + std::time::Duration::from_millis(200),
    )
    .await;
    let (status, body) = send(&state, &send_signed(&new_key, "E2")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(fx.keys.fetches(), 2);
    // The old key's signatures now fail.
    let (status, _) = send(&state, &send_signed(&fx.oss_key, "E3")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
