//! CopyObject and UploadPartCopy (issue 16): a copy is the source's bytes (never an empty
//! object), a missing source writes nothing, and the caller needs read access to the source.

mod common;
use common::*;
use oss_local::DEMO_BUCKET as B;

fn source(key: &str) -> String {
    format!("/{B}/{}", oss_direct_wire::sign::uri_encode(key, true))
}

async fn get(run: &oss_local::Running, key: &str) -> Resp {
    send(run, Req::new("GET", B, Some(key)), &Creds::user(), Sig::V4).await
}

#[tokio::test]
async fn copy_object_copies_bytes_and_metadata_and_refuses_a_missing_source() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let body = data(300_000, 3);
    let r = send(
        &run,
        Req::new("PUT", B, Some("src dir/a.bin"))
            .header("content-type", "image/png")
            .header("x-oss-meta-who", "alice")
            .body(body.clone()),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    let (etag, crc) = (r.header("etag"), r.header("x-oss-hash-crc64ecma"));
    send(
        &run,
        Req::new("PUT", B, Some("dst")).body("old"),
        &c,
        Sig::V4,
    )
    .await;

    let r = send(
        &run,
        Req::new("PUT", B, Some("dst")).header("x-oss-copy-source", &source("src dir/a.bin")),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(xml_field(&r.text(), "ETag").unwrap(), etag);
    let g = get(&run, "dst").await;
    assert_eq!(g.body, body, "the copy holds the source's bytes");
    assert_eq!(g.header("etag"), etag);
    assert_eq!(g.header("x-oss-hash-crc64ecma"), crc);
    assert_eq!(g.header("content-type"), "image/png");
    assert_eq!(g.header("x-oss-meta-who"), "alice");

    // REPLACE takes the request's metadata.
    let r = send(
        &run,
        Req::new("PUT", B, Some("dst2"))
            .header("x-oss-copy-source", &source("src dir/a.bin"))
            .header("x-oss-metadata-directive", "REPLACE")
            .header("content-type", "text/plain")
            .header("x-oss-meta-who", "bob"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let g = get(&run, "dst2").await;
    assert_eq!(
        (g.header("content-type"), g.header("x-oss-meta-who")),
        ("text/plain".into(), "bob".into())
    );
    assert_eq!(g.body, body);

    // A missing source: NoSuchKey, the destination untouched.
    send(
        &run,
        Req::new("PUT", B, Some("keep")).body("keep me"),
        &c,
        Sig::V4,
    )
    .await;
    let r = send(
        &run,
        Req::new("PUT", B, Some("keep")).header("x-oss-copy-source", &source("nope")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NoSuchKey".into()));
    assert_eq!(get(&run, "keep").await.text(), "keep me");
    // Conditions on the source, and forbid-overwrite on the destination.
    let r = send(
        &run,
        Req::new("PUT", B, Some("keep"))
            .header("x-oss-copy-source", &source("src dir/a.bin"))
            .header("x-oss-copy-source-if-match", "\"0000\""),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (412, "PreconditionFailed".into()));
    let r = send(
        &run,
        Req::new("PUT", B, Some("keep"))
            .header("x-oss-copy-source", &source("src dir/a.bin"))
            .header("x-oss-forbid-overwrite", "true"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "FileAlreadyExists".into()));
    assert_eq!(get(&run, "keep").await.text(), "keep me");
    run.shutdown().await;
}

#[tokio::test]
async fn copy_needs_read_access_to_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let user = Creds::user();
    send(
        &run,
        Req::new("PUT", B, Some("private/secret")).body("s3cret"),
        &user,
        Sig::V4,
    )
    .await;
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":"acs:oss:*:*:demo-bucket/uploads/*"}]}"#;
    let c = assume_role(&run, &[("Policy", policy)]).await;
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/stolen"))
            .header("x-oss-copy-source", &source("private/secret")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    assert_eq!(get(&run, "uploads/stolen").await.status, 404);
    run.shutdown().await;
}

#[tokio::test]
async fn upload_part_copy_assembles_an_object_server_side() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let body = data(250_000, 9);
    send(
        &run,
        Req::new("PUT", B, Some("big")).body(body.clone()),
        &c,
        Sig::V4,
    )
    .await;
    let r = send(
        &run,
        Req::new("POST", B, Some("assembled")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let mut xml = String::from("<CompleteMultipartUpload>");
    for (n, range) in [(1, "bytes=0-149999"), (2, "bytes=150000-249999")] {
        let r = send(
            &run,
            Req::new("PUT", B, Some("assembled"))
                .query(&[("partNumber", &n.to_string()), ("uploadId", &id)])
                .header("x-oss-copy-source", &source("big"))
                .header("x-oss-copy-source-range", range),
            &c,
            Sig::V4,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let etag = xml_field(&r.text(), "ETag").unwrap();
        xml += &format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>");
    }
    xml += "</CompleteMultipartUpload>";
    // A missing source stores no part.
    let r = send(
        &run,
        Req::new("PUT", B, Some("assembled"))
            .query(&[("partNumber", "3"), ("uploadId", &id)])
            .header("x-oss-copy-source", &source("nope")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NoSuchKey".into()));
    let r = send(
        &run,
        Req::new("GET", B, Some("assembled")).query(&[("uploadId", &id)]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "PartNumber"), vec!["1", "2"]);
    let r = send(
        &run,
        Req::new("POST", B, Some("assembled"))
            .query(&[("uploadId", &id)])
            .body(xml),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(get(&run, "assembled").await.body, body);
    run.shutdown().await;
}
