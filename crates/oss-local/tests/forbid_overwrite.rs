//! Issue 16: `x-oss-forbid-overwrite: true` wherever an upload can replace an object (PutObject,
//! InitiateMultipartUpload, CompleteMultipartUpload, a PostObject field; CopyObject is in
//! copy.rs): 409 `FileAlreadyExists`, the existing object unchanged.

mod common;
use common::*;
use oss_local::DEMO_BUCKET as B;

#[tokio::test]
async fn forbid_overwrite_holds_for_put_and_both_ends_of_multipart() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let forbid = |r: Req<'static>| r.header("x-oss-forbid-overwrite", "true");
    assert_eq!(
        send(
            &run,
            forbid(Req::new("PUT", B, Some("k")).body("first")),
            &c,
            Sig::V4
        )
        .await
        .status,
        200
    );
    let r = send(
        &run,
        forbid(Req::new("PUT", B, Some("k")).body("second")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "FileAlreadyExists".into()));
    let r = send(
        &run,
        forbid(Req::new("POST", B, Some("k")).query(&[("uploads", "")])),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (409, "FileAlreadyExists".into()));

    // Initiated while the key was free, completed after someone else stored it.
    let r = send(
        &run,
        forbid(Req::new("POST", B, Some("m")).query(&[("uploads", "")])),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let part = Req::new("PUT", B, Some("m"))
        .query(&[("uploadId", &id), ("partNumber", "1")])
        .body("part");
    assert_eq!(send(&run, part, &c, Sig::V4).await.status, 200);
    assert_eq!(
        send(
            &run,
            Req::new("PUT", B, Some("m")).body("meanwhile"),
            &c,
            Sig::V4
        )
        .await
        .status,
        200
    );
    let complete = Req::new("POST", B, Some("m"))
        .query(&[("uploadId", &id)])
        .header("x-oss-complete-all", "yes");
    let r = send(&run, forbid(complete), &c, Sig::V4).await;
    assert_eq!((r.status, r.code()), (409, "FileAlreadyExists".into()));
    for (key, text) in [("k", "first"), ("m", "meanwhile")] {
        let r = send(&run, Req::new("GET", B, Some(key)), &c, Sig::V4).await;
        assert_eq!(r.text(), text, "{key} unchanged");
    }
    run.shutdown().await;
}
