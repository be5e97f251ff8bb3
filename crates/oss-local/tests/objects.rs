//! Simple object operations with V1 and V4, path and virtual-hosted style, presigned URLs,
//! ranges, listing and path tricks.

mod common;
use common::*;
use oss_direct_wire::sign::{self, SigningCredentials};
use oss_local::DEMO_BUCKET as B;

#[tokio::test]
async fn put_get_head_delete_with_v1_and_v4() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let creds = assume_role(&run, &[]).await;
    for (sig, key) in [
        (Sig::V1, "uploads/v1 file+.txt"),
        (Sig::V4, "uploads/v4/ü.bin"),
    ] {
        let body = data(5000, 7);
        let r = send(
            &run,
            Req::new("PUT", B, Some(key)).body(body.clone()),
            &creds,
            sig,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let md5 = md5_hex(&body);
        assert_eq!(r.header("etag"), format!("\"{md5}\""));
        assert_eq!(
            r.header("x-oss-hash-crc64ecma"),
            oss_direct::crc64::checksum(&body).to_string()
        );
        assert_eq!(r.header("x-oss-request-id").len(), 24);

        let r = send(&run, Req::new("GET", B, Some(key)), &creds, sig).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, body);
        assert_eq!(r.header("content-length"), "5000");

        let r = send(&run, Req::new("HEAD", B, Some(key)), &creds, sig).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), "5000");
        assert_eq!(r.header("x-oss-object-type"), "Normal");

        let r = send(
            &run,
            Req::new("GET", B, Some(key)).header("range", "bytes=10-19"),
            &creds,
            sig,
        )
        .await;
        assert_eq!(r.status, 206);
        assert_eq!(r.body, &body[10..20]);
        assert_eq!(r.header("content-range"), "bytes 10-19/5000");

        let r = send(&run, Req::new("DELETE", B, Some(key)), &creds, sig).await;
        assert_eq!(r.status, 204);
        let r = send(&run, Req::new("GET", B, Some(key)), &creds, sig).await;
        assert_eq!((r.status, r.code()), (404, "NoSuchKey".into()));
        let r = send(&run, Req::new("HEAD", B, Some(key)), &creds, sig).await;
        assert_eq!(r.status, 404);
    }
    let r = send(
        &run,
        Req::new("GET", "no-such-bucket", Some("k")),
        &creds,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NoSuchBucket".into()));
    run.shutdown().await;
}

fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode_upper(md5::Md5::digest(b))
}

#[tokio::test]
async fn virtual_hosted_style() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let creds = Creds::user();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-length", "3".parse().unwrap());
    sign::sign_v4(
        "PUT",
        Some(B),
        Some("vh/key"),
        &[],
        &mut headers,
        SigningCredentials {
            access_key_id: &creds.ak,
            access_key_secret: &creds.secret,
            security_token: None,
        },
        REGION,
        &v4_timestamp(std::time::SystemTime::now()),
    );
    headers.insert(
        "host",
        format!("{B}.127.0.0.1:{}", run.oss_addr.port())
            .parse()
            .unwrap(),
    );
    let r = raw(
        "PUT",
        &format!("{}/vh/key", run.oss_endpoint()),
        headers,
        b"abc".to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&run, Req::new("GET", B, Some("vh/key")), &creds, Sig::V1).await;
    assert_eq!(r.body, b"abc");
    run.shutdown().await;
}

#[tokio::test]
async fn presigned_urls_v1_and_v4() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let creds = assume_role(&run, &[]).await;
    let key = "uploads/presigned.txt";
    send(
        &run,
        Req::new("PUT", B, Some(key)).body("hello"),
        &creds,
        Sig::V4,
    )
    .await;
    let sc = SigningCredentials {
        access_key_id: &creds.ak,
        access_key_secret: &creds.secret,
        security_token: creds.token.as_deref(),
    };
    let h = http::HeaderMap::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let v1 = sign::presign_v1("GET", Some(B), Some(key), &[], &h, sc, now + 60);
    let r = raw("GET", &url(&run, B, Some(key), &v1), h.clone(), vec![]).await;
    assert_eq!((r.status, r.text()), (200, "hello".into()));
    let expired = sign::presign_v1("GET", Some(B), Some(key), &[], &h, sc, now - 5);
    let r = raw("GET", &url(&run, B, Some(key), &expired), h.clone(), vec![]).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));

    let ts = v4_timestamp(std::time::SystemTime::now());
    let v4 = sign::presign_v4("GET", Some(B), Some(key), &[], &h, sc, REGION, &ts, 60);
    let r = raw("GET", &url(&run, B, Some(key), &v4), h.clone(), vec![]).await;
    assert_eq!((r.status, r.text()), (200, "hello".into()));
    let mut tampered = v4.clone();
    for (k, v) in tampered.iter_mut() {
        if k == "x-oss-expires" {
            *v = "3600".into();
        }
    }
    let r = raw(
        "GET",
        &url(&run, B, Some(key), &tampered),
        h.clone(),
        vec![],
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));
    // Unsigned is refused on a private bucket.
    let r = raw("GET", &url(&run, B, Some(key), &[]), h, vec![]).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn list_objects_v2_pages_and_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    for k in ["a/1", "a/2", "b/1", "c", "d"] {
        let r = send(&run, Req::new("PUT", B, Some(k)).body("x"), &c, Sig::V4).await;
        assert_eq!(r.status, 200);
    }
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[("list-type", "2"), ("delimiter", "/")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let xml = r.text();
    assert_eq!(xml_fields(&xml, "Key"), vec!["c", "d"]);
    assert_eq!(xml_fields(&xml, "Prefix")[1..], ["a/", "b/"]);
    assert_eq!(xml_field(&xml, "KeyCount").unwrap(), "4");

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = Req::new("GET", B, None).query(&[("list-type", "2"), ("max-keys", "2")]);
        if let Some(t) = &token {
            req = req.query(&[("continuation-token", t)]);
        }
        let xml = send(&run, req, &c, Sig::V1).await.text();
        seen.extend(xml_fields(&xml, "Key"));
        if xml_field(&xml, "IsTruncated").unwrap() == "false" {
            break;
        }
        token = xml_field(&xml, "NextContinuationToken");
    }
    assert_eq!(seen, vec!["a/1", "a/2", "b/1", "c", "d"]);
    // V1 listing with prefix.
    let xml = send(
        &run,
        Req::new("GET", B, None).query(&[("prefix", "a/")]),
        &c,
        Sig::V1,
    )
    .await
    .text();
    assert_eq!(xml_fields(&xml, "Key"), vec!["a/1", "a/2"]);
    run.shutdown().await;
}

#[tokio::test]
async fn path_tricks_are_refused_and_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    for raw_key in [
        "..%2F..%2Fescape",
        "a%2F%2E%2E%2Fb",
        "%2Fabs",
        "x/..%5C..%5Cy",
    ] {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-length", "1".parse().unwrap());
        let u = format!("{}/{B}/{raw_key}", run.oss_endpoint());
        let r = raw("PUT", &u, headers, b"x".to_vec()).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidObjectName".into()),
            "{raw_key}"
        );
    }
    // Names with dots that are not segments are fine, and stored under hashed names.
    let r = send(
        &run,
        Req::new("PUT", B, Some("a..b/..c")).body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for e in walk(dir.path()) {
        assert!(e.starts_with(dir.path()));
        assert!(!e.to_string_lossy().contains("a..b"), "{}", e.display());
    }
    run.shutdown().await;
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[tokio::test]
async fn put_checks_content_md5_and_length() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let r = send(
        &run,
        Req::new("PUT", B, Some("md5"))
            .body("abc")
            .header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidDigest".into()));
    let r = send(&run, Req::new("GET", B, Some("md5")), &c, Sig::V1).await;
    assert_eq!(r.status, 404, "a refused upload leaves nothing");
    run.shutdown().await;
}

#[tokio::test]
async fn a_plus_in_the_query_is_a_space_and_percent_2b_a_plus() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    for k in ["sp ace/1", "pl+us/1"] {
        assert_eq!(
            send(&run, Req::new("PUT", B, Some(k)).body("x"), &c, Sig::V4)
                .await
                .status,
            200
        );
    }
    for (prefix, raw_prefix, want) in [
        ("sp ace/", "sp+ace%2F", "sp ace/1"),
        ("pl+us/", "pl%2Bus%2F", "pl+us/1"),
    ] {
        let query = q(&[("list-type", "2"), ("prefix", prefix)]);
        let mut h = http::HeaderMap::new();
        sign::sign_v4(
            "GET",
            Some(B),
            None,
            &query,
            &mut h,
            SigningCredentials {
                access_key_id: &c.ak,
                access_key_secret: &c.secret,
                security_token: None,
            },
            REGION,
            &v4_timestamp(std::time::SystemTime::now()),
        );
        let u = format!(
            "{}/{B}/?list-type=2&prefix={raw_prefix}",
            run.oss_endpoint()
        );
        let r = raw("GET", &u, h, vec![]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(xml_fields(&r.text(), "Key"), vec![want]);
    }
    run.shutdown().await;
}

#[tokio::test]
async fn other_apis_on_an_object_are_not_mistaken_for_put_get_or_delete() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let r = send(
        &run,
        Req::new("PUT", B, Some("t")).body("data"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(
        &run,
        Req::new("PUT", B, Some("t"))
            .query(&[("symlink", "")])
            .body("<Symlink/>"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (501, "NotImplemented".into()));
    let r = send(
        &run,
        Req::new("DELETE", B, Some("t")).query(&[("versionId", "CAEQ")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 501);
    let r = send(
        &run,
        Req::new("GET", B, Some("t")).query(&[("symlink", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 501);
    let r = send(&run, Req::new("GET", B, Some("t")), &c, Sig::V1).await;
    assert_eq!(r.text(), "data", "the object is untouched");
    // A presigned DELETE carries signature parameters and is still a DeleteObject.
    let sc = SigningCredentials {
        access_key_id: &c.ak,
        access_key_secret: &c.secret,
        security_token: None,
    };
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 60;
    let h = http::HeaderMap::new();
    let pre = sign::presign_v1("DELETE", Some(B), Some("t"), &[], &h, sc, exp);
    let r = raw("DELETE", &url(&run, B, Some("t"), &pre), h, vec![]).await;
    assert_eq!(r.status, 204, "{}", r.text());
    run.shutdown().await;
}
