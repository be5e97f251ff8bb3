//! DeleteMultipleObjects (issue 16): deletes the listed keys, answers each (or nothing when
//! quiet), checks Content-MD5, and one key outside the caller's policy refuses the whole request.

mod common;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use md5::Digest;
use oss_local::DEMO_BUCKET as B;

fn delete_body(keys: &[&str], quiet: bool) -> String {
    let mut x = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>{quiet}</Quiet>");
    for k in keys {
        x += &format!("<Object><Key>{}</Key></Object>", k.replace('&', "&amp;"));
    }
    x + "</Delete>"
}

async fn delete(run: &oss_local::Running, c: &Creds, body: String) -> Resp {
    let md5 = STANDARD.encode(md5::Md5::digest(body.as_bytes()));
    send(
        run,
        Req::new("POST", B, None)
            .query(&[("delete", "")])
            .header("content-md5", &md5)
            .body(body),
        c,
        Sig::V4,
    )
    .await
}

async fn exists(run: &oss_local::Running, key: &str) -> bool {
    send(run, Req::new("HEAD", B, Some(key)), &Creds::user(), Sig::V4)
        .await
        .status
        == 200
}

#[tokio::test]
async fn delete_multiple_objects_deletes_what_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    for k in ["uploads/a", "uploads/b & c", "uploads/keep", "other/x"] {
        send(&run, Req::new("PUT", B, Some(k)).body("x"), &c, Sig::V4).await;
    }
    let r = delete(
        &run,
        &c,
        delete_body(&["uploads/a", "uploads/b & c", "uploads/missing"], false),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        xml_fields(&r.text(), "Key"),
        vec!["uploads/a", "uploads/b &amp; c", "uploads/missing"]
    );
    assert!(!exists(&run, "uploads/a").await && !exists(&run, "uploads/b & c").await);
    assert!(exists(&run, "uploads/keep").await);

    // Quiet: nothing listed.
    let r = delete(&run, &c, delete_body(&["uploads/keep"], true)).await;
    assert_eq!(r.status, 200);
    assert!(xml_fields(&r.text(), "Key").is_empty());
    assert!(!exists(&run, "uploads/keep").await);

    // A wrong Content-MD5.
    let r = send(
        &run,
        Req::new("POST", B, None)
            .query(&[("delete", "")])
            .header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
            .body(delete_body(&["other/x"], false)),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidDigest".into()));

    // A key outside the caller's policy refuses the request: nothing deleted.
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:demo-bucket/uploads/*"}]}"#;
    let scoped = assume_role(&run, &[("Policy", policy)]).await;
    send(
        &run,
        Req::new("PUT", B, Some("uploads/mine")).body("x"),
        &c,
        Sig::V4,
    )
    .await;
    let r = delete(
        &run,
        &scoped,
        delete_body(&["uploads/mine", "other/x"], false),
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    assert!(exists(&run, "uploads/mine").await && exists(&run, "other/x").await);
    let r = delete(&run, &scoped, delete_body(&["uploads/mine"], false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!exists(&run, "uploads/mine").await);
    run.shutdown().await;
}
