//! Fault soak: many resumable uploads of random sizes against oss-local with random injected
//! faults (5xx, cut connections, latency past the read timeout, oss-local restarts). For every
//! upload, either it completed and the stored bytes and CRC-64 equal the source, or it failed
//! with a clear error and a later resume completed it. Nothing is ever reported complete that
//! is not.
//!
//! Bounded: `SOAK_UPLOADS` uploads (default 40), each within 60 s. `SOAK_SEED` replays a run.
//! `make soak` runs 300.

use oss_direct::{Client, ClientConfig, ErrorKind, GetOptions, UploadMode, UploadOptions};
use oss_direct_testkit::Stack;
use rand::{Rng, SeedableRng};
use std::time::Duration;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug)]
enum Fault {
    None,
    PartErrors(u32),
    CompleteError,
    InitiateError,
    Cut(u64, u32),
    Slow(u32),
    Restart(u64),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumable_uploads_under_random_faults_never_lie() {
    let uploads = env_or("SOAK_UPLOADS", 40);
    let seed = env_or("SOAK_SEED", rand::random::<u32>() as u64);
    println!("soak: {uploads} uploads, SOAK_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut stack = Stack::start().await;
    let mut settings = stack.settings();
    let conn = settings.connect(None).await.unwrap();
    let mut cfg = ClientConfig::new(settings.bucket.clone(), settings.region.clone())
        .with_endpoint(settings.endpoint.clone());
    // Short enough that the injected latency trips it, long enough for a loaded CI machine.
    cfg.read_timeout = Duration::from_millis(1000);
    cfg.retry_base_delay = Duration::from_millis(20);
    let client = Client::new(cfg, conn.credentials.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let (mut first_time, mut resumed) = (0, 0);
    for i in 0..uploads {
        let size = match rng.gen_range(0..10) {
            0 => rng.gen_range(0..1000),
            1..=3 => rng.gen_range(1000..150_000),
            _ => rng.gen_range(150_000..1_500_000),
        };
        let data: Vec<u8> = (0..size).map(|_| rng.gen()).collect();
        let src = dir.path().join(format!("f{i}.bin"));
        std::fs::write(&src, &data).unwrap();
        let key = format!("uploads/soak/{i}.bin");
        let fault = match rng.gen_range(0..8) {
            0 => Fault::None,
            1 => Fault::PartErrors(rng.gen_range(1..=4)),
            2 => Fault::CompleteError,
            3 => Fault::InitiateError,
            4 => Fault::Cut(rng.gen_range(1..90_000), rng.gen_range(1..=3)),
            5 => Fault::Slow(rng.gen_range(1..=4)),
            _ => Fault::Restart(rng.gen_range(0..200)),
        };
        let faults = stack.faults();
        match &fault {
            Fault::None | Fault::Restart(_) => {}
            Fault::PartErrors(n) => faults.fail_next("UploadPart", *n, 503, "ServiceUnavailable"),
            Fault::CompleteError => {
                faults.fail_next("CompleteMultipartUpload", 3, 500, "InternalError")
            }
            Fault::InitiateError => {
                faults.fail_next("InitiateMultipartUpload", 1, 503, "ServiceUnavailable")
            }
            Fault::Cut(after, n) => faults.cut_after("UploadPart", *after, *n),
            Fault::Slow(n) => {
                faults.add_latency("UploadPart", Duration::from_millis(1600), Some(*n))
            }
        }
        let checkpoints = dir.path().join("checkpoints");
        let options = move || UploadOptions {
            mode: UploadMode::Resumable,
            part_size: 100 * 1024,
            concurrency: 3,
            checkpoint_dir: Some(checkpoints.clone()),
            ..Default::default()
        };
        let task = {
            let (client, key, src, options) =
                (client.clone(), key.clone(), src.clone(), options.clone());
            tokio::spawn(async move { client.resumable_upload(&key, &src, options()).await })
        };
        if let Fault::Restart(after_ms) = fault {
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            stack.stop_oss().await;
            stack.start_oss().await;
        }
        let first = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("an upload hung")
            .unwrap();
        stack.faults().clear();
        let out = match first {
            Ok(out) => {
                first_time += 1;
                out
            }
            Err(e) => {
                // A clear error that says what happened (never a CRC mismatch: that would mean
                // bytes were lost or mixed up).
                assert!(!e.message().is_empty(), "{e:?}");
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Oss | ErrorKind::Network | ErrorKind::Timeout
                    ),
                    "upload {i} ({fault:?}): unexpected {e}"
                );
                resumed += 1;
                // A later resume completes it (a loaded machine may need another go; each
                // failure on the way must be just as clear).
                let mut attempt = 0;
                loop {
                    match client.resumable_upload(&key, &src, options()).await {
                        Ok(out) => break out,
                        Err(e)
                            if attempt < 3
                                && matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout) =>
                        {
                            attempt += 1
                        }
                        Err(e) => panic!("upload {i} ({fault:?}) did not resume: {e}"),
                    }
                }
            }
        };
        assert_eq!(
            out.upload.crc64,
            oss_direct::crc64::checksum(&data),
            "upload {i}"
        );
        assert_eq!(out.upload.bytes, size as u64);
        let stored = client
            .get_object(&key, &GetOptions::default())
            .await
            .unwrap();
        assert!(
            stored[..] == data[..],
            "upload {i} ({fault:?}): stored bytes differ"
        );
    }
    println!(
        "soak: {uploads} uploads: {first_time} completed through their faults, {resumed} failed with a clear error and completed on resume, 0 reported complete wrongly, 0 lost"
    );
    assert_eq!(first_time + resumed, uploads as usize);
}
