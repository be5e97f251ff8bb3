//! Retry, refresh and integrity behaviour against small HTTP servers started inside the test.
//! (End-to-end behaviour against oss-local lives in `e2e_oss_local.rs`.)

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oss_direct::{
    AuthServerCredentials, Client, ClientConfig, Credentials, ErrorKind, PutOptions,
    SignatureVersion, StaticCredentials,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Handler = Arc<dyn Fn(usize, &HeaderMap, &Bytes) -> Response + Send + Sync>;

#[derive(Clone)]
struct Server {
    hits: Arc<AtomicUsize>,
    handler: Handler,
}

async fn serve(handler: Handler) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let state = Server {
        hits: hits.clone(),
        handler,
    };
    let app = axum::Router::new()
        .fallback(
            |State(s): State<Server>,
             method: axum::http::Method,
             uri: axum::http::Uri,
             mut headers: HeaderMap,
             body: Bytes| async move {
                let n = s.hits.fetch_add(1, Ordering::SeqCst);
                headers.insert("x-test-method", method.as_str().parse().unwrap());
                headers.insert("x-test-uri", uri.to_string().parse().unwrap());
                (s.handler)(n, &headers, &body)
            },
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn token_json(token: &str, expires_in: Duration) -> String {
    let exp = time::OffsetDateTime::now_utc() + expires_in;
    let exp = exp
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    format!(
        r#"{{"StatusCode":200,"AccessKeyId":"STS.k","AccessKeySecret":"s","SecurityToken":"{token}","Expiration":"{exp}","Bucket":"b","Region":"cn-hangzhou"}}"#
    )
}

fn oss_error(status: u16, code: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>m</Message><RequestId>RID</RequestId><HostId>h</HostId></Error>"
    );
    (StatusCode::from_u16(status).unwrap(), body).into_response()
}

fn ok_with_crc(body: &Bytes) -> Response {
    let crc = oss_direct::crc64::checksum(body).to_string();
    (
        StatusCode::OK,
        [
            ("x-oss-hash-crc64ecma", crc.as_str()),
            ("etag", "\"E\""),
            ("x-oss-request-id", "RID"),
        ],
    )
        .into_response()
}

fn client(endpoint: &str, creds: Arc<dyn oss_direct::CredentialsProvider>) -> Client {
    let mut cfg = ClientConfig::new("b", "cn-hangzhou").with_endpoint(endpoint);
    cfg.retry_base_delay = Duration::from_millis(5);
    Client::new(cfg, creds).unwrap()
}

fn static_creds() -> Arc<dyn oss_direct::CredentialsProvider> {
    Arc::new(StaticCredentials(Credentials::new("ak", "sk")))
}

#[tokio::test]
async fn many_concurrent_callers_make_one_token_request() {
    let (url, hits) = serve(Arc::new(|_, h: &HeaderMap, _: &Bytes| {
        assert_eq!(h["authorization"], "Bearer user-token");
        std::thread::sleep(Duration::from_millis(50));
        token_json("t1", Duration::from_secs(3600)).into_response()
    }))
    .await;
    let p = Arc::new(
        AuthServerCredentials::new(format!("{url}/"))
            .unwrap()
            .with_bearer("user-token"),
    );
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move { p.token().await.unwrap() })
        })
        .collect();
    for t in tasks {
        let t = t.await.unwrap();
        assert_eq!(t.credentials.security_token.as_deref(), Some("t1"));
        assert_eq!(t.hints.bucket.as_deref(), Some("b"));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn tokens_inside_the_refresh_margin_are_fetched_again() {
    let (url, hits) = serve(Arc::new(|n, _: &HeaderMap, _: &Bytes| {
        // Four minutes left: inside the 5-minute margin, so never reused.
        token_json(&format!("t{n}"), Duration::from_secs(240)).into_response()
    }))
    .await;
    let p = AuthServerCredentials::new(url).unwrap();
    let a = p.token().await.unwrap();
    let b = p.token().await.unwrap();
    assert_ne!(a.credentials.security_token, b.credentials.security_token);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // With a smaller margin the cached token is good enough and reused.
    let p = p.with_refresh_margin(Duration::from_secs(60));
    let c = p.token().await.unwrap();
    let d = p.token().await.unwrap();
    assert_eq!(c.credentials, b.credentials);
    assert_eq!(d.credentials, b.credentials);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_server_errors_are_explained() {
    let (url, _) = serve(Arc::new(|_, _: &HeaderMap, _: &Bytes| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"StatusCode":500,"ErrorCode":"NoPermission","ErrorMessage":"You are not authorized to do this action."}"#,
        )
            .into_response()
    }))
    .await;
    let e = AuthServerCredentials::new(url)
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials);
    assert!(e.message().contains("NoPermission"), "{e}");
    assert!(e.message().contains("not authorized"), "{e}");

    // Nothing listening.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", l.local_addr().unwrap());
    drop(l);
    let e = AuthServerCredentials::new(dead)
        .unwrap()
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Credentials);
    assert!(e.message().contains("cannot reach the app server"), "{e}");
}

#[tokio::test]
async fn five_hundreds_are_retried_twice_then_reported() {
    let (url, hits) = serve(Arc::new(|n, _: &HeaderMap, body: &Bytes| {
        if n < 2 {
            oss_error(503, "ServiceUnavailable")
        } else {
            ok_with_crc(body)
        }
    }))
    .await;
    let c = client(&url, static_creds());
    let out = c
        .put_object("k", Bytes::from_static(b"data"), None)
        .await
        .unwrap();
    assert_eq!(out.crc64, oss_direct::crc64::checksum(b"data"));
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let (url, hits) = serve(Arc::new(|_, _: &HeaderMap, _: &Bytes| {
        oss_error(500, "InternalError")
    }))
    .await;
    let e = client(&url, static_creds())
        .put_object("k", Bytes::from_static(b"data"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InternalError"));
    assert_eq!(e.operation(), "PutObject");
    assert!(e.is_retryable());
    assert_eq!(hits.load(Ordering::SeqCst), 3, "one try and two retries");
}

#[tokio::test]
async fn access_denied_is_not_retried() {
    let (url, hits) = serve(Arc::new(|_, _: &HeaderMap, _: &Bytes| {
        oss_error(403, "AccessDenied")
    }))
    .await;
    let e = client(&url, static_creds())
        .delete_object("k")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert_eq!(e.oss().unwrap().request_id, "RID");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_without_failing_the_upload() {
    let (token_url, token_hits) = serve(Arc::new(|n, _: &HeaderMap, _: &Bytes| {
        token_json(
            if n == 0 { "old" } else { "new" },
            Duration::from_secs(3600),
        )
        .into_response()
    }))
    .await;
    let (oss_url, _) = serve(Arc::new(|_, h: &HeaderMap, body: &Bytes| {
        match h.get("x-oss-security-token").and_then(|v| v.to_str().ok()) {
            Some("new") => ok_with_crc(body),
            _ => oss_error(403, "SecurityTokenExpired"),
        }
    }))
    .await;
    let creds = Arc::new(AuthServerCredentials::new(token_url).unwrap());
    let c = client(&oss_url, creds);
    c.put_object("k", Bytes::from_static(b"x"), None)
        .await
        .unwrap();
    assert_eq!(token_hits.load(Ordering::SeqCst), 2);

    // A server that keeps refusing gets exactly one refresh, then the error.
    let (oss_url, oss_hits) = serve(Arc::new(|_, _: &HeaderMap, _: &Bytes| {
        oss_error(403, "InvalidAccessKeyId")
    }))
    .await;
    let c = client(&oss_url, static_creds());
    let e = c
        .put_object("k", Bytes::from_static(b"x"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessKeyId"));
    assert_eq!(oss_hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn clock_skew_is_corrected_from_the_server_date() {
    // The "server" clock runs one hour ahead of ours.
    let ahead = Duration::from_secs(3600);
    let (url, hits) = serve(Arc::new(move |_, h: &HeaderMap, body: &Bytes| {
        let server_now = time::OffsetDateTime::now_utc() + ahead;
        let sent = h["x-oss-date"].to_str().unwrap().to_string();
        let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
        let sent = time::PrimitiveDateTime::parse(&sent, &fmt)
            .unwrap()
            .assume_utc();
        if (server_now - sent).abs() > time::Duration::minutes(15) {
            let date = httpdate::fmt_http_date(server_now.into());
            let mut r = oss_error(403, "RequestTimeTooSkewed");
            r.headers_mut().insert("date", date.parse().unwrap());
            r
        } else {
            ok_with_crc(body)
        }
    }))
    .await;
    let c = client(&url, static_creds());
    c.put_object("k", Bytes::from_static(b"x"), None)
        .await
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The offset is kept: the next request is right the first time.
    c.put_object("k", Bytes::from_static(b"y"), None)
        .await
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_wrong_crc_from_the_server_is_an_error_never_a_success() {
    let (url, _) = serve(Arc::new(|_, _: &HeaderMap, _: &Bytes| {
        (StatusCode::OK, [("x-oss-hash-crc64ecma", "12345")]).into_response()
    }))
    .await;
    let e = client(&url, static_creds())
        .put_object("k", Bytes::from_static(b"x"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
}

#[tokio::test]
async fn put_from_file_streams_and_reports_progress_up_to_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.jpg");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let seen_ct = Arc::new(Mutex::new(String::new()));
    let ct = seen_ct.clone();
    let (url, _) = serve(Arc::new(move |_, h: &HeaderMap, body: &Bytes| {
        *ct.lock().unwrap() = h["content-type"].to_str().unwrap().to_string();
        assert!(h["authorization"].to_str().unwrap().starts_with("OSS ak:"));
        ok_with_crc(body)
    }))
    .await;
    let mut cfg = ClientConfig::new("b", "cn-hangzhou")
        .with_endpoint(url)
        .with_signature_version(SignatureVersion::V1);
    cfg.retry_base_delay = Duration::from_millis(5);
    let c = Client::new(cfg, static_creds()).unwrap();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    let out = c
        .put_object_from_file(
            "uploads/photo.jpg",
            &path,
            PutOptions {
                progress: Some(Arc::new(move |p| r.lock().unwrap().push(p))),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.crc64, oss_direct::crc64::checksum(&data));
    assert_eq!(out.bytes, 300_000);
    assert_eq!(*seen_ct.lock().unwrap(), "image/jpeg");
    let reports = reports.lock().unwrap();
    assert!(reports.len() > 2, "progress arrives while streaming");
    assert!(reports
        .windows(2)
        .all(|w| w[0].bytes_done <= w[1].bytes_done));
    assert_eq!(reports.last().unwrap().bytes_done, 300_000);
    assert_eq!(reports.last().unwrap().parts_done, 1);
}

/// A multipart server whose CompleteMultipartUpload answers NoSuchUpload, as a retried Complete
/// does when the first attempt went through but its answer was lost. `head_size_delta` skews
/// the size HEAD reports.
async fn lost_complete_server(head_size_delta: u64) -> String {
    let parts: Arc<Mutex<Vec<(u32, Bytes)>>> = Arc::default();
    let (url, _) = serve(Arc::new(move |_, h: &HeaderMap, body: &Bytes| {
        let uri = h["x-test-uri"].to_str().unwrap().to_string();
        let method = h["x-test-method"].to_str().unwrap().to_string();
        let mut parts = parts.lock().unwrap();
        match method.as_str() {
            "POST" if uri.contains("uploads") => {
                "<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>".into_response()
            }
            "PUT" => {
                let n: u32 = uri.split("partNumber=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
                parts.push((n, body.clone()));
                let etag = format!("\"{:X}\"", md5_of(body));
                let mut r = ok_with_crc(body);
                r.headers_mut().insert("etag", etag.parse().unwrap());
                r
            }
            "POST" => oss_error(404, "NoSuchUpload"),
            "HEAD" => {
                parts.sort_by_key(|(n, _)| *n);
                let all: Vec<u8> = parts.iter().flat_map(|(_, b)| b.to_vec()).collect();
                let crc = oss_direct::crc64::checksum(&all).to_string();
                let len = (all.len() as u64 + head_size_delta).to_string();
                (StatusCode::OK, [("x-oss-hash-crc64ecma", crc), ("content-length", len), ("etag", "\"E-2\"".into())]).into_response()
            }
            _ => oss_error(400, "InvalidRequest"),
        }
    }))
    .await;
    url
}

fn md5_of(b: &[u8]) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(b).into())
}

#[tokio::test]
async fn a_lost_complete_answer_is_accepted_only_for_the_same_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let data: Vec<u8> = (0..250_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let opts = || oss_direct::UploadOptions {
        mode: oss_direct::UploadMode::Resumable,
        part_size: 100 * 1024,
        checkpoint_dir: Some(dir.path().join("cp")),
        ..Default::default()
    };
    let url = lost_complete_server(0).await;
    let out = client(&url, static_creds())
        .resumable_upload("k", &path, opts())
        .await
        .unwrap();
    assert_eq!(out.upload.crc64, oss_direct::crc64::checksum(&data));

    let url = lost_complete_server(1).await;
    let e = client(&url, static_creds())
        .resumable_upload("k", &path, opts())
        .await
        .unwrap_err();
    assert!(e.message().contains("not this file"), "{e}");
}

#[tokio::test]
async fn callbacks_relay_the_answer_or_report_callback_failed() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jpg");
    std::fs::write(&path, b"jpeg bytes").unwrap();
    let seen = Arc::new(Mutex::new(None::<serde_json::Value>));
    let s = seen.clone();
    let (url, _) = serve(Arc::new(move |n, h: &HeaderMap, body: &Bytes| {
        let cb = base64::engine::general_purpose::STANDARD
            .decode(h["x-oss-callback"].as_bytes())
            .unwrap();
        *s.lock().unwrap() = Some(serde_json::from_slice(&cb).unwrap());
        let crc = oss_direct::crc64::checksum(body).to_string();
        if n == 0 {
            (
                StatusCode::OK,
                [("x-oss-hash-crc64ecma", crc)],
                r#"{"Status":"OK"}"#,
            )
                .into_response()
        } else {
            (
                StatusCode::NON_AUTHORITATIVE_INFORMATION,
                [("x-oss-hash-crc64ecma", crc)],
                "<Error><Code>CallbackFailed</Code><Message>Error status : 502.</Message></Error>",
            )
                .into_response()
        }
    }))
    .await;
    let c = client(&url, static_creds());
    let mut cb = oss_direct::Callback::new("http://app/callback", "object=${object}");
    cb.vars.insert("x:device".into(), "phone".into());
    let opts = PutOptions {
        callback: Some(cb),
        ..Default::default()
    };
    let out = c
        .put_object_from_file("k.jpg", &path, opts.clone())
        .await
        .unwrap();
    assert_eq!(
        out.callback,
        Some(oss_direct::CallbackOutcome::Answered {
            body: r#"{"Status":"OK"}"#.into()
        })
    );
    let sent = seen.lock().unwrap().clone().unwrap();
    assert_eq!(sent["callbackUrl"], "http://app/callback");
    assert_eq!(sent["callbackBody"], "object=${object}");

    // 203: the object is stored (a success with its CRC checked), but the server was not told.
    let out = c.put_object_from_file("k.jpg", &path, opts).await.unwrap();
    assert_eq!(
        out.callback,
        Some(oss_direct::CallbackOutcome::Failed {
            message: "Error status : 502.".into()
        })
    );
    assert_eq!(out.crc64, oss_direct::crc64::checksum(b"jpeg bytes"));
}
