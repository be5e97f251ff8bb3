//! Against `oss-local`'s STS and OSS over HTTP: the token server's credentials work under the
//! prefix and nowhere else, per user and per scope; STS errors and outages give the documented JSON.

mod common;

use app_token_server::{app, AppState, Config};
use axum::body::Body;
use common::{jwt_auth, jwt_for, merged, write_config, TestConfig};
use http::{HeaderMap, Request, StatusCode};
use oss_direct_wire::sign::{sign_v1, SigningCredentials};
use oss_local::{DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_BUCKET, DEMO_ROLE_ARN};
use serde_json::{json, Value};
use tower::ServiceExt;

struct Local {
    running: oss_local::Running,
    _data: tempfile::TempDir,
}

async fn oss_local() -> Local {
    oss_local_with(|_| {}).await
}

async fn oss_local_with(change: impl FnOnce(&mut oss_local::Options)) -> Local {
    let data = tempfile::tempdir().unwrap();
    let mut opts = oss_local::Options::demo(data.path().to_path_buf());
    change(&mut opts);
    let running = oss_local::start(opts).await.unwrap();
    Local {
        running,
        _data: data,
    }
}

fn demo_config(local: &Local, overrides: Value) -> Value {
    merged(
        json!({
            "AccessKeyID": DEMO_ACCESS_KEY_ID,
            "AccessKeySecret": DEMO_ACCESS_KEY_SECRET,
            "RoleArn": DEMO_ROLE_ARN,
            "TokenExpireTime": 900,
            "PolicyFile": "policy/bucket_write_policy.txt",
            "StsEndpoint": local.running.sts_endpoint(),
            "StsTimeoutSeconds": 5,
            "Bucket": DEMO_BUCKET,
            "ObjectPrefix": "uploads/",
            "Region": local.running.region(),
            "OssEndpoint": local.running.oss_endpoint(),
            "Scopes": ["read", "write", "read-write"],
        }),
        overrides,
    )
}

fn make_state(value: &Value) -> (AppState, TestConfig) {
    let cfg = write_config(value);
    let config = Config::load_with_env(&cfg.file, &|_| None).expect("config loads");
    (AppState::new(config), cfg)
}

async fn token(state: &AppState, query: &str, bearer: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(format!("/{query}"));
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let response = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A V1-signed request to oss-local with the token's credentials; returns status and body.
async fn oss(local: &Local, token: &Value, method: &str, key: &str, body: &[u8]) -> (u16, String) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/octet-stream".parse().unwrap());
    let creds = SigningCredentials {
        access_key_id: token["AccessKeyId"].as_str().unwrap(),
        access_key_secret: token["AccessKeySecret"].as_str().unwrap(),
        security_token: token["SecurityToken"].as_str(),
    };
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    sign_v1(
        method,
        Some(DEMO_BUCKET),
        Some(key),
        &[],
        &mut headers,
        creds,
        &date,
    );
    let url = format!("{}/{DEMO_BUCKET}/{key}", local.running.oss_endpoint());
    let r = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .headers(headers)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn assert_access_denied((status, body): (u16, String)) {
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
}

#[tokio::test]
async fn a_write_token_uploads_under_the_prefix_only() {
    let local = oss_local().await;
    let (state, _cfg) = make_state(&demo_config(&local, json!({})));
    let (status, t) = token(&state, "", None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert!(t["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert_eq!(t["Endpoint"], local.running.oss_endpoint());

    assert_eq!(
        oss(&local, &t, "PUT", "uploads/a.jpg", b"jpeg").await.0,
        200
    );
    assert_access_denied(oss(&local, &t, "PUT", "elsewhere/a.jpg", b"jpeg").await);
    assert_access_denied(oss(&local, &t, "PUT", "uploadsX/a.jpg", b"jpeg").await);
    // Write scope: no reading back, even under the prefix.
    assert_access_denied(oss(&local, &t, "GET", "uploads/a.jpg", b"").await);
}

#[tokio::test]
async fn a_read_token_cannot_write_and_read_write_can_do_both() {
    let local = oss_local().await;
    let (state, _cfg) = make_state(&demo_config(&local, json!({})));
    let (_, rw) = token(&state, "?scope=read-write", None).await;
    assert_eq!(
        oss(&local, &rw, "PUT", "uploads/r.txt", b"hello").await.0,
        200
    );
    assert_eq!(
        oss(&local, &rw, "GET", "uploads/r.txt", b"").await,
        (200, "hello".to_string())
    );

    let (status, read) = token(&state, "?scope=read", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(oss(&local, &read, "GET", "uploads/r.txt", b"").await.0, 200);
    assert_access_denied(oss(&local, &read, "PUT", "uploads/w.txt", b"x").await);
}

#[tokio::test]
async fn one_users_token_cannot_touch_another_users_prefix() {
    let local = oss_local().await;
    let (state, _cfg) = make_state(&demo_config(&local, json!({"Auth": jwt_auth()})));
    let (status, alice) = token(&state, "?scope=read-write", Some(&jwt_for("alice"))).await;
    assert_eq!(status, StatusCode::OK, "{alice}");
    assert_eq!(alice["ObjectPrefix"], "uploads/users/alice/");
    let (_, bob) = token(&state, "?scope=read-write", Some(&jwt_for("bob"))).await;

    assert_eq!(
        oss(&local, &bob, "PUT", "uploads/users/bob/b.jpg", b"b")
            .await
            .0,
        200
    );
    assert_eq!(
        oss(&local, &alice, "PUT", "uploads/users/alice/a.jpg", b"a")
            .await
            .0,
        200
    );
    assert_access_denied(oss(&local, &alice, "GET", "uploads/users/bob/b.jpg", b"").await);
    assert_access_denied(oss(&local, &alice, "PUT", "uploads/users/bob/b.jpg", b"evil").await);
    assert_access_denied(oss(&local, &alice, "PUT", "uploads/users/alice-x/a.jpg", b"a").await);
    assert_eq!(
        oss(&local, &bob, "GET", "uploads/users/bob/b.jpg", b"").await,
        (200, "b".to_string())
    );

    let (status, body) = token(&state, "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["ErrorCode"], "MissingBearerToken");
}

#[tokio::test]
async fn oss_local_sts_errors_pass_through() {
    let local = oss_local().await;
    let (state, _cfg) = make_state(&demo_config(
        &local,
        json!({"RoleArn": "acs:ram::1000000000000000:role/no-such-role"}),
    ));
    let (status, body) = token(&state, "", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["StatusCode"], 500);
    assert_eq!(body["ErrorCode"], "EntityNotExist.Role", "{body}");

    // DurationSeconds beyond the role's MaxSessionDuration (3600 for the demo role).
    let (state, _cfg) = make_state(&demo_config(&local, json!({"TokenExpireTime": 7200})));
    let (status, body) = token(&state, "", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body["ErrorCode"]
            .as_str()
            .unwrap()
            .starts_with("InvalidParameter"),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_access_key_secret_is_reported() {
    let local = oss_local().await;
    let (state, _cfg) = make_state(&demo_config(
        &local,
        json!({"AccessKeySecret": "WrongSecret"}),
    ));
    let (status, body) = token(&state, "", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["ErrorCode"], "SignatureDoesNotMatch", "{body}");
    assert!(!body["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains(DEMO_ACCESS_KEY_ID));

    let (state, _cfg) = make_state(&demo_config(&local, json!({"AccessKeyID": "LTAIunknown"})));
    let (_, body) = token(&state, "", None).await;
    assert!(
        body["ErrorCode"]
            .as_str()
            .unwrap()
            .starts_with("InvalidAccessKeyId"),
        "{body}"
    );
}

#[tokio::test]
async fn sts_going_away_is_reported() {
    let local = oss_local().await;
    let (state, _cfg) = make_state(&demo_config(&local, json!({"TokenCache": false})));
    assert_eq!(token(&state, "", None).await.0, StatusCode::OK);
    let Local { running, _data } = local;
    running.shutdown().await;
    let (status, body) = token(&state, "", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["ErrorCode"], "StsUnreachable", "{body}");
}

#[tokio::test]
async fn a_token_too_short_lived_for_the_margin_is_never_reused() {
    // oss-local's fault: every token lives 120 s whatever DurationSeconds says.
    let local = oss_local_with(|o| o.token_lifetime_secs = Some(120)).await;
    let (state, _cfg) = make_state(&demo_config(&local, json!({})));
    let (_, first) = token(&state, "", None).await;
    let (_, second) = token(&state, "", None).await;
    assert_ne!(first["SecurityToken"], second["SecurityToken"]);
}

/// The token server on a real port with callbacks on, so that oss-local can call it back.
async fn serve_with_callbacks(local: &Local) -> (String, TestConfig) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let value = demo_config(
        local,
        json!({
            "PolicyFile": "policy/bucket_read_write_policy.txt",
            "Auth": jwt_auth(),
            "RateLimit": false,
            "Callback": {
                "Url": format!("http://{addr}/callback"),
                "TrustedKeyUrls": [format!("{}/-/callback-public-key.pem", local.running.oss_endpoint())],
            },
        }),
    );
    let cfg = write_config(&value);
    let config = Config::load_with_env(&cfg.file, &|_| None).expect("config loads");
    let state = AppState::open(config).await.unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    (format!("http://{addr}/"), cfg)
}

/// A client uploading with `user`'s token, and the callback its token server hints.
async fn user_client(
    local: &Local,
    url: &str,
    user: &str,
) -> (
    oss_direct::Client,
    oss_direct::Callback,
    std::sync::Arc<oss_direct::AuthServerCredentials>,
) {
    let creds = std::sync::Arc::new(
        oss_direct::AuthServerCredentials::new(url)
            .unwrap()
            .with_bearer(jwt_for(user)),
    );
    let hints = creds.token().await.unwrap().hints;
    let callback = hints.callback.unwrap();
    let config = oss_direct::ClientConfig::new(DEMO_BUCKET, local.running.region())
        .with_endpoint(local.running.oss_endpoint());
    let client = oss_direct::Client::new(config, creds.clone()).unwrap();
    (client, callback, creds)
}

fn answered(out: &oss_direct::UploadOutput) -> bool {
    matches!(
        out.callback,
        Some(oss_direct::CallbackOutcome::Answered { .. })
    )
}

/// Issue 11's attack, for real: Alice uploads under her own prefix with a callback body that
/// names Bob's object (OSS passes literal text through and signs it all). Nothing is recorded
/// for Bob; an honest re-upload of the same bytes is answered, and recorded once.
#[tokio::test]
async fn a_forged_callback_body_records_nothing_and_a_reupload_is_answered() {
    let local = oss_local().await;
    let (url, _cfg) = serve_with_callbacks(&local).await;
    let opts = |cb: &oss_direct::Callback| oss_direct::PutOptions {
        callback: Some(cb.clone()),
        ..Default::default()
    };
    let (bob, bob_callback, bob_creds) = user_client(&local, &url, "bob").await;
    let bobs_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bobs_file.path(), b"bob's photo").unwrap();
    let bobs = bob
        .put_object_from_file(
            "uploads/users/bob/x.jpg",
            bobs_file.path(),
            opts(&bob_callback),
        )
        .await
        .unwrap();
    assert!(answered(&bobs), "{:?}", bobs.callback);

    let (alice, alice_callback, alice_creds) = user_client(&local, &url, "alice").await;
    let mut forged = alice_callback.clone();
    forged.callback_body = format!(
        "bucket=${{bucket}}&object=uploads%2Fusers%2Fbob%2Fforged.jpg&etag={}&size=${{size}}&ticket=${{x:ticket}}",
        bobs.etag.trim_matches('"')
    );
    let photo = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(photo.path(), b"alice's photo").unwrap();
    let out = alice
        .put_object_from_file("uploads/users/alice/a.jpg", photo.path(), opts(&forged))
        .await
        .unwrap();
    assert!(
        matches!(
            out.callback,
            Some(oss_direct::CallbackOutcome::Failed { .. })
        ),
        "the forged callback must be refused: {:?}",
        out.callback
    );
    // A body naming an object of her own that was never uploaded is refused too.
    forged.callback_body =
        "bucket=${bucket}&object=uploads%2Fusers%2Falice%2Fghost.jpg&etag=${etag}&size=${size}&ticket=${x:ticket}".into();
    let out = alice
        .put_object_from_file("uploads/users/alice/b.jpg", photo.path(), opts(&forged))
        .await
        .unwrap();
    assert!(!answered(&out), "{:?}", out.callback);

    // Honest uploads: the same bytes twice to the same key are both answered.
    for _ in 0..2 {
        let out = alice
            .put_object_from_file(
                "uploads/users/alice/a.jpg",
                photo.path(),
                opts(&alice_callback),
            )
            .await
            .unwrap();
        assert!(answered(&out), "{:?}", out.callback);
    }
    let bobs_list = bob_creds.list_uploads(Some(10), None).await.unwrap();
    let keys: Vec<&str> = bobs_list.uploads.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, vec!["uploads/users/bob/x.jpg"]);
    let alices_list = alice_creds.list_uploads(Some(10), None).await.unwrap();
    let keys: Vec<&str> = alices_list.uploads.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, vec!["uploads/users/alice/a.jpg"], "one record");
}
