//! Issue 16: what oss-local does not implement it refuses (501 `NotImplemented`, nothing
//! changed), query parameters OSS ignores it ignores, and the behaviours the official SDKs'
//! own tests found wrong.

mod common;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use oss_direct_wire::sign::{v1_signature, v1_string_to_sign, SignableRequest};
use oss_local::DEMO_BUCKET as B;

async fn put(run: &oss_local::Running, key: &str, body: &str) -> Resp {
    let r = send(
        run,
        Req::new("PUT", B, Some(key)).body(body),
        &Creds::user(),
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{key}: {}", r.text());
    r
}

async fn get_text(run: &oss_local::Running, key: &str) -> (u16, String) {
    let r = send(run, Req::new("GET", B, Some(key)), &Creds::user(), Sig::V4).await;
    (r.status, r.text())
}

#[tokio::test]
async fn unimplemented_operations_and_headers_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    put(&run, "k.txt", "original").await;
    let refused = [
        Req::new("PUT", B, Some("k.txt")).query(&[("symlink", "")]),
        Req::new("PUT", B, Some("k.txt")).query(&[("restore", "")]),
        Req::new("POST", B, Some("k.txt")).query(&[("x-oss-async-process", "")]),
        Req::new("GET", B, Some("k.txt")).query(&[("versionId", "CAEQ")]),
        Req::new("PUT", B, None).query(&[("lifecycle", "")]),
        Req::new("PUT", B, Some("k.txt"))
            .header("x-oss-server-side-encryption", "AES256")
            .body("replaced"),
        Req::new("PUT", B, Some("k.txt"))
            .header("x-oss-symlink-target", "other")
            .body("replaced"),
    ];
    for req in refused {
        let what = format!("{} {:?} {:?}", req.method, req.query, req.headers.keys());
        let r = send(&run, req, &c, Sig::V4).await;
        assert_eq!(
            (r.status, r.code()),
            (501, "NotImplemented".into()),
            "{what}"
        );
    }
    assert_eq!(get_text(&run, "k.txt").await, (200, "original".into()));

    // Parameters OSS does not know are ignored, on reads and writes alike.
    let r = send(
        &run,
        Req::new("PUT", B, Some("k2.txt"))
            .query(&[("sdk-trace", "1"), ("foo", "")])
            .body("new"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &run,
        Req::new("GET", B, Some("k2.txt")).query(&[("foo", "bar")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.text()), (200, "new".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn listings_take_the_parameters_oss2_sends() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    for k in ["a", "b", "c"] {
        put(&run, k, "x").await;
    }
    // ListObjectsV2: oss2 sends an empty continuation-token with start-after.
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[
            ("list-type", "2"),
            ("continuation-token", ""),
            ("start-after", "a"),
        ]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(xml_fields(&r.text(), "Key"), vec!["b", "c"]);

    // ListParts with an empty part-number-marker (oss2's list_parts() default).
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
        Req::new("GET", B, Some("m")).query(&[("uploadId", &id), ("part-number-marker", "")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // ListMultipartUploads: delimiter, and key-marker without upload-id-marker.
    let mut ids = std::collections::BTreeMap::new();
    for k in ["dir/x", "dir/y", "m", "n"] {
        let r = send(
            &run,
            Req::new("POST", B, Some(k)).query(&[("uploads", "")]),
            &c,
            Sig::V4,
        )
        .await;
        ids.insert(k, xml_field(&r.text(), "UploadId").unwrap());
    }
    let list = |q: &'static [(&'static str, &'static str)]| {
        let run = &run;
        let c = &c;
        async move {
            let mut query = vec![("uploads", "")];
            query.extend_from_slice(q);
            let r = send(run, Req::new("GET", B, None).query(&query), c, Sig::V4).await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.text()
        }
    };
    let t = list(&[("delimiter", "/")]).await;
    assert_eq!(xml_fields(&t, "Key"), vec!["m", "m", "n"], "{t}");
    assert_eq!(xml_fields(&t, "Prefix").last().unwrap(), "dir/");
    assert_eq!(xml_field(&t, "Delimiter").unwrap(), "/");
    let t = list(&[("key-marker", "m")]).await;
    assert_eq!(xml_fields(&t, "Key"), vec!["n"], "keys after m only: {t}");
    run.shutdown().await;
}

#[tokio::test]
async fn head_errors_say_which_error_in_x_oss_err() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    for (bucket, code) in [(B, "NoSuchKey"), ("no-such-bucket", "NoSuchBucket")] {
        let r = send(&run, Req::new("HEAD", bucket, Some("nope")), &c, Sig::V4).await;
        assert_eq!(r.status, 404);
        let xml = String::from_utf8(STANDARD.decode(r.header("x-oss-err")).unwrap()).unwrap();
        assert_eq!(xml_field(&xml, "Code").unwrap(), code, "{xml}");
    }
    run.shutdown().await;
}

/// V1: when `x-oss-date` is sent, the SDKs sign it in the Date line, and OSS checks it there.
#[tokio::test]
async fn v1_signs_x_oss_date_in_the_date_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let now = httpdate::fmt_http_date(std::time::SystemTime::now());
    let mut headers = http::HeaderMap::new();
    headers.insert("x-oss-date", now.parse().unwrap());
    // A stale Date: only x-oss-date counts.
    headers.insert("date", "Thu, 01 Jan 2015 00:00:00 GMT".parse().unwrap());
    let sts = v1_string_to_sign(
        &SignableRequest {
            method: "GET",
            bucket: Some(B),
            key: None,
            query: &[],
            headers: &headers,
        },
        &now,
    );
    let auth = format!(
        "OSS {}:{}",
        oss_local::DEMO_ACCESS_KEY_ID,
        v1_signature(oss_local::DEMO_ACCESS_KEY_SECRET, &sts)
    );
    headers.insert("authorization", auth.parse().unwrap());
    let r = raw("GET", &url(&run, B, None, &[]), headers, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    run.shutdown().await;
}

#[tokio::test]
async fn put_object_keeps_standard_headers_utf8_metadata_and_no_guessed_type() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let mut req = Req::new("PUT", B, Some("photo.jpg")).body("not really a jpeg");
    for (n, v) in [
        ("cache-control", "no-cache"),
        ("content-disposition", "attachment; filename=\"a.jpg\""),
        ("content-encoding", "identity"),
        ("content-language", "zh-CN"),
        ("expires", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ] {
        req = req.header(n, v);
    }
    req.headers.insert(
        "x-oss-meta-author",
        http::HeaderValue::from_bytes("张三".as_bytes()).unwrap(),
    );
    let r = send(&run, req, &c, Sig::V1).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&run, Req::new("HEAD", B, Some("photo.jpg")), &c, Sig::V4).await;
    assert_eq!(r.header("cache-control"), "no-cache");
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"a.jpg\""
    );
    assert_eq!(r.header("content-encoding"), "identity");
    assert_eq!(r.header("content-language"), "zh-CN");
    assert_eq!(r.header("expires"), "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_eq!(r.headers["x-oss-meta-author"].as_bytes(), "张三".as_bytes());
    assert_eq!(
        r.header("content-type"),
        "application/octet-stream",
        "OSS does not guess from the extension"
    );
    run.shutdown().await;
}
