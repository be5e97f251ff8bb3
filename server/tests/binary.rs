//! The `app-token-server` binary: bad configurations stop it with one line; a full token flow
//! logs requests but never a secret or a security token; SIGTERM stops it cleanly.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_app-token-server");

/// Runs the binary on `config` expecting it to refuse; returns its stderr.
fn refused(config: &Path) -> String {
    let out = std::process::Command::new(BIN)
        .args(["0", "--listen", "127.0.0.1", "--config"])
        .arg(config)
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn each_bad_configuration_stops_start_up_with_one_line() {
    let base = base_config("https://sts.aliyuncs.com");
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            merged(base.clone(), json!({"AccessKeyID": null})),
            "AccessKeyID",
            "missing",
        ),
        (
            merged(base.clone(), json!({"RoleArn": null})),
            "RoleArn",
            "missing",
        ),
        (
            merged(base.clone(), json!({"TokenExpireTime": "600"})),
            "TokenExpireTime",
            "less than the 900",
        ),
        (
            merged(base.clone(), json!({"TokenExpireTime": "fifteen minutes"})),
            "TokenExpireTime",
            "whole number",
        ),
        (
            merged(base.clone(), json!({"TokenExpireTime": true})),
            "TokenExpireTime",
            "whole number",
        ),
        (
            merged(base.clone(), json!({"StsEndpoint": "not a url"})),
            "StsEndpoint",
            "is not a URL",
        ),
        (
            merged(base.clone(), json!({"PolicyFile": "policy/missing.txt"})),
            "PolicyFile",
            "does not exist",
        ),
    ];
    for (value, key, problem) in cases {
        let cfg = write_config(&value);
        let line = refused(&cfg.file);
        let file = cfg.file.display().to_string();
        assert!(
            line.contains(&format!("{file}: {key}: ")) && line.contains(problem),
            "{key}: {line}"
        );
        assert!(!line.contains(STS_KEY_SECRET));
    }
}

#[test]
fn an_invalid_or_unreadable_policy_stops_start_up() {
    let cfg = write_config(&base_config("https://sts.aliyuncs.com"));
    let policy = cfg.dir.path().join("policy/bucket_write_policy.txt");

    std::fs::write(&policy, "{\"Version\": \"1\", \"Statement\": [").unwrap();
    let line = refused(&cfg.file);
    assert!(
        line.contains("PolicyFile: ") && line.contains("not valid JSON"),
        "{line}"
    );

    std::fs::write(&policy, r#"{"Version":"1","Statement":"everything"}"#).unwrap();
    let line = refused(&cfg.file);
    assert!(line.contains("Statement must be an array"), "{line}");

    // A directory where the file should be: exists, but cannot be read as a file.
    std::fs::remove_file(&policy).unwrap();
    std::fs::create_dir(&policy).unwrap();
    let line = refused(&cfg.file);
    assert!(
        line.contains("PolicyFile: ") && line.contains("cannot read"),
        "{line}"
    );
}

#[test]
fn check_validates_and_exits() {
    let cfg = write_config(&merged(
        base_config("https://sts.aliyuncs.com"),
        json!({"Scopes": ["read"]}),
    ));
    let out = std::process::Command::new(BIN)
        .arg("--check")
        .arg("--config")
        .arg(&cfg.file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(": OK (role ") && stdout.contains("scopes: default, read"),
        "{stdout}"
    );
    assert!(!stdout.contains(STS_KEY_SECRET));
}

#[test]
fn a_missing_config_file_is_named() {
    let line = refused(Path::new("/nonexistent/config.json"));
    assert!(
        line.contains("/nonexistent/config.json: cannot read"),
        "{line}"
    );
}

/// A running binary and everything it wrote to stderr.
struct Server {
    child: tokio::process::Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

async fn start_server(config: &Path, env: &[(&str, &str)]) -> Server {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["0", "--listen", "127.0.0.1", "--config"])
        .arg(config)
        .env("RUST_LOG", "trace")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_ID")
        .env_remove("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Read up to the "listening" line to learn the port, then keep collecting in the background.
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("server exited: {:?}", log.lock().unwrap()));
        log.lock().unwrap().push(line.clone());
        if line.contains("app-token-server listening") {
            let at = line.find("listen=").expect("listen= field") + "listen=".len();
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    Server { child, addr, log }
}

impl Server {
    /// Sends SIGTERM and waits for a clean exit; returns the whole log.
    async fn stop(mut self) -> String {
        let pid = self.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().await.unwrap();
        assert!(status.success(), "exit after SIGTERM: {status}");
        // Let the reader drain what is left in the pipe.
        for _ in 0..100 {
            if self
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("app-token-server stopped"))
            {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.log.lock().unwrap().join("\n")
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_flow_logs_requests_but_no_secret_and_stops_on_sigterm() {
    let sts = FakeSts::start().await;
    let cfg = write_config(&merged(
        base_config(&sts.endpoint()),
        json!({
            // The secrets come from the environment, as in production.
            "AccessKeySecret": null,
            "Auth": {"Jwt": {"Issuer": "test-login", "Audience": "oss-direct"}},
            "Scopes": ["read", "write", "read-write"],
        }),
    ));
    let server = start_server(
        &cfg.file,
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", STS_KEY_SECRET),
            ("APP_TOKEN_SERVER_JWT_HS256_SECRET", JWT_SECRET),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/", server.addr);
    let alice = jwt_for("alice");
    let bob = jwt_for("bob");

    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(&url).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let token: Value = r.json().await.unwrap();
    assert_eq!(token["ObjectPrefix"], "uploads/users/alice/");
    for (who, scope) in [(&alice, "read"), (&bob, "read-write"), (&alice, "read")] {
        let r = http
            .get(format!("{url}?scope={scope}"))
            .bearer_auth(who)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = http
        .get(&url)
        .bearer_auth(format!("{alice}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    sts.set_mode(StsMode::Fail {
        status: 400,
        code: "InvalidParameter.PolicyGrammar".into(),
        message: "The parameter Policy has not passed grammar check.".into(),
    });
    let r = http.get(&url).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(r.status(), 500);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["ErrorCode"], "InvalidParameter.PolicyGrammar");
    let r = http
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        sts.calls(),
        4,
        "alice default, alice read, bob rw, bob default (failed)"
    );

    let log = server.stop().await;

    // The log says who asked for what, how it went and how long it took...
    assert!(
        log.contains("user=alice") && log.contains("user=bob"),
        "{log}"
    );
    assert!(
        log.contains("scope=read-write") && log.contains("scope=default"),
        "{log}"
    );
    assert!(
        log.contains("cache=hit") && log.contains("cache=miss"),
        "{log}"
    );
    assert!(
        log.contains("latency_ms=") && log.contains("status=401"),
        "{log}"
    );
    assert!(log.contains("InvalidParameter.PolicyGrammar"), "{log}");
    assert!(log.contains("request{id="), "{log}");
    assert!(log.contains("shutdown signal received"), "{log}");
    // ...but never a secret: not the RAM user's, not the JWT key, not a caller's bearer token,
    // not an issued AccessKeySecret or SecurityToken.
    let mut secrets = vec![
        STS_KEY_SECRET.to_string(),
        JWT_SECRET.to_string(),
        alice.clone(),
        bob.clone(),
    ];
    // The JWT signature part alone, in case a token were logged in pieces.
    secrets.push(alice.rsplit('.').next().unwrap().to_string());
    let issued = sts.issued_secrets();
    assert_eq!(issued.len(), 6, "3 successful calls x (secret, token)");
    secrets.extend(issued);
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "the log contains a secret ({} chars)",
            s.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_argument_and_json_logs_work() {
    let sts = FakeSts::start().await;
    let cfg = write_config(&base_config(&sts.endpoint()));
    let port = closed_port();
    let mut child = tokio::process::Command::new(BIN)
        .arg(port.to_string())
        .args(["--listen", "127.0.0.1", "--log-format", "json", "--config"])
        .arg(&cfg.file)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let event: Value = serde_json::from_str(&first).expect("a JSON log line");
    assert_eq!(event["fields"]["listen"], format!("127.0.0.1:{port}"));
    let r = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    child.kill().await.unwrap();
}

#[test]
fn bad_callback_or_database_settings_stop_start_up_with_one_line() {
    let base = base_config("https://sts.aliyuncs.com");
    let callback = |c: Value| merged(base.clone(), json!({ "Callback": c }));
    let cases: Vec<(Value, &str, &str)> = vec![
        (callback(json!({})), "Callback.Url", "missing"),
        (
            callback(json!({"Url": "ftp://x/callback"})),
            "Callback.Url",
            "https://",
        ),
        (
            callback(json!({"Url": "http://h/cb", "BodyType": "text/plain"})),
            "Callback.BodyType",
            "application/json",
        ),
        (
            callback(json!({"Url": "http://h/cb", "Body": "key=${object}"})),
            "Callback.Body",
            "bucket",
        ),
        (
            callback(json!({"Url": "http://h/cb", "TrustedKeyUrls": ["gosspublic.alicdn.com"]})),
            "Callback.TrustedKeyUrls",
            "not a URL",
        ),
        (
            callback(json!({"Url": "http://h/cb", "TrustedKeyUrls": []})),
            "Callback.TrustedKeyUrls",
            "empty",
        ),
        (
            callback(
                json!({"Url": "http://h/cb", "TrustedKeyUrls": ["https://gosspublic.alicdn.com/"]}),
            ),
            "Callback.TrustedKeyUrls",
            "name the key file",
        ),
        (
            callback(json!({"Url": "http://h/cb", "TrustedKeyUrls": ["https://k/key.pem?v=1"]})),
            "Callback.TrustedKeyUrls",
            "query",
        ),
        (
            callback(json!({"Url": "http://h/cb", "TrustedKeyUrlPrefixes": ["https://k/"]})),
            "Callback.TrustedKeyUrlPrefixes",
            "replaced by TrustedKeyUrls",
        ),
        (
            merged(
                callback(json!({"Url": "http://h/cb"})),
                json!({"Region": null, "OssEndpoint": null}),
            ),
            "Region",
            "HeadObject",
        ),
        (
            callback(json!({"Url": "http://h/cb", "Secret": "x"})),
            "Callback.Secret",
            "unknown key",
        ),
        (
            merged(base.clone(), json!({"DatabaseUrl": "mysql://u@h/db"})),
            "DatabaseUrl",
            "not supported",
        ),
        (
            merged(
                base.clone(),
                json!({"DatabaseUrl": "sqlite:///nonexistent-dir/u.db"}),
            ),
            "DatabaseUrl",
            "does not exist",
        ),
    ];
    for (value, key, problem) in cases {
        let cfg = write_config(&value);
        let line = refused(&cfg.file);
        assert!(
            line.contains(&format!(": {key}: ")) && line.contains(problem),
            "{key}: {line}"
        );
    }
}

#[test]
fn an_unreachable_database_stops_start_up_without_showing_its_password() {
    let port = closed_port();
    let cfg = write_config(&merged(
        base_config("https://sts.aliyuncs.com"),
        json!({"DatabaseUrl": format!("postgres://app:hunter2-db-password@127.0.0.1:{port}/uploads")}),
    ));
    let line = refused(&cfg.file);
    assert!(
        line.contains(": DatabaseUrl: cannot use postgres://app:***@127.0.0.1:"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "{line}");
}

/// Start, record a signed callback, stop, start again on the same SQLite file: still listed.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_uploads_survive_a_restart_of_the_binary() {
    let data = tempfile::tempdir().unwrap();
    let oss = oss_local::start(oss_local::Options::demo(data.path().to_path_buf()))
        .await
        .unwrap();
    let keys = KeyServer::start(
        std::fs::read_to_string(format!("{FIXTURES}/callback_test_public.pem")).unwrap(),
    )
    .await;
    let cfg = write_config(&json!({
        "AccessKeyID": oss_local::DEMO_ACCESS_KEY_ID,
        "AccessKeySecret": oss_local::DEMO_ACCESS_KEY_SECRET,
        "RoleArn": oss_local::DEMO_ROLE_ARN,
        "TokenExpireTime": "900",
        "PolicyFile": "policy/bucket_write_policy.txt",
        "StsEndpoint": oss.sts_endpoint(),
        "Bucket": oss_local::DEMO_BUCKET,
        "ObjectPrefix": "uploads/",
        "Region": oss.region(),
        "OssEndpoint": oss.oss_endpoint(),
        "Auth": jwt_auth(),
        "Callback": {
            "Url": "http://127.0.0.1:7080/callback",
            "TrustedKeyUrls": [keys.key_url()],
        },
    }));
    // The object is really in OSS (the server confirms it with a HeadObject of its own).
    let client = oss_direct::Client::new(
        oss_direct::ClientConfig::new(oss_local::DEMO_BUCKET, oss.region())
            .with_endpoint(oss.oss_endpoint()),
        std::sync::Arc::new(oss_direct::StaticCredentials(oss_direct::Credentials::new(
            oss_local::DEMO_ACCESS_KEY_ID,
            oss_local::DEMO_ACCESS_KEY_SECRET,
        ))),
    )
    .unwrap();
    let put = client
        .put_object("uploads/users/alice/kept.jpg", vec![7u8; 42].into(), None)
        .await
        .unwrap();
    let etag = put.etag.trim_matches('"').to_string();
    let oss_key = private_key("callback_test_private.pem");
    let http = reqwest::Client::new();
    let server = start_server(&cfg.file, &[]).await;
    let token: Value = http
        .get(format!("http://{}/", server.addr))
        .bearer_auth(jwt_for("alice"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = token["Callback"]["callbackVar"]["x:ticket"]
        .as_str()
        .unwrap();
    let body = format!(
        "{}&ticket={ticket}",
        form_body("demo-bucket", "uploads/users/alice/kept.jpg", &etag, 42)
    );
    let signature = oss_signature(&oss_key, "/callback", &body);
    let r = http
        .post(format!("http://{}/callback", server.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", &signature)
        .header("x-oss-pub-key-url", b64(keys.key_url()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["Status"], "OK");
    let log = server.stop().await;
    assert!(log.contains("upload recorded"), "{log}");
    assert!(!log.contains(&signature), "the signature is not logged");
    assert!(!log.contains(ticket), "the ticket is not logged");

    let server = start_server(&cfg.file, &[]).await;
    let r = http
        .get(format!("http://{}/uploads", server.addr))
        .bearer_auth(jwt_for("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let listed: Value = r.json().await.unwrap();
    assert_eq!(
        listed["Uploads"][0]["Key"], "uploads/users/alice/kept.jpg",
        "{listed}"
    );
    assert_eq!(listed["Uploads"][0]["Size"], 42);
    assert_eq!(listed["Uploads"].as_array().unwrap().len(), 1);
    server.stop().await;
    assert!(cfg.dir.path().join("uploads.db").is_file());
}
