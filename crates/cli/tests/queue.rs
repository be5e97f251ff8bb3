//! `oss-direct upload PATH...` as one queue: folders and files together, an OSS outage ridden
//! out, a re-run after a kill, and 50 kills at random points that never lose or duplicate a file.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use oss_direct_testkit::Stack;
use rand::Rng;

const BIN: &str = env!("CARGO_BIN_EXE_oss-direct");

fn write(path: &Path, len: usize, seed: u8) -> Vec<u8> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) ^ (i >> 10) as u8)
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

/// An album folder (with a sub-folder) and a loose file; (key, bytes) of each.
fn album(dir: &Path, sizes: &[usize]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let rel = if i % 3 == 2 {
            format!("album/sub/v{i}.bin")
        } else {
            format!("album/p{i}.jpg")
        };
        out.push((format!("uploads/{rel}"), write(&dir.join(&rel), n, i as u8)));
    }
    out.push((
        "uploads/loose.bin".into(),
        write(&dir.join("loose.bin"), 77_777, 99),
    ));
    out
}

fn args<'a>(dir: &'a Path, stack: &'a Stack, state: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "upload",
        dir.join("album").to_str().unwrap(),
        dir.join("loose.bin").to_str().unwrap(),
        "--recursive",
        "--server",
        &stack.token_url,
        "--json",
        "--resumable",
        "--part-size",
        "102400",
        "--state-dir",
        state,
        "--checkpoint-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.push(dir.join("checkpoints").to_string_lossy().into_owned());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().unwrap())
        .await
        .unwrap()
}

/// The JSON lines: one per file, then the summary.
fn lines(out: &Output) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut v: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = v.pop().expect("a summary line");
    (v, summary["summary"].clone())
}

async fn assert_all_stored(stack: &Stack, files: &[(String, Vec<u8>)]) {
    let mut settings = stack.settings();
    let conn = settings.connect(None).await.unwrap();
    for (key, data) in files {
        let got = conn
            .client
            .get_object(key, &oss_direct::GetOptions::default())
            .await
            .unwrap();
        assert!(got.as_ref() == data.as_slice(), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_and_files_go_in_one_queue_through_an_outage() {
    let mut stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let files = album(dir.path(), &[300_000, 5_000, 250_000, 1, 180_000, 420_000]);
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(80), None);
    let a = args(
        dir.path(),
        &stack,
        state.to_str().unwrap(),
        &["--jobs", "2", "--max-wait", "2m"],
    );
    let child = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&a)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap()
    });
    // OSS goes away under the running command, then answers 503 for a while, then is back.
    tokio::time::sleep(Duration::from_millis(400)).await;
    stack.stop_oss().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.start_oss().await;
    stack.faults().fail_next("*", 10, 503, "ServiceUnavailable");
    let out = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the command finishes once OSS is back")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (per_file, summary) = lines(&out);
    assert_eq!(summary["done"], files.len(), "{summary}");
    let mut keys: Vec<String> = per_file
        .iter()
        .map(|l| l["key"].as_str().unwrap().into())
        .collect();
    keys.sort();
    let mut want: Vec<String> = files.iter().map(|(k, _)| k.clone()).collect();
    want.sort();
    assert_eq!(keys, want);
    assert!(per_file
        .iter()
        .all(|l| l["state"] == "done" && l["crc64"].is_string()));
    stack.faults().clear();
    assert_all_stored(&stack, &files).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_kills_at_random_points_never_lose_or_duplicate_a_file() {
    let stack = Stack::start_with(oss_direct_testkit::StackOptions {
        rate_limit: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let files = album(
        dir.path(),
        &[260_000, 40_000, 310_000, 120_000, 3, 205_000, 150_000],
    );
    stack
        .faults()
        .add_latency("*", Duration::from_millis(30), None);
    let a = args(
        dir.path(),
        &stack,
        state.to_str().unwrap(),
        &["--jobs", "3"],
    );
    let mut rng = rand::thread_rng();
    for round in 0..50 {
        let mut child = Command::new(BIN)
            .args(&a)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let after = Duration::from_millis(rng.gen_range(20..600));
        tokio::time::sleep(after).await;
        // SIGKILL: no chance to tidy up.
        let _ = child.kill();
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none() || status.success(),
            "round {round}: {status:?}"
        );
    }
    stack.faults().clear();
    let out = run(a.clone()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (per_file, summary) = lines(&out);
    // One line per file, each key once, all done.
    assert_eq!(per_file.len(), files.len(), "{per_file:?}");
    let keys: std::collections::HashSet<&str> = per_file
        .iter()
        .map(|l| l["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), files.len());
    assert_eq!(summary["done"], files.len());
    assert_all_stored(&stack, &files).await;
    // Run again: everything is already stored, nothing is sent.
    let again = run(a).await;
    let (per_file, _) = lines(&again);
    assert!(
        per_file.iter().all(|l| l["already_stored"] == true),
        "{per_file:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_server_outage_at_the_start_is_waited_out() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let files = album(dir.path(), &[1_000]);
    // STS (behind the app server) fails the first token requests: the server answers 500.
    stack
        .faults()
        .fail_next("AssumeRole", 2, 500, "InternalError");
    let out = run(args(
        dir.path(),
        &stack,
        state.to_str().unwrap(),
        &["--max-wait", "1m"],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waiting for the app server"), "{err}");
    assert_all_stored(&stack, &files).await;
}
