//! The library end to end against oss-local, with credentials from a real app token server:
//! every operation, and resumable uploads through each injected fault.

use oss_direct::{
    AuthServerCredentials, Client, ClientConfig, ErrorKind, GetOptions, PutOptions,
    SignatureVersion, UploadMode, UploadOptions,
};
use oss_direct_testkit::{Stack, StackOptions};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn connect(stack: &Stack, v: SignatureVersion) -> Client {
    let mut s = stack.settings();
    s.signature_version = v;
    s.connect(None).await.unwrap().client
}

fn options(dir: &Path) -> UploadOptions {
    UploadOptions {
        mode: UploadMode::Resumable,
        part_size: 100 * 1024,
        concurrency: 3,
        checkpoint_dir: Some(dir.join("checkpoints")),
        ..Default::default()
    }
}

/// Runs a resumable upload that pauses itself once `parts` parts are in OSS (parts are slowed
/// so the pause lands mid-upload), and checks it reports the pause.
async fn upload_paused_after(
    stack: &Stack,
    c: &Client,
    key: &str,
    src: &Path,
    dir: &Path,
    parts: u32,
) {
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(100), None);
    let mut o = options(dir);
    o.concurrency = 1;
    let cancel = o.cancel.clone();
    o.progress = Some(Arc::new(move |p| {
        if p.parts_done >= parts {
            cancel.cancel();
        }
    }));
    let e = c.resumable_upload(key, src, o).await.unwrap_err();
    stack.faults().clear();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
}

async fn assert_stored(client: &Client, key: &str, want: &[u8]) {
    let got = client
        .get_object(key, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got[..] == want[..], "stored bytes differ from the source");
}

#[tokio::test]
async fn every_operation_with_v1_and_v4() {
    let stack = Stack::start_with(StackOptions {
        policy: oss_direct_testkit::ALL_ON_PREFIX_POLICY,
        ..Default::default()
    })
    .await;
    for v in [SignatureVersion::V1, SignatureVersion::V4] {
        let c = connect(&stack, v).await;
        let key = format!("uploads/ops {v:?}/hello wörld+.txt");
        let put = c
            .put_object(
                &key,
                bytes::Bytes::from_static(b"hello world"),
                Some("text/plain"),
            )
            .await
            .unwrap();
        assert_eq!(put.crc64, oss_direct::crc64::checksum(b"hello world"));
        let meta = c.head_object(&key).await.unwrap();
        assert_eq!((meta.size, meta.crc64), (11, Some(put.crc64)));
        assert_eq!(meta.content_type, "text/plain");
        let range = GetOptions {
            range: Some((6, Some(10))),
            process: None,
        };
        assert_eq!(&c.get_object(&key, &range).await.unwrap()[..], b"world");
        let list = c
            .list_objects_v2(&format!("uploads/ops {v:?}/"), None, 10)
            .await
            .unwrap();
        assert_eq!(
            list.objects
                .iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>(),
            vec![key.as_str()]
        );
        // A presigned URL works with a plain HTTP client, and only until it expires.
        let url = c
            .presign_get(&key, Duration::from_secs(60), None)
            .await
            .unwrap();
        let body = reqwest::get(&url).await.unwrap();
        assert_eq!(body.status(), 200);
        assert_eq!(&body.bytes().await.unwrap()[..], b"hello world");
        let tampered = url.replace("hello", "hellO");
        assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 403);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        assert_eq!(
            c.get_object_to_file(&key, &out, &GetOptions::default())
                .await
                .unwrap(),
            11
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"hello world");
        c.delete_object(&key).await.unwrap();
        let e = c.head_object(&key).await.unwrap_err();
        assert_eq!(e.oss().unwrap().status, 404);
        let e = c
            .get_object(&key, &GetOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("NoSuchKey"));
    }
}

#[tokio::test]
async fn multipart_operations_and_listing_every_part() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V4).await;
    let key = "uploads/mp.bin";
    let id = c
        .initiate_multipart_upload(key, Some("application/octet-stream"))
        .await
        .unwrap();
    let body = data(250 * 1024, 1);
    let mut parts = Vec::new();
    for (i, chunk) in body.chunks(100 * 1024).enumerate() {
        parts.push(
            c.upload_part(key, &id, i as u32 + 1, bytes::Bytes::copy_from_slice(chunk))
                .await
                .unwrap(),
        );
    }
    let listed = c.list_parts(key, &id).await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.part_number).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(listed[2].size, 50 * 1024);
    let done = c.complete_multipart_upload(key, &id, &parts).await.unwrap();
    let local = parts
        .iter()
        .fold(0, |acc, p| oss_direct::crc64::combine(acc, p.crc64, p.size));
    assert_eq!(done.crc64, Some(local));
    assert_stored(&c, key, &body).await;
    // Abort of a finished upload: NoSuchUpload.
    let e = c.abort_multipart_upload(key, &id).await.unwrap_err();
    assert_eq!(e.code(), Some("NoSuchUpload"));
}

#[tokio::test]
async fn image_processing_urls_make_thumbnails() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V4).await;
    let img = image::RgbImage::from_fn(400, 300, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    c.put_object("uploads/pic.png", png.into(), Some("image/png"))
        .await
        .unwrap();
    use oss_direct::process::{ImageProcess, Resize, ResizeMode};
    let p = ImageProcess::new()
        .resize(Resize::new(ResizeMode::Lfit).width(100))
        .to_string();
    let thumb = c
        .get_object(
            "uploads/pic.png",
            &GetOptions {
                range: None,
                process: Some(p.clone()),
            },
        )
        .await
        .unwrap();
    let t = image::load_from_memory(&thumb).unwrap();
    assert_eq!((t.width(), t.height()), (100, 75));
    // The same through a presigned URL.
    let url = c
        .presign_get("uploads/pic.png", Duration::from_secs(60), Some(&p))
        .await
        .unwrap();
    let via_url = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&via_url).unwrap().width(), 100);
}

#[tokio::test]
async fn the_default_policy_denies_keys_outside_the_prefix_listing_and_deleting() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V4).await;
    c.put_object("uploads/mine.txt", bytes::Bytes::from_static(b"x"), None)
        .await
        .unwrap();
    let e = c.list_objects_v2("uploads/", None, 10).await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = c.delete_object("uploads/mine.txt").await.unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    let e = c
        .put_object("elsewhere/x.txt", bytes::Bytes::from_static(b"x"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"));
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn resumable_upload_reports_progress_in_order_up_to_the_size() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V1).await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let body = data(1_000_000, 2);
    std::fs::write(&src, &body).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let mut o = options(dir.path());
    o.progress = Some(Arc::new(move |p| s.lock().unwrap().push(p)));
    let out = c
        .resumable_upload("uploads/big.bin", &src, o)
        .await
        .unwrap();
    assert_eq!(out.upload.crc64, oss_direct::crc64::checksum(&body));
    assert_eq!(
        (out.upload.resumed_parts, out.upload.uploaded_parts),
        (0, 10)
    );
    let last = *seen.lock().unwrap().last().unwrap();
    assert_eq!(
        (last.bytes_done, last.parts_done, last.parts_total),
        (1_000_000, 10, 10)
    );
    assert_stored(&c, "uploads/big.bin", &body).await;
    // The checkpoint is gone once the upload is complete.
    assert_eq!(
        std::fs::read_dir(dir.path().join("checkpoints"))
            .unwrap()
            .count(),
        0
    );
}

async fn upload_through(
    stack: &Stack,
    c: &Client,
    key: &str,
    fault: impl FnOnce(&oss_local::Faults),
) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("f.bin");
    let body = data(700 * 1024, key.len() as u32);
    std::fs::write(&src, &body).unwrap();
    fault(stack.faults());
    let out = c
        .resumable_upload(key, &src, options(dir.path()))
        .await
        .unwrap();
    stack.faults().clear();
    assert_eq!(out.upload.crc64, oss_direct::crc64::checksum(&body));
    assert_stored(c, key, &body).await;
}

#[tokio::test]
async fn resumable_upload_survives_server_errors_and_cut_connections() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V4).await;
    upload_through(&stack, &c, "uploads/5xx.bin", |f| {
        f.fail_next("UploadPart", 2, 503, "ServiceUnavailable")
    })
    .await;
    upload_through(&stack, &c, "uploads/500-complete.bin", |f| {
        f.fail_next("CompleteMultipartUpload", 1, 500, "InternalError")
    })
    .await;
    upload_through(&stack, &c, "uploads/cut.bin", |f| {
        f.cut_after("UploadPart", 30_000, 2)
    })
    .await;
}

#[tokio::test]
async fn resumable_upload_survives_latency_past_the_read_timeout() {
    let stack = Stack::start().await;
    let mut settings = stack.settings();
    let conn = settings.connect(None).await.unwrap();
    let mut cfg = ClientConfig::new(settings.bucket.clone(), settings.region.clone())
        .with_endpoint(settings.endpoint.clone());
    cfg.read_timeout = Duration::from_millis(500);
    cfg.retry_base_delay = Duration::from_millis(10);
    let c = Client::new(cfg, conn.credentials.clone()).unwrap();
    upload_through(&stack, &c, "uploads/slow.bin", |f| {
        f.add_latency("UploadPart", Duration::from_millis(1500), Some(2))
    })
    .await;
}

#[tokio::test]
async fn a_token_expiring_mid_upload_is_refreshed_without_failing() {
    let stack = Stack::start().await;
    // Tokens live 2 s; the provider keeps them to the last second (no refresh margin), so the
    // upload meets SecurityTokenExpired and must refresh and retry.
    stack
        .faults()
        .set_token_lifetime(Some(Duration::from_secs(2)));
    let creds = Arc::new(
        AuthServerCredentials::new(stack.token_url.clone())
            .unwrap()
            .with_refresh_margin(Duration::ZERO),
    );
    let hints = creds.token().await.unwrap().hints;
    let cfg = ClientConfig::new(hints.bucket.unwrap(), hints.region.unwrap())
        .with_endpoint(hints.endpoint.unwrap());
    let c = Client::new(cfg, creds).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("f.bin");
    let body = data(600 * 1024, 9);
    std::fs::write(&src, &body).unwrap();
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(800), None);
    let mut o = options(dir.path());
    o.concurrency = 1;
    let out = c
        .resumable_upload("uploads/expiring.bin", &src, o)
        .await
        .unwrap();
    assert_eq!(out.upload.crc64, oss_direct::crc64::checksum(&body));
}

#[tokio::test]
async fn paused_upload_resumes_in_a_new_client_sending_only_missing_parts() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("f.bin");
    let body = data(1_024_000, 3);
    std::fs::write(&src, &body).unwrap();
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(150), None);
    let c = connect(&stack, SignatureVersion::V4).await;
    let mut o = options(dir.path());
    o.concurrency = 1;
    let cancel = o.cancel.clone();
    let parts_done = Arc::new(Mutex::new(0u32));
    let pd = parts_done.clone();
    o.progress = Some(Arc::new(move |p| {
        *pd.lock().unwrap() = p.parts_done;
        if p.parts_done >= 4 {
            cancel.cancel();
        }
    }));
    let e = c
        .resumable_upload("uploads/paused.bin", &src, o)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    let before = *parts_done.lock().unwrap();
    assert!((4..10).contains(&before), "{before}");
    stack.faults().clear();

    // A fresh client (as after a restart) resumes from the checkpoint.
    let c2 = connect(&stack, SignatureVersion::V4).await;
    let out = c2
        .resumable_upload("uploads/paused.bin", &src, options(dir.path()))
        .await
        .unwrap();
    assert!(out.restarted.is_none());
    assert!(out.upload.resumed_parts >= 4, "{:?}", out.upload);
    assert_eq!(out.upload.resumed_parts + out.upload.uploaded_parts, 10);
    assert_stored(&c2, "uploads/paused.bin", &body).await;
}

#[tokio::test]
async fn a_changed_file_a_corrupt_checkpoint_or_a_vanished_upload_start_over() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V4).await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("f.bin");
    let cps = oss_direct::checkpoint::CheckpointStore::new(dir.path().join("checkpoints"));
    let key = "uploads/changing.bin";

    // 1. The file changes between runs.
    std::fs::write(&src, data(500_000, 4)).unwrap();
    upload_paused_after(&stack, &c, key, &src, dir.path(), 1).await;
    let changed = data(520_000, 5);
    std::fs::write(&src, &changed).unwrap();
    let out = c
        .resumable_upload(key, &src, options(dir.path()))
        .await
        .unwrap();
    assert!(
        out.restarted.as_deref().unwrap().contains("size"),
        "{:?}",
        out.restarted
    );
    assert_eq!(out.upload.resumed_parts, 0);
    assert_stored(&c, key, &changed).await;

    // 2. A corrupt checkpoint is reported and replaced.
    upload_paused_after(&stack, &c, key, &src, dir.path(), 1).await;
    let abs = std::path::absolute(&src).unwrap();
    std::fs::write(cps.path_for(c.bucket(), key, &abs), b"{not json").unwrap();
    let out = c
        .resumable_upload(key, &src, options(dir.path()))
        .await
        .unwrap();
    assert!(
        out.restarted.as_deref().unwrap().contains("corrupt"),
        "{:?}",
        out.restarted
    );
    assert_stored(&c, key, &changed).await;

    // 3. The upload vanished from OSS (aborted elsewhere): NoSuchUpload starts over.
    upload_paused_after(&stack, &c, key, &src, dir.path(), 1).await;
    let oss_direct::checkpoint::Loaded::Found(cp) = cps.load(c.bucket(), key, &abs) else {
        panic!("checkpoint expected")
    };
    c.abort_multipart_upload(key, &cp.upload_id).await.unwrap();
    let out = c
        .resumable_upload(key, &src, options(dir.path()))
        .await
        .unwrap();
    assert!(
        out.restarted
            .as_deref()
            .unwrap()
            .contains("no longer exists"),
        "{:?}",
        out.restarted
    );
    assert_stored(&c, key, &changed).await;
}

#[tokio::test]
async fn simple_upload_from_file_and_abort_of_a_resumable_one() {
    let stack = Stack::start().await;
    let c = connect(&stack, SignatureVersion::V4).await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("photo.jpg");
    let body = data(300_000, 6);
    std::fs::write(&src, &body).unwrap();
    let out = c
        .put_object_from_file("uploads/photo.jpg", &src, PutOptions::default())
        .await
        .unwrap();
    assert_eq!(out.crc64, oss_direct::crc64::checksum(&body));
    assert_eq!(
        c.head_object("uploads/photo.jpg")
            .await
            .unwrap()
            .content_type,
        "image/jpeg"
    );

    // Abort removes both the upload in OSS and the checkpoint.
    upload_paused_after(&stack, &c, "uploads/abort.bin", &src, dir.path(), 1).await;
    let cps = oss_direct::checkpoint::CheckpointStore::new(dir.path().join("checkpoints"));
    let abs = std::path::absolute(&src).unwrap();
    let oss_direct::checkpoint::Loaded::Found(cp) = cps.load(c.bucket(), "uploads/abort.bin", &abs)
    else {
        panic!("checkpoint expected")
    };
    c.abort_resumable_upload(
        "uploads/abort.bin",
        &src,
        Some(dir.path().join("checkpoints")),
    )
    .await
    .unwrap();
    assert!(matches!(
        cps.load(c.bucket(), "uploads/abort.bin", &abs),
        oss_direct::checkpoint::Loaded::Missing
    ));
    let e = c
        .list_parts("uploads/abort.bin", &cp.upload_id)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("NoSuchUpload"));
}

#[tokio::test]
async fn upload_callbacks_tell_the_app_server_or_say_they_could_not() {
    let stack = Stack::start_with(StackOptions {
        callback: true,
        ..Default::default()
    })
    .await;
    let mut settings = stack.settings();
    let conn = settings.connect(None).await.unwrap();
    let hint = conn
        .hints
        .callback
        .clone()
        .expect("the token server hints a callback");
    hint.validate().unwrap();
    let callback = hint;
    let c = conn.client.clone();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("clip.bin");
    let body = data(450 * 1024, 11);
    std::fs::write(&src, &body).unwrap();

    // Resumable (multipart): the callback rides on CompleteMultipartUpload.
    let mut o = options(dir.path());
    o.callback = Some(callback.clone());
    let out = c
        .resumable_upload("uploads/clip.bin", &src, o)
        .await
        .unwrap();
    assert_eq!(out.upload.crc64, oss_direct::crc64::checksum(&body));
    match &out.upload.callback {
        Some(oss_direct::CallbackOutcome::Answered { body }) => {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(v.is_object(), "{body}");
        }
        other => panic!("expected the app server's answer, got {other:?}"),
    }
    // Simple: on PutObject.
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, b"not really a jpeg").unwrap();
    let put = PutOptions {
        callback: Some(callback.clone()),
        ..Default::default()
    };
    let out = c
        .put_object_from_file("uploads/photo.jpg", &photo, put)
        .await
        .unwrap();
    assert!(matches!(
        out.callback,
        Some(oss_direct::CallbackOutcome::Answered { .. })
    ));

    // The app server recorded both, newest first.
    let page = conn.credentials.list_uploads(Some(10), None).await.unwrap();
    let keys: Vec<&str> = page.uploads.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, vec!["uploads/photo.jpg", "uploads/clip.bin"]);
    assert_eq!(page.uploads[1].size, Some(450 * 1024));
    let one = conn.credentials.list_uploads(Some(1), None).await.unwrap();
    assert_eq!(one.uploads.len(), 1);
    let next = conn
        .credentials
        .list_uploads(Some(1), one.next_after.as_deref())
        .await
        .unwrap();
    assert_eq!(next.uploads[0].key, "uploads/clip.bin");

    // The callback server is down: stored, but not told.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut down = callback.clone();
    down.callback_url = format!("http://{}/callback", dead.local_addr().unwrap());
    drop(dead);
    let put = PutOptions {
        callback: Some(down),
        ..Default::default()
    };
    let out = c
        .put_object_from_file("uploads/untold.jpg", &photo, put)
        .await
        .unwrap();
    assert!(
        matches!(
            out.callback,
            Some(oss_direct::CallbackOutcome::Failed { .. })
        ),
        "{:?}",
        out.callback
    );
    assert_stored(&c, "uploads/untold.jpg", b"not really a jpeg").await;
}
