//! The `oss-direct` binary against the offline stack, as a tester or a script runs it.

use oss_direct_testkit::Stack;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_oss-direct");

async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().unwrap())
        .await
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first line: the (first) file's; a summary line follows.
    let first = out.stdout.split(|b| *b == b'\n').next().unwrap_or_default();
    serde_json::from_slice(first).unwrap()
}

fn write_random(path: &Path, len: usize, seed: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

#[tokio::test]
async fn upload_token_url_and_get() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let img = image::RgbImage::from_fn(320, 200, |x, _| image::Rgb([x as u8, 10, 200]));
    let src = dir.path().join("cat.png");
    img.save(&src).unwrap();
    let bytes = std::fs::read(&src).unwrap();

    let out = json(
        &run(&[
            "upload",
            src.to_str().unwrap(),
            "--server",
            &stack.token_url,
            "--simple",
            "--json",
        ])
        .await,
    );
    assert_eq!(out["key"], "uploads/cat.png");
    assert_eq!(out["bytes"], bytes.len());
    assert_eq!(
        out["crc64"],
        oss_direct::crc64::checksum(&bytes).to_string()
    );
    assert_eq!(out["resumed_parts"], 0);

    let token = run(&["token", "--server", &stack.token_url, "--json"]).await;
    let t = json(&token);
    assert!(t["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert_eq!(t["Bucket"], oss_local::DEMO_BUCKET);
    assert_eq!(t["ObjectPrefix"], "uploads/");
    let secret = oss_direct::AuthServerCredentials::new(stack.token_url.clone())
        .unwrap()
        .token()
        .await
        .unwrap()
        .credentials;
    let printed = String::from_utf8_lossy(&token.stdout);
    assert!(!printed.contains(&secret.access_key_secret));
    assert!(!printed.contains(secret.security_token.as_deref().unwrap()));

    let url = run(&[
        "url",
        "uploads/cat.png",
        "--server",
        &stack.token_url,
        "--process",
        "image/resize,w_80",
    ])
    .await;
    assert!(url.status.success());
    let url = String::from_utf8(url.stdout).unwrap();
    let thumb = reqwest::get(url.trim())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(image::load_from_memory(&thumb).unwrap().width(), 80);

    let dest = dir.path().join("back.png");
    let got = run(&[
        "get",
        "uploads/cat.png",
        "--server",
        &stack.token_url,
        "-o",
        dest.to_str().unwrap(),
    ])
    .await;
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}

#[tokio::test]
async fn failures_exit_non_zero_with_one_line() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.txt");
    std::fs::write(&src, b"x").unwrap();

    let out = run(&[
        "upload",
        src.to_str().unwrap(),
        "--server",
        "http://127.0.0.1:1/",
        "--max-wait",
        "0s",
    ])
    .await;
    assert_eq!(out.status.code(), Some(6), "network");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach the app server"), "{err}");

    let out = run(&[
        "upload",
        src.to_str().unwrap(),
        "--server",
        &stack.token_url,
        "--key",
        "other/a.txt",
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "bad input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with \"uploads/\""));

    let out = run(&["upload", "/no/such/file.jpg", "--server", &stack.token_url]).await;
    assert_eq!(out.status.code(), Some(3), "bad input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/file.jpg"));
}

#[tokio::test]
async fn a_killed_upload_is_resumed_by_a_new_process_sending_only_missing_parts() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("video.bin");
    let data = write_random(&src, 1_024_000, 7);
    let cps = dir.path().join("cps");
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = [
            "upload",
            src.to_str().unwrap(),
            "--server",
            &stack.token_url,
            "--resumable",
            "--part-size",
            "102400",
            "--concurrency",
            "1",
            "--checkpoint-dir",
            cps.to_str().unwrap(),
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(200), None);
    let mut child = Command::new(BIN)
        .args(args(&[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait until OSS holds a few parts, then kill the process (no chance to clean up).
    let mut conn = stack.settings();
    let client = conn.connect(None).await.unwrap().client;
    let started = Instant::now();
    let uploaded = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no parts arrived"
        );
        let checkpoint = std::fs::read_dir(&cps)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path());
        if let Some(cp) = checkpoint {
            let cp: serde_json::Value =
                serde_json::from_slice(&std::fs::read(cp).unwrap()).unwrap();
            let parts = client
                .list_parts("uploads/video.bin", cp["upload_id"].as_str().unwrap())
                .await
                .unwrap();
            if parts.len() >= 3 {
                break parts.len();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    stack.faults().clear();

    let second = args(&[]);
    let out = json(
        &tokio::task::spawn_blocking(move || Command::new(BIN).args(second).output().unwrap())
            .await
            .unwrap(),
    );
    let resumed = out["resumed_parts"].as_u64().unwrap();
    assert!(
        resumed as usize >= uploaded,
        "resumed {resumed}, {uploaded} were in OSS"
    );
    assert_eq!(resumed + out["uploaded_parts"].as_u64().unwrap(), 10);
    assert_eq!(out["crc64"], oss_direct::crc64::checksum(&data).to_string());
}

#[tokio::test]
async fn uploads_carry_the_servers_callback_and_list_shows_them() {
    let stack = Stack::start_with(oss_direct_testkit::StackOptions {
        callback: true,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("note.txt");
    std::fs::write(&src, b"hello callback").unwrap();
    let out = json(
        &run(&[
            "upload",
            src.to_str().unwrap(),
            "--server",
            &stack.token_url,
            "--json",
        ])
        .await,
    );
    assert_eq!(out["callback"]["outcome"], "answered", "{out}");

    let listed = run(&["list", "--server", &stack.token_url, "--json"]).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8(listed.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["Key"], "uploads/note.txt");
    assert_eq!(first["Size"], 14);

    // A server without callbacks says so.
    let plain = Stack::start().await;
    let out = run(&["list", "--server", &plain.token_url]).await;
    assert_eq!(out.status.code(), Some(4), "refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ListUploads"));
}

#[tokio::test]
async fn a_cleartext_app_server_off_the_local_network_is_called_out() {
    // `.invalid` never resolves, so the command fails fast, after its warning.
    for args in [
        &["token", "--server", "http://app-server.invalid:7080/"][..],
        &["list", "--server", "http://app-server.invalid:7080/"][..],
    ] {
        let out = run(args).await;
        assert_eq!(out.status.code(), Some(6), "network");
        let err = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(
            lines[0].starts_with(
                "oss-direct: warning: the App server app-server.invalid is plain http://"
            ) && lines[0].contains("in clear"),
            "{err}"
        );
        assert!(lines[1].contains("cannot"), "{err}");
    }

    // Loopback (the local stack) and https are not warned about.
    let stack = Stack::start().await;
    let out = run(&["token", "--server", &stack.token_url]).await;
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["token", "--server", "https://app-server.invalid/"]).await;
    assert_eq!(out.status.code(), Some(6));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
