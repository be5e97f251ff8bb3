//! The `oss-local` binary (flags, printed endpoints, token-server config), public buckets,
//! large refused bodies, STS faults.

mod common;
use common::*;
use oss_local::{BucketConfig, Options, DEMO_BUCKET as B};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn binary_prints_endpoints_and_writes_configs() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready.json");
    let cfg = dir.path().join("config.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_oss-local"))
        .args([
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--sts-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--ready-file")
        .arg(&ready)
        .arg("--write-token-server-config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the ready file (written after both ports are bound), then stop the child.
    let mut waited = 0;
    while !ready.exists() && waited < 600 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("oss-local exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let oss = r["oss_endpoint"].as_str().unwrap();
    assert!(
        oss.starts_with("http://127.0.0.1:") && !oss.ends_with(":0"),
        "{oss}"
    );
    assert!(stdout.contains(&format!("OSS_ENDPOINT={oss}")), "{stdout}");
    assert!(stdout.contains("ACCESS_KEY_ID=LTAI5tLocalDemoKey"));
    // The faults route's secret: printed, in the ready file, random per start.
    let admin = r["admin_token"].as_str().unwrap();
    assert_eq!(admin.len(), 32, "{admin}");
    assert!(stdout.contains(&format!("ADMIN_TOKEN={admin}")), "{stdout}");
    assert_eq!(c["OssEndpoint"], r["oss_endpoint"]);
    assert_eq!(c["StsEndpoint"], r["sts_endpoint"]);
    assert_eq!(c["AccessKeyID"], "LTAI5tLocalDemoKey");
    assert_eq!(c["AccessKeySecret"], "LocalDemoSecret");
    assert_eq!(
        c["RoleArn"],
        "acs:ram::1000000000000000:role/oss-direct-demo"
    );
    assert_eq!(c["TokenExpireTime"], "900");
    assert_eq!(c["PolicyFile"], "policy/bucket_write_policy.txt");
    assert_eq!(c["Bucket"], "demo-bucket");
    assert_eq!(c["Region"], "cn-hangzhou");
    assert_eq!(c["ObjectPrefix"], "uploads/");
}

#[test]
fn binary_without_an_account_says_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_oss-local"))
        .args(["--listen", "127.0.0.1:0", "--sts-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--demo"));
}

#[tokio::test]
async fn public_read_bucket_allows_anonymous_reads_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::demo(dir.path().to_path_buf());
    opts.buckets.push(BucketConfig {
        name: "public-bucket".into(),
        public_read: true,
    });
    opts.roles[0].policy = serde_json::json!({"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:*"}]});
    opts.users[0].policy = opts.roles[0].policy.clone();
    let run = oss_local::start(opts).await.unwrap();
    let c = Creds::user();
    let r = send(
        &run,
        Req::new("PUT", "public-bucket", Some("p")).body("pub"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &run,
        Req::new("GET", "public-bucket", Some("p")),
        &c,
        Sig::None,
    )
    .await;
    assert_eq!((r.status, r.text()), (200, "pub".into()));
    let r = send(
        &run,
        Req::new("PUT", "public-bucket", Some("p")).body("x"),
        &c,
        Sig::None,
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    let r = send(&run, Req::new("GET", B, Some("p")), &c, Sig::None).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn a_refused_large_upload_still_gets_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let wrong = Creds {
        secret: "wrong".into(),
        ..Creds::user()
    };
    let r = send(
        &run,
        Req::new("PUT", B, Some("big")).body(data(8 * 1024 * 1024, 3)),
        &wrong,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));
    run.faults()
        .fail_next("PutObject", 1, 503, "ServiceUnavailable");
    let r = send(
        &run,
        Req::new("PUT", B, Some("big")).body(data(8 * 1024 * 1024, 3)),
        &Creds::user(),
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (503, "ServiceUnavailable".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn sts_faults() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    run.faults()
        .fail_next("AssumeRole", 1, 503, "ServiceUnavailable");
    let (status, v) = assume_role_with(
        &run,
        oss_local::DEMO_ACCESS_KEY_ID,
        oss_local::DEMO_ACCESS_KEY_SECRET,
        &[],
    )
    .await;
    assert_eq!(
        (status, v["Code"].as_str().unwrap()),
        (503, "ServiceUnavailable")
    );
    let (status, _) = assume_role_with(
        &run,
        oss_local::DEMO_ACCESS_KEY_ID,
        oss_local::DEMO_ACCESS_KEY_SECRET,
        &[],
    )
    .await;
    assert_eq!(status, 200);
    run.shutdown().await;
}

#[tokio::test]
async fn options_from_a_json_config() {
    let dir = tempfile::tempdir().unwrap();
    let json = serde_json::json!({
        "oss_listen": "127.0.0.1:0",
        "sts_listen": "127.0.0.1:0",
        "data_dir": dir.path(),
        "region": "cn-beijing",
        "users": [{"name": "u", "access_key_id": "LTAI5tOther", "access_key_secret": "OtherSecret",
                   "policy": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "acs:oss:*:*:my-bucket/*"}]}}],
        "buckets": [{"name": "my-bucket"}]
    });
    let opts: Options = serde_json::from_value(json).unwrap();
    let run = oss_local::start(opts).await.unwrap();
    assert_eq!(run.region(), "cn-beijing");
    let c = Creds {
        ak: "LTAI5tOther".into(),
        secret: "OtherSecret".into(),
        token: None,
    };
    let mut req = Req::new("PUT", "my-bucket", Some("k")).body("v");
    req.headers.insert("content-length", "1".parse().unwrap());
    oss_direct_wire::sign::sign_v4(
        "PUT",
        Some("my-bucket"),
        Some("k"),
        &[],
        &mut req.headers,
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &c.ak,
            access_key_secret: &c.secret,
            security_token: None,
        },
        "cn-beijing",
        &v4_timestamp(std::time::SystemTime::now()),
    );
    let r = raw(
        "PUT",
        &url(&run, "my-bucket", Some("k"), &[]),
        req.headers,
        req.body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&run, Req::new("GET", B, Some("k")), &c, Sig::V1).await;
    assert_eq!(r.code(), "NoSuchBucket", "no demo account unless asked");
    // Unknown fields and bad policies are refused.
    assert!(serde_json::from_str::<Options>(r#"{"bogus": 1}"#).is_err());
    let mut bad = Options::demo(dir.path().to_path_buf());
    bad.roles[0].policy = serde_json::json!({"Version": "2"});
    assert!(matches!(
        oss_local::start(bad).await,
        Err(oss_local::Error::Config(_))
    ));
    run.shutdown().await;
}
