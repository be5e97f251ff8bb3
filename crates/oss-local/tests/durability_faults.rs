//! Restart durability, fault injection (Rust API and admin route), shutdown.

mod common;
use common::*;
use oss_local::DEMO_BUCKET as B;
use std::time::Duration;

#[tokio::test]
async fn objects_uploads_and_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = assume_role(&run, &[]).await;
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/keep"))
            .body("kept")
            .header("x-oss-meta-color", "blue"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let p1 = data(100 * 1024, 9);
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/mp"))
            .query(&[("partNumber", "1"), ("uploadId", &id)])
            .body(p1.clone()),
        &c,
        Sig::V4,
    )
    .await;
    let e1 = r.header("etag");
    run.shutdown().await;

    let run = start(dir.path()).await;
    // The token issued before the restart still works.
    let r = send(&run, Req::new("GET", B, Some("uploads/keep")), &c, Sig::V4).await;
    assert_eq!((r.status, r.text()), (200, "kept".into()));
    assert_eq!(r.header("x-oss-meta-color"), "blue");
    let r = send(
        &run,
        Req::new("GET", B, Some("uploads/mp")).query(&[("uploadId", &id)]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "PartNumber"), vec!["1"]);
    let p2 = b"tail".to_vec();
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/mp"))
            .query(&[("partNumber", "2"), ("uploadId", &id)])
            .body(p2.clone()),
        &c,
        Sig::V4,
    )
    .await;
    let e2 = r.header("etag");
    let body = format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{e2}</ETag></Part></CompleteMultipartUpload>");
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp"))
            .query(&[("uploadId", &id)])
            .body(body),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = send(&run, Req::new("GET", B, Some("uploads/mp")), &c, Sig::V4).await;
    assert_eq!(got.body, [p1, p2].concat());
    run.shutdown().await;
}

#[tokio::test]
async fn injected_failures_cuts_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    run.faults()
        .fail_next("PutObject", 2, 503, "ServiceUnavailable");
    for _ in 0..2 {
        let r = send(&run, Req::new("PUT", B, Some("f")).body("x"), &c, Sig::V4).await;
        assert_eq!((r.status, r.code()), (503, "ServiceUnavailable".into()));
    }
    let r = send(&run, Req::new("PUT", B, Some("f")).body("x"), &c, Sig::V4).await;
    assert_eq!(r.status, 200, "the third one passes");

    run.faults().cut_after("PutObject", 1000, 1);
    let mut req = Req::new("PUT", B, Some("cut")).body(data(100_000, 1));
    req.headers
        .insert("content-length", "100000".parse().unwrap());
    oss_direct_wire::sign::sign_v1(
        "PUT",
        Some(B),
        Some("cut"),
        &[],
        &mut req.headers,
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &c.ak,
            access_key_secret: &c.secret,
            security_token: None,
        },
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    let err = client()
        .put(url(&run, B, Some("cut"), &[]))
        .headers(req.headers)
        .body(req.body)
        .send()
        .await;
    assert!(
        err.is_err(),
        "the connection is dropped, no response: {err:?}"
    );
    let r = send(&run, Req::new("HEAD", B, Some("cut")), &c, Sig::V4).await;
    assert_eq!(r.status, 404, "a cut upload stores nothing");

    // On a GetObject the response body is cut.
    let big = data(300_000, 5);
    let r = send(
        &run,
        Req::new("PUT", B, Some("dl")).body(big.clone()),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    run.faults().cut_after("GetObject", 100_000, 1);
    let mut h = http::HeaderMap::new();
    oss_direct_wire::sign::sign_v1(
        "GET",
        Some(B),
        Some("dl"),
        &[],
        &mut h,
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &c.ak,
            access_key_secret: &c.secret,
            security_token: None,
        },
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    let resp = client()
        .get(url(&run, B, Some("dl"), &[]))
        .headers(h)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = resp.bytes().await;
    assert!(got.is_err(), "the body stops short of Content-Length");
    let r = send(&run, Req::new("GET", B, Some("dl")), &c, Sig::V4).await;
    assert_eq!(r.body, big, "the next GetObject is whole");

    run.faults()
        .add_latency("GetObject", Duration::from_millis(1500), Some(1));
    let slow = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut h = http::HeaderMap::new();
    oss_direct_wire::sign::sign_v1(
        "GET",
        Some(B),
        Some("f"),
        &[],
        &mut h,
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &c.ak,
            access_key_secret: &c.secret,
            security_token: None,
        },
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    let r = slow
        .get(url(&run, B, Some("f"), &[]))
        .headers(h)
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    let r = send(&run, Req::new("GET", B, Some("f")), &c, Sig::V4).await;
    assert_eq!(r.status, 200, "latency was for one request only");
    run.shutdown().await;
}

#[tokio::test]
async fn admin_route_arms_faults_and_short_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let admin = format!("{}/-/faults", run.oss_endpoint());
    let r = client()
        .post(&admin)
        .header(oss_local::ADMIN_TOKEN_HEADER, run.admin_token())
        .header("content-type", "application/json")
        .body(r#"[{"action":"fail","operation":"UploadPart","count":1,"status":500,"code":"InternalError"},{"action":"token_lifetime","seconds":5}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let state: serde_json::Value = r.json().await.unwrap();
    assert_eq!(state["token_lifetime"], 5);
    let (_, v) = assume_role_with(
        &run,
        oss_local::DEMO_ACCESS_KEY_ID,
        oss_local::DEMO_ACCESS_KEY_SECRET,
        &[("DurationSeconds", "3600")],
    )
    .await;
    let exp = v["Credentials"]["Expiration"].as_str().unwrap().to_string();
    let exp = time::PrimitiveDateTime::parse(
        &exp,
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .unwrap()
    .assume_utc();
    assert!((exp - time::OffsetDateTime::now_utc()).whole_seconds() <= 5);

    let c = Creds::user();
    let r = send(
        &run,
        Req::new("POST", B, Some("m")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let r = send(
        &run,
        Req::new("PUT", B, Some("m"))
            .query(&[("partNumber", "1"), ("uploadId", &id)])
            .body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (500, "InternalError".into()));
    let r = client()
        .delete(&admin)
        .header(oss_local::ADMIN_TOKEN_HEADER, run.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client()
        .post(&admin)
        .header(oss_local::ADMIN_TOKEN_HEADER, run.admin_token())
        .header("content-type", "application/json")
        .body("{\"action\":\"explode\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    run.shutdown().await;
}
