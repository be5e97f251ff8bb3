//! In-process tests of `app(state)` with `tower::ServiceExt::oneshot`, against a stand-in STS on
//! loopback that verifies the RPC signature.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use app_token_server::{app, AppState, Config};
use axum::body::Body;
use common::*;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

fn state(value: &Value) -> (AppState, TestConfig) {
    let cfg = write_config(value);
    let config = Config::load_with_env(&cfg.file, &|_| None).expect("config loads");
    (AppState::new(config), cfg)
}

async fn get(
    state: &AppState,
    uri: &str,
    bearer: Option<&str>,
) -> (StatusCode, http::HeaderMap, Value) {
    let mut req = Request::get(uri);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let response = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "JSON body expected, got {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, headers, body)
}

fn assert_error(body: &Value, status: StatusCode, code: &str) {
    assert_eq!(body["StatusCode"], status.as_u16(), "{body}");
    assert_eq!(body["ErrorCode"], code, "{body}");
    assert!(
        body["ErrorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body.get("AccessKeyId").is_none() && body.get("SecurityToken").is_none());
}

#[tokio::test]
async fn issues_the_documented_token_json_with_hints() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&base_config(&sts.endpoint()));
    let (status, headers, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["StatusCode"], 200);
    assert!(body["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert!(body["AccessKeySecret"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert!(body["SecurityToken"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let exp = body["Expiration"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(exp, &time::format_description::well_known::Rfc3339).is_ok()
            && exp.ends_with('Z'),
        "{exp}"
    );
    assert_eq!(body["Bucket"], "demo-bucket");
    assert_eq!(body["Region"], "cn-hangzhou");
    assert_eq!(body["Endpoint"], "https://oss-cn-hangzhou.aliyuncs.com");
    assert_eq!(body["ObjectPrefix"], "uploads/");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 9, "no unexpected fields: {keys:?}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("x-request-id"));

    // What STS was asked.
    let p = sts.last_request();
    assert_eq!(p["Action"], "AssumeRole");
    assert_eq!(p["Version"], "2015-04-01");
    assert_eq!(p["Format"], "JSON");
    assert_eq!(p["SignatureMethod"], "HMAC-SHA1");
    assert_eq!(p["SignatureVersion"], "1.0");
    assert_eq!(p["RoleArn"], ROLE_ARN);
    assert_eq!(p["RoleSessionName"], "app-token-server");
    assert_eq!(p["DurationSeconds"], "900");
    let policy: Value = serde_json::from_str(&p["Policy"]).unwrap();
    assert_eq!(
        policy["Statement"][0]["Resource"][0],
        "acs:oss:*:*:demo-bucket/uploads/*"
    );
    assert_eq!(
        policy["Statement"][0]["Action"],
        json!(["oss:PutObject", "oss:ListParts", "oss:AbortMultipartUpload"])
    );
}

#[tokio::test]
async fn hints_are_left_out_when_not_configured() {
    let sts = FakeSts::start().await;
    let cfg = merged(
        base_config(&sts.endpoint()),
        json!({"Region": null, "OssEndpoint": null, "ObjectPrefix": null}),
    );
    let (state, _cfg) = state(&cfg);
    let (status, _, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["Bucket"], "demo-bucket");
    for k in ["Region", "Endpoint", "ObjectPrefix"] {
        assert!(body.get(k).is_none(), "{k} in {body}");
    }
}

#[tokio::test]
async fn repeated_requests_reuse_the_token_until_the_refresh_margin() {
    let sts = FakeSts::start().await;
    let cfg = write_config(&base_config(&sts.endpoint()));
    let config = Config::load_with_env(&cfg.file, &|_| None).unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let o = offset.clone();
    let state = AppState::with_clock(
        config,
        Arc::new(move || {
            time::OffsetDateTime::now_utc() + time::Duration::seconds(o.load(Ordering::SeqCst))
        }),
    );
    let (_, _, first) = get(&state, "/", None).await;
    let (_, _, second) = get(&state, "/", None).await;
    assert_eq!(first["SecurityToken"], second["SecurityToken"]);
    assert_eq!(sts.calls(), 1);
    // 900 s tokens: 10 minutes and a bit later less than 5 minutes remain, so a new one is fetched.
    offset.store(610, Ordering::SeqCst);
    let (_, _, third) = get(&state, "/", None).await;
    assert_ne!(first["SecurityToken"], third["SecurityToken"]);
    assert_eq!(sts.calls(), 2);
}

#[tokio::test]
async fn a_burst_of_requests_makes_one_sts_call() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&base_config(&sts.endpoint()));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let state = state.clone();
        tasks.push(tokio::spawn(async move { get(&state, "/", None).await }));
    }
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        let (status, _, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        tokens.insert(body["SecurityToken"].as_str().unwrap().to_string());
    }
    assert_eq!(tokens.len(), 1);
    assert_eq!(sts.calls(), 1);
}

#[tokio::test]
async fn with_the_cache_off_every_request_calls_sts() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"TokenCache": false}),
    ));
    for _ in 0..3 {
        assert_eq!(get(&state, "/", None).await.0, StatusCode::OK);
    }
    assert_eq!(sts.calls(), 3);
}

#[tokio::test]
async fn sts_error_codes_pass_through_as_500() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&base_config(&sts.endpoint()));
    sts.set_mode(StsMode::Fail {
        status: 403,
        code: "NoPermission".into(),
        message: "You are not authorized to do this action. You should be authorized by RAM."
            .into(),
    });
    let (status, headers, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, status, "NoPermission");
    // The code passes through; STS's own text stays in the server's log.
    let msg = body["ErrorMessage"].as_str().unwrap();
    assert!(msg.contains("NoPermission"), "{msg}");
    assert!(!msg.contains("authorized by RAM"), "{msg}");
    assert_eq!(headers["cache-control"], "no-store");
    // Errors are not cached: once STS recovers, the next request gets a token.
    sts.set_mode(StsMode::Issue);
    assert_eq!(get(&state, "/", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_access_key_secret_gives_signature_does_not_match() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"AccessKeySecret": "not-the-secret"}),
    ));
    let (status, _, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, status, "SignatureDoesNotMatch");
    // STS echoes its string-to-sign (the RAM user's AccessKey ID, the role): none of it passes.
    let msg = body["ErrorMessage"].as_str().unwrap();
    assert!(!msg.contains(STS_KEY_ID), "{msg}");
    assert!(!msg.to_lowercase().contains("string to sign"), "{msg}");
    assert!(!msg.contains("not-the-secret"), "{msg}");
}

#[tokio::test]
async fn a_wrong_access_key_id_gives_sts_not_found_code() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"AccessKeyID": "LTAIunknown"}),
    ));
    let (status, _, body) = get(&state, "/", None).await;
    assert_error(&body, status, "InvalidAccessKeyId.NotFound");
    assert!(!body["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains("Specified access key is not found."));
}

#[tokio::test]
async fn sts_unreachable_is_reported_as_json() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let (state, _cfg) = state(&base_config(&endpoint));
    let (status, _, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, status, "StsUnreachable");
    assert!(body["ErrorMessage"].as_str().unwrap().contains(&endpoint));
}

#[tokio::test]
async fn sts_timeout_is_reported_as_json() {
    let sts = FakeSts::start().await;
    sts.set_mode(StsMode::Hang);
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"StsTimeoutSeconds": 1}),
    ));
    let (status, _, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, status, "StsTimeout");
}

#[tokio::test]
async fn sts_answering_garbage_is_a_bad_response() {
    // A web server that is not STS, e.g. a proxy answering plain text.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app =
            axum::Router::new().fallback(|| async { (StatusCode::BAD_GATEWAY, "upstream down") });
        axum::serve(listener, app).await.unwrap()
    });
    let (state, _cfg) = state(&base_config(&format!("http://{addr}")));
    let (status, _, body) = get(&state, "/", None).await;
    assert_error(&body, status, "StsBadResponse");
    assert!(body["ErrorMessage"].as_str().unwrap().contains("502"));
}

#[tokio::test]
async fn with_auth_a_token_is_required() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"Auth": jwt_auth()}),
    ));
    let (status, headers, body) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, status, "MissingBearerToken");
    assert!(headers["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    let (status, _, body) = get(&state, "/", Some("garbage")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, status, "InvalidBearerToken");

    let forged = {
        let claims = json!({"sub": "alice", "exp": jsonwebtoken::get_current_timestamp() + 60, "iss": "test-login", "aud": "oss-direct"});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"someone-elses-secret-0123456789ab"),
        )
        .unwrap()
    };
    let (status, _, body) = get(&state, "/", Some(&forged)).await;
    assert_error(&body, status, "InvalidBearerToken");
    assert!(body["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains("bad signature"));
    assert_eq!(sts.calls(), 0, "no STS call for a rejected caller");
}

#[tokio::test]
async fn each_user_gets_their_own_prefix_and_token() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"Auth": jwt_auth()}),
    ));
    let (status, _, alice) = get(&state, "/", Some(&jwt_for("alice"))).await;
    assert_eq!(status, StatusCode::OK, "{alice}");
    assert_eq!(alice["ObjectPrefix"], "uploads/users/alice/");
    let p = sts.last_request();
    assert_eq!(p["RoleSessionName"], "alice");
    assert!(p["Policy"].contains("acs:oss:*:*:demo-bucket/uploads/users/alice/*"));

    let (_, _, bob) = get(&state, "/", Some(&jwt_for("bob"))).await;
    assert_eq!(bob["ObjectPrefix"], "uploads/users/bob/");
    assert!(sts.last_request()["Policy"].contains("uploads/users/bob/*"));
    assert_ne!(alice["SecurityToken"], bob["SecurityToken"]);

    // Alice again: her cached token, not Bob's.
    let (_, _, again) = get(&state, "/", Some(&jwt_for("alice"))).await;
    assert_eq!(again["SecurityToken"], alice["SecurityToken"]);
    assert_eq!(sts.calls(), 2);
}

#[tokio::test]
async fn a_subject_that_is_not_a_safe_folder_name_is_forbidden() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"Auth": jwt_auth()}),
    ));
    for sub in ["../bob", "alice/../bob", "a*", "..", "x y"] {
        let (status, _, body) = get(&state, "/", Some(&jwt_for(sub))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{sub}");
        assert_error(&body, status, "InvalidSubject");
    }
    assert_eq!(sts.calls(), 0);
}

#[tokio::test]
async fn scopes_are_served_only_where_configured() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"Scopes": ["read", "read-write"]}),
    ));
    let (status, _, _) = get(&state, "/?scope=read", None).await;
    assert_eq!(status, StatusCode::OK);
    let policy: Value = serde_json::from_str(&sts.last_request()["Policy"]).unwrap();
    assert_eq!(policy["Statement"][0]["Action"], json!(["oss:GetObject"]));

    let (status, _, _) = get(&state, "/?scope=read-write", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sts.last_request()["Policy"].contains("oss:GetObject"));
    assert!(sts.last_request()["Policy"].contains("oss:PutObject"));

    let (status, _, body) = get(&state, "/?scope=write", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, status, "ScopeNotAllowed");
    assert!(body["ErrorMessage"]
        .as_str()
        .unwrap()
        .contains("read, read-write"));

    let (status, _, body) = get(&state, "/?scope=admin", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, status, "InvalidScope");

    // No scope: the PolicyFile (write).
    let (status, _, _) = get(&state, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!sts.last_request()["Policy"].contains("oss:GetObject"));
    assert_eq!(sts.calls(), 3);
}

#[tokio::test]
async fn too_many_requests_get_429_json() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"RateLimit": {"RequestsPerMinute": 1, "Burst": 2}, "Auth": jwt_auth()}),
    ));
    let alice = jwt_for("alice");
    assert_eq!(get(&state, "/", Some(&alice)).await.0, StatusCode::OK);
    assert_eq!(get(&state, "/", Some(&alice)).await.0, StatusCode::OK);
    let (status, headers, body) = get(&state, "/", Some(&alice)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_error(&body, status, "Throttling");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Bob is a different client.
    assert_eq!(
        get(&state, "/", Some(&jwt_for("bob"))).await.0,
        StatusCode::OK
    );
    // Failed logins count against the address: after the burst they get 429, not 401.
    assert_eq!(
        get(&state, "/", Some("bad")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&state, "/", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&state, "/", Some("bad")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A malformed Authorization header counts the same way.
    let response = app(state.clone())
        .oneshot(
            Request::get("/")
                .header("authorization", "Basic dXNlcjpwYXNz")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn healthz_and_unknown_paths() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&base_config(&sts.endpoint()));
    let (status, _, body) = get(&state, "/healthz", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"Status": "ok"})));
    let (status, _, body) = get(&state, "/admin", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, status, "NotFound");

    let response = app(state.clone())
        .oneshot(Request::post("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_error(&body, StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");
    assert_eq!(sts.calls(), 0);
}

#[tokio::test]
async fn a_plain_request_id_is_echoed_and_a_forged_one_replaced() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&base_config(&sts.endpoint()));
    let send = |id: &'static str| {
        let state = state.clone();
        async move {
            app(state)
                .oneshot(
                    Request::get("/healthz")
                        .header("x-request-id", id)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(send("abc-123").await.headers()["x-request-id"], "abc-123");
    let forged = send("x\" user=admin").await;
    assert_ne!(forged.headers()["x-request-id"], "x\" user=admin");
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&merged(
        base_config(&sts.endpoint()),
        json!({"RateLimit": {"RequestsPerMinute": 1, "Burst": 1}, "TrustForwardedFor": true}),
    ));
    let from = |ip: &'static str| {
        let state = state.clone();
        async move {
            app(state)
                .oneshot(
                    Request::get("/")
                        .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(from("198.51.100.1").await, StatusCode::OK);
    assert_eq!(from("198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
    // The proxy-added (last) address counts, not what the client wrote before it.
    assert_eq!(from("198.51.100.2").await, StatusCode::OK);
}

#[tokio::test]
async fn rs256_tokens_from_the_login_service_are_accepted() {
    let sts = FakeSts::start().await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let cfg_value = merged(
        base_config(&sts.endpoint()),
        json!({"Auth": {"Jwt": {"Rs256PublicKeyFile": "jwt_public.pem", "Issuer": "login"}}}),
    );
    let cfg = write_config(&cfg_value);
    std::fs::copy(
        format!("{fixtures}/jwt_test_public.pem"),
        cfg.dir.path().join("jwt_public.pem"),
    )
    .unwrap();
    let state = AppState::new(Config::load_with_env(&cfg.file, &|_| None).unwrap());
    let private = std::fs::read(format!("{fixtures}/jwt_test_private.pem")).unwrap();
    let claims =
        json!({"sub": "carol", "iss": "login", "exp": jsonwebtoken::get_current_timestamp() + 60});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap();
    let (status, _, body) = get(&state, "/", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ObjectPrefix"], "uploads/users/carol/");
    // The same claims signed HS256 with the public key as the secret are refused.
    let public = std::fs::read(format!("{fixtures}/jwt_test_public.pem")).unwrap();
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    let (status, _, body) = get(&state, "/", Some(&confused)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, status, "InvalidBearerToken");
}

#[tokio::test]
async fn a_query_string_that_does_not_parse_is_a_json_400() {
    let sts = FakeSts::start().await;
    let (state, _cfg) = state(&base_config(&sts.endpoint()));
    let (status, _, body) = get(&state, "/?scope=read&scope=write", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, status, "InvalidParameter");
    assert_eq!(sts.calls(), 0);
}
