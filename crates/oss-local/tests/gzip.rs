//! GetObject's gzip answer (as OSS compresses text types of 1 KB or more for
//! `Accept-Encoding: gzip`), and where it does not apply.

mod common;
use common::*;
use oss_local::DEMO_BUCKET as B;
use std::io::Read;

#[tokio::test]
async fn text_objects_are_gzipped_on_request_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let text = "a line of text\n".repeat(200);
    for (key, ct, body) in [
        ("t.txt", "text/plain", text.as_bytes().to_vec()),
        ("small.txt", "text/plain", b"short".to_vec()),
        ("p.jpg", "image/jpeg", text.as_bytes().to_vec()),
    ] {
        let put = Req::new("PUT", B, Some(key))
            .header("content-type", ct)
            .body(body);
        assert_eq!(send(&run, put, &c, Sig::V4).await.status, 200);
    }
    let get = |key: &'static str| Req::new("GET", B, Some(key)).header("accept-encoding", "gzip");
    let r = send(&run, get("t.txt"), &c, Sig::V4).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-encoding"), "gzip");
    assert_eq!(
        r.header("content-length"),
        "",
        "compressed answers are chunked"
    );
    assert!(r.body.len() < text.len());
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, text);
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        oss_direct::crc64::checksum(text.as_bytes()).to_string(),
        "the CRC-64 is the stored bytes'"
    );
    for (req, why) in [
        (get("small.txt"), "under 1 KB"),
        (get("p.jpg"), "not a text type"),
        (get("t.txt").header("range", "bytes=0-9"), "a range"),
        (Req::new("GET", B, Some("t.txt")), "not asked for"),
    ] {
        let r = send(&run, req, &c, Sig::V4).await;
        assert_eq!(r.header("content-encoding"), "", "{why}");
    }
    run.shutdown().await;
}
