//! The upload queue against a real oss-local and token server: many files side by side, an
//! outage (oss-local gone, then 503s and cut connections) ridden out with no call from the test,
//! pause / resume / cancel, failures that only fail their own file, and a restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oss_direct::queue::{FileState, Queue, QueueConfig, QueueEvent};
use oss_direct::{Client, ClientConfig, GetOptions, UploadMode};
use oss_direct_testkit::Stack;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn client(stack: &Stack) -> Client {
    let mut settings = stack.settings();
    let conn = settings.connect(None).await.unwrap();
    let mut cfg = ClientConfig::new(settings.bucket.clone(), settings.region.clone())
        .with_endpoint(settings.endpoint.clone());
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.read_timeout = Duration::from_secs(2);
    cfg.retry_base_delay = Duration::from_millis(20);
    Client::new(cfg, conn.credentials.clone()).unwrap()
}

fn config(dir: &Path) -> QueueConfig {
    let mut c = QueueConfig::new(dir.join("queue.sqlite"));
    c.jobs = 3;
    c.upload.mode = UploadMode::Resumable;
    c.upload.part_size = 100 * 1024;
    c.upload.checkpoint_dir = Some(dir.join("checkpoints"));
    c.backoff_start = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(400);
    c
}

/// Writes `sizes.len()` files; their paths and contents.
fn files(dir: &Path, sizes: &[usize]) -> Vec<(PathBuf, Vec<u8>)> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let p = dir.join(format!("photo-{i}.jpg"));
            let d = data(n, i as u8);
            std::fs::write(&p, &d).unwrap();
            (p, d)
        })
        .collect()
}

async fn assert_stored(c: &Client, key: &str, want: &[u8]) {
    let got = c.get_object(key, &GetOptions::default()).await.unwrap();
    assert_eq!(got.len(), want.len(), "{key}");
    assert!(got == want, "{key}: stored bytes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_files_upload_side_by_side_and_all_verify() {
    let stack = Stack::start().await;
    let c = client(&stack).await;
    let dir = tempfile::tempdir().unwrap();
    let q = Queue::open(c.clone(), config(dir.path())).unwrap();
    let mut events = q.subscribe();
    let sizes = [0, 1, 50_000, 150_000, 420_000, 90_000, 333_333, 250_000];
    let fs = files(dir.path(), &sizes);
    for (i, (p, _)) in fs.iter().enumerate() {
        q.add(p, &format!("uploads/q/{i}.jpg")).unwrap();
    }
    let summary = q.run(true).await.unwrap();
    assert_eq!((summary.done, summary.failed, summary.files), (8, 0, 8));
    assert_eq!(summary.bytes_done, summary.bytes_total);
    for (i, (_, d)) in fs.iter().enumerate() {
        assert_stored(&c, &format!("uploads/q/{i}.jpg"), d).await;
    }
    for f in q.files().unwrap() {
        assert_eq!(
            f.crc64,
            Some(oss_direct::crc64::checksum(&fs[f.id.0 as usize - 1].1))
        );
    }
    // Several files were uploading at the same time.
    let (mut uploading, mut most) = (std::collections::HashSet::new(), 0);
    while let Ok(e) = events.try_recv() {
        if let QueueEvent::File { file } = e {
            if file.state == FileState::Uploading {
                uploading.insert(file.id);
            } else {
                uploading.remove(&file.id);
            }
            most = most.max(uploading.len());
        }
    }
    assert!(most >= 2, "at most {most} file(s) uploaded at once");
    // Added again: nothing to do.
    assert_eq!(
        q.add(&fs[2].0, "uploads/q/2.jpg").unwrap().state,
        FileState::Done
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_a_wait_and_every_file_completes_by_itself() {
    let mut stack = Stack::start().await;
    let c = client(&stack).await;
    let dir = tempfile::tempdir().unwrap();
    let q = Queue::open(c.clone(), config(dir.path())).unwrap();
    let fs = files(dir.path(), &[700_000, 30_000, 512_000, 5_000, 260_000]);
    for (i, (p, _)) in fs.iter().enumerate() {
        q.add(p, &format!("uploads/outage/{i}.bin")).unwrap();
    }
    // Every OSS request fails with 503 for a while, and some part bodies are cut mid-way.
    stack.faults().fail_next("*", 40, 503, "ServiceUnavailable");
    stack.faults().cut_after("UploadPart", 20_000, 4);
    let runner = tokio::spawn({
        let q = q.clone();
        async move { q.run(true).await }
    });
    // Wait until a file waits for the network, then take OSS away altogether for a while.
    let waited = wait_for(&q, |f| f.state == FileState::Waiting).await;
    assert!(waited, "no file went to waiting under 503s");
    stack.stop_oss().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let waiting = q.summary().unwrap();
    assert!(waiting.failed == 0, "an outage failed a file: {waiting:?}");
    stack.start_oss().await;
    let summary = tokio::time::timeout(Duration::from_secs(120), runner)
        .await
        .expect("the queue finishes once the network is back")
        .unwrap()
        .unwrap();
    assert_eq!(
        (summary.done, summary.failed),
        (5, 0),
        "{:?}",
        q.files().unwrap()
    );
    for (i, (_, d)) in fs.iter().enumerate() {
        assert_stored(&c, &format!("uploads/outage/{i}.bin"), d).await;
    }
}

/// Polls the queue until a file matches (30 s at most).
async fn wait_for(q: &Queue, pred: impl Fn(&oss_direct::queue::QueuedFile) -> bool) -> bool {
    for _ in 0..300 {
        if q.files().unwrap().iter().any(&pred) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_cancel_and_a_failure_stay_with_their_file() {
    let stack = Stack::start().await;
    let c = client(&stack).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.jobs = 1;
    let q = Queue::open(c.clone(), cfg).unwrap();
    let fs = files(dir.path(), &[600_000, 200_000, 100_000, 10_000]);
    let ids: Vec<_> = fs
        .iter()
        .enumerate()
        .map(|(i, (p, _))| q.add(p, &format!("uploads/pc/{i}.bin")).unwrap().id)
        .collect();
    // The third file disappears before its turn: it fails, alone.
    std::fs::remove_file(&fs[2].0).unwrap();
    q.pause(ids[1]).unwrap();
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(150), None);
    let runner = tokio::spawn({
        let q = q.clone();
        async move { q.run(true).await }
    });
    assert!(wait_for(&q, |f| f.id == ids[0] && f.bytes_done > 0).await);
    q.cancel(ids[0]).await.unwrap();
    stack.faults().clear();
    let summary = runner.await.unwrap().unwrap();
    let by_id = |id| q.file(id).unwrap().unwrap();
    assert_eq!(by_id(ids[0]).state, FileState::Cancelled);
    assert_eq!(by_id(ids[1]).state, FileState::Paused);
    let failed = by_id(ids[2]);
    assert_eq!(failed.state, FileState::Failed);
    assert!(failed.reason.unwrap().contains("photo-2.jpg"));
    assert_eq!(by_id(ids[3]).state, FileState::Done);
    assert_eq!((summary.done, summary.paused, summary.failed), (1, 1, 1));
    // The cancelled upload left nothing in OSS, nor a checkpoint.
    assert!(c.head_object("uploads/pc/0.bin").await.is_err());
    // Resumed, the paused file completes.
    q.resume(ids[1]).unwrap();
    let summary = q.run(true).await.unwrap();
    assert_eq!(summary.done, 2);
    assert_stored(&c, "uploads/pc/1.bin", &fs[1].1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_unfinished_files_resume_from_their_checkpoints() {
    let stack = Stack::start().await;
    let c = client(&stack).await;
    let dir = tempfile::tempdir().unwrap();
    let fs = files(dir.path(), &[900_000, 400_000]);
    {
        let q = Queue::open(c.clone(), config(dir.path())).unwrap();
        for (i, (p, _)) in fs.iter().enumerate() {
            q.add(p, &format!("uploads/rs/{i}.bin")).unwrap();
        }
        stack
            .faults()
            .add_latency("UploadPart", Duration::from_millis(100), None);
        let runner = tokio::spawn({
            let q = q.clone();
            async move { q.run(false).await }
        });
        assert!(wait_for(&q, |f| f.bytes_done >= 300_000).await);
        // The process "dies": the runner and its uploads stop where they are.
        runner.abort();
        q.pause_all().unwrap(); // stops the in-flight tasks, as a dying process would
        stack.faults().clear();
    }
    // Reopened with the pauses undone as a crash would leave them (uploading rows).
    let q = Queue::open(c.clone(), config(dir.path())).unwrap();
    q.resume_all().unwrap();
    let summary = q.run(true).await.unwrap();
    assert_eq!(summary.done, 2, "{:?}", q.files().unwrap());
    for (i, (_, d)) in fs.iter().enumerate() {
        assert_stored(&c, &format!("uploads/rs/{i}.bin"), d).await;
    }
}
