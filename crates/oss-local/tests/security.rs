//! Security checks of issue 7 that the other tests do not already make: another session's token
//! in presigned URLs, presigned URLs replayed after they expire, path tricks in *signed*
//! requests (with nothing written outside the data folder), key length and control characters,
//! huge headers and bodies refused cleanly (the server keeps serving).
//!
//! Already covered elsewhere and not repeated: a wrong secret, an unknown key, a missing,
//! altered or other session's token on header-signed requests, an expired token and clock skew
//! (`auth.rs`); unsigned path tricks and a presigned V1 URL made already expired (`objects.rs`).

mod common;
use common::*;
use oss_direct_wire::sign::{self, SigningCredentials};
use oss_local::DEMO_BUCKET as B;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn signing(c: &Creds) -> SigningCredentials<'_> {
    SigningCredentials {
        access_key_id: &c.ak,
        access_key_secret: &c.secret,
        security_token: c.token.as_deref(),
    }
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// A data folder inside a parent folder, so "nothing outside" can be checked on the parent.
struct Sandbox {
    parent: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let parent = tempfile::tempdir().unwrap();
        std::fs::create_dir(parent.path().join("data")).unwrap();
        Sandbox { parent }
    }
    fn data(&self) -> PathBuf {
        self.parent.path().join("data")
    }
    /// The parent holds only `data`; every file under it is a bucket file, an upload, the token
    /// or callback key, or a temporary file: no file is named after a key.
    fn assert_contained(&self, keys: &[&str]) {
        let top: Vec<_> = std::fs::read_dir(self.parent.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            top,
            vec![std::ffi::OsString::from("data")],
            "written beside the data dir"
        );
        let outside = self.parent.path().parent().unwrap();
        for name in ["escape", "escape.txt", "etc"] {
            assert!(
                !outside.join(name).exists(),
                "{name} written above the sandbox"
            );
        }
        for p in walk(&self.data()) {
            assert!(p.starts_with(self.data()));
            let rel = p
                .strip_prefix(self.data())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            for k in keys {
                let last = k.rsplit(['/', '\\']).next().unwrap();
                if last.len() > 3 {
                    assert!(!rel.contains(last), "a file named after key {k:?}: {rel}");
                }
            }
        }
    }
}

async fn start_in(s: &Sandbox) -> oss_local::Running {
    start(&s.data()).await
}

/// URL with a raw (already encoded) key, so that encoded slashes and dots reach the server as sent.
fn raw_url(run: &oss_local::Running, raw_key: &str, q: &[(String, String)]) -> String {
    let mut u = format!("{}/{B}/{raw_key}", run.oss_endpoint());
    if !q.is_empty() {
        u.push('?');
        u.push_str(&query_string(q));
    }
    u
}

/// Signs (V1/V4 over the decoded `key`) and sends on a raw connection, with the key in the
/// request line exactly as `uri_encode` writes it: no client-side URL normalisation, so `..`
/// segments reach the server as a client could send them. Returns status and body.
async fn signed_raw(
    run: &oss_local::Running,
    method: &str,
    key: &str,
    query: &[(&str, &str)],
    creds: &Creds,
    sig: Sig,
    body: &[u8],
) -> (u16, String) {
    let q = q(query);
    let mut headers = http::HeaderMap::new();
    if method != "GET" && method != "HEAD" {
        headers.insert("content-length", body.len().to_string().parse().unwrap());
    }
    let now = SystemTime::now();
    match sig {
        Sig::V1 => sign::sign_v1(
            method,
            Some(B),
            Some(key),
            &q,
            &mut headers,
            signing(creds),
            &httpdate::fmt_http_date(now),
        ),
        Sig::V4 => sign::sign_v4(
            method,
            Some(B),
            Some(key),
            &q,
            &mut headers,
            signing(creds),
            REGION,
            &v4_timestamp(now),
        ),
        Sig::None => {}
    }
    let mut target = format!("/{B}/{}", sign::uri_encode(key, true));
    if !q.is_empty() {
        target.push('?');
        target.push_str(&query_string(&q));
    }
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        run.oss_addr
    );
    for (n, v) in &headers {
        req.push_str(&format!("{n}: {}\r\n", v.to_str().unwrap()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let answer = raw_exchange(run, &bytes, 0).await;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status_of(&answer), body)
}

fn code_of(body: &str) -> String {
    xml_field(body, "Code").unwrap_or_default()
}

#[tokio::test]
async fn another_sessions_token_in_presigned_urls_is_refused() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let alice = assume_role(&run, &[("RoleSessionName", "alice")]).await;
    let bob = assume_role(&run, &[("RoleSessionName", "bob")]).await;
    let key = "uploads/alice.txt";
    let r = send(
        &run,
        Req::new("PUT", B, Some(key)).body("a"),
        &alice,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let h = http::HeaderMap::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ts = v4_timestamp(SystemTime::now());

    // Alice's key and secret, Bob's token: the token names another AccessKeyId.
    let mixed = Creds {
        token: bob.token.clone(),
        ..alice.clone()
    };
    let v1 = sign::presign_v1(
        "GET",
        Some(B),
        Some(key),
        &[],
        &h,
        signing(&mixed),
        now + 60,
    );
    let r = raw("GET", &url(&run, B, Some(key), &v1), h.clone(), vec![]).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "InvalidSecurityToken".into()),
        "V1"
    );
    let v4 = sign::presign_v4(
        "GET",
        Some(B),
        Some(key),
        &[],
        &h,
        signing(&mixed),
        REGION,
        &ts,
        60,
    );
    let r = raw("GET", &url(&run, B, Some(key), &v4), h.clone(), vec![]).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "InvalidSecurityToken".into()),
        "V4"
    );

    // Bob's key and token, signed with Alice's secret.
    let forged = Creds {
        secret: alice.secret.clone(),
        ..bob.clone()
    };
    let v4 = sign::presign_v4(
        "GET",
        Some(B),
        Some(key),
        &[],
        &h,
        signing(&forged),
        REGION,
        &ts,
        60,
    );
    let r = raw("GET", &url(&run, B, Some(key), &v4), h.clone(), vec![]).await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));
    let r = send(
        &run,
        Req::new("PUT", B, Some(key)).body("b"),
        &forged,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));

    // A valid URL of Alice with Bob's token swapped into the query afterwards.
    let mut swapped = sign::presign_v4(
        "GET",
        Some(B),
        Some(key),
        &[],
        &h,
        signing(&alice),
        REGION,
        &ts,
        60,
    );
    for (k, v) in swapped.iter_mut() {
        if k == "x-oss-security-token" {
            *v = bob.token.clone().unwrap();
        }
    }
    let r = raw("GET", &url(&run, B, Some(key), &swapped), h.clone(), vec![]).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        ["InvalidSecurityToken", "SignatureDoesNotMatch"].contains(&r.code().as_str()),
        "{}",
        r.code()
    );

    // Per-user prefixes (what the token server hands out when callers sign in): Bob's session
    // cannot read or write under Alice's prefix, not even through `..`.
    let scoped = |user: &str| {
        format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":["acs:oss:*:*:{B}/uploads/users/{user}/*"]}}]}}"#
        )
    };
    let a = assume_role(
        &run,
        &[("RoleSessionName", "alice"), ("Policy", &scoped("alice"))],
    )
    .await;
    let b = assume_role(
        &run,
        &[("RoleSessionName", "bob"), ("Policy", &scoped("bob"))],
    )
    .await;
    let ak = "uploads/users/alice/photo.jpg";
    let r = send(&run, Req::new("PUT", B, Some(ak)).body("mine"), &a, Sig::V4).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for sig in [Sig::V1, Sig::V4] {
        let r = send(&run, Req::new("GET", B, Some(ak)), &b, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "AccessDenied".into()),
            "{sig:?}"
        );
        let r = send(&run, Req::new("PUT", B, Some(ak)).body("theirs"), &b, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "AccessDenied".into()),
            "{sig:?}"
        );
        let sneaky = "uploads/users/bob/../alice/photo.jpg";
        let (status, body) = signed_raw(&run, "PUT", sneaky, &[], &b, sig, b"theirs").await;
        assert_eq!(
            (status, code_of(&body)),
            (400, "InvalidObjectName".into()),
            "{sig:?}"
        );
    }
    let r = send(&run, Req::new("GET", B, Some(ak)), &a, Sig::V4).await;
    assert_eq!(
        (r.status, r.text()),
        (200, "mine".into()),
        "Alice's object is untouched"
    );
    run.shutdown().await;
    s.assert_contained(&[]);
}

#[tokio::test]
async fn presigned_urls_replayed_after_expiry_are_refused() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let c = assume_role(&run, &[]).await;
    let key = "uploads/replay.txt";
    let r = send(
        &run,
        Req::new("PUT", B, Some(key)).body("once"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    let h = http::HeaderMap::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let v1 = sign::presign_v1("GET", Some(B), Some(key), &[], &h, signing(&c), now + 1);
    let v4 = sign::presign_v4(
        "GET",
        Some(B),
        Some(key),
        &[],
        &h,
        signing(&c),
        REGION,
        &v4_timestamp(SystemTime::now()),
        1,
    );
    let put_v4 = sign::presign_v4(
        "PUT",
        Some(B),
        Some("uploads/replayed-put.txt"),
        &[],
        &h,
        signing(&c),
        REGION,
        &v4_timestamp(SystemTime::now()),
        1,
    );
    for q in [&v1, &v4] {
        let r = raw("GET", &url(&run, B, Some(key), q), h.clone(), vec![]).await;
        assert_eq!(
            (r.status, r.text()),
            (200, "once".into()),
            "valid before expiry"
        );
    }
    tokio::time::sleep(Duration::from_millis(2300)).await;
    for (name, q) in [("V1", &v1), ("V4", &v4)] {
        let r = raw("GET", &url(&run, B, Some(key), q), h.clone(), vec![]).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "AccessDenied".into()),
            "{name} replayed"
        );
        assert!(r.text().contains("expired"), "{name}: {}", r.text());
    }
    let mut put_headers = http::HeaderMap::new();
    put_headers.insert("content-length", "3".parse().unwrap());
    let r = raw(
        "PUT",
        &url(&run, B, Some("uploads/replayed-put.txt"), &put_v4),
        put_headers,
        b"new".to_vec(),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "AccessDenied".into()),
        "PUT replayed"
    );
    let r = send(
        &run,
        Req::new("HEAD", B, Some("uploads/replayed-put.txt")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 404, "nothing stored by the replay");

    // A URL still inside x-oss-expires but whose token has expired in the meantime.
    run.faults()
        .set_token_lifetime(Some(Duration::from_secs(1)));
    let short = assume_role(&run, &[]).await;
    run.faults().set_token_lifetime(None);
    let v4 = sign::presign_v4(
        "GET",
        Some(B),
        Some(key),
        &[],
        &h,
        signing(&short),
        REGION,
        &v4_timestamp(SystemTime::now()),
        3600,
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = raw("GET", &url(&run, B, Some(key), &v4), h, vec![]).await;
    assert_eq!((r.status, r.code()), (403, "SecurityTokenExpired".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn path_tricks_in_signed_requests_stay_inside_the_data_folder() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let c = Creds::user();
    let tricks = [
        "../escape",
        "../../escape.txt",
        "uploads/../../../etc",
        "./x",
        "uploads/.",
        "uploads/..",
        "..\\..\\escape",
        "uploads\\..\\..\\escape",
        "/abs",
        "\\abs",
        "nul\0byte",
    ];
    for sig in [Sig::V1, Sig::V4] {
        for key in tricks {
            let (status, body) = signed_raw(&run, "PUT", key, &[], &c, sig, b"x").await;
            assert_eq!(
                (status, code_of(&body)),
                (400, "InvalidObjectName".into()),
                "{sig:?} PUT {key:?}: {body}"
            );
            let (status, body) = signed_raw(&run, "GET", key, &[], &c, sig, b"").await;
            assert_eq!(
                (status, code_of(&body)),
                (400, "InvalidObjectName".into()),
                "{sig:?} GET {key:?}"
            );
            let (status, body) =
                signed_raw(&run, "POST", key, &[("uploads", "")], &c, sig, b"").await;
            assert_eq!(
                (status, code_of(&body)),
                (400, "InvalidObjectName".into()),
                "{sig:?} InitiateMultipartUpload {key:?}"
            );
        }
    }
    // Encoded slashes, dots and backslashes, signed over the decoded key as clients sign.
    for (raw_key, decoded) in [
        ("uploads%2F..%2F..%2Fescape", "uploads/../../escape"),
        ("%2E%2E%2Fescape", "../escape"),
        ("uploads%2f%2e%2e%2f%2e%2e%2fescape", "uploads/../../escape"),
        ("..%5Cescape", "..\\escape"),
        ("%2Fabs", "/abs"),
    ] {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-length", "1".parse().unwrap());
        sign::sign_v4(
            "PUT",
            Some(B),
            Some(decoded),
            &[],
            &mut headers,
            signing(&c),
            REGION,
            &v4_timestamp(SystemTime::now()),
        );
        let r = raw("PUT", &raw_url(&run, raw_key, &[]), headers, b"x".to_vec()).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidObjectName".into()),
            "{raw_key}"
        );
    }
    // Not UTF-8 at all.
    let mut headers = http::HeaderMap::new();
    headers.insert("content-length", "1".parse().unwrap());
    let r = raw(
        "PUT",
        &raw_url(&run, "bad%FF%FEkey", &[]),
        headers,
        b"x".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Key length: 1023 bytes is the limit (in bytes, so multi-byte characters count as such).
    let longest = "k".repeat(1023);
    let r = send(
        &run,
        Req::new("PUT", B, Some(&longest)).body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for too_long in ["k".repeat(1024), "é".repeat(512), "k".repeat(64 * 1024)] {
        // On a raw connection: an http::Uri cannot even hold a 64 KiB path.
        let (status, body) = signed_raw(&run, "PUT", &too_long, &[], &c, Sig::V4, b"x").await;
        // 64 KiB does not get past hyper's URI limit: 414 URI Too Long, as clean.
        let expected: &[(u16, &str)] = if too_long.len() > 16 * 1024 {
            &[(414, ""), (400, "KeyTooLong")]
        } else {
            &[(400, "KeyTooLong")]
        };
        let got = (status, code_of(&body));
        assert!(
            expected.iter().any(|(s, c)| (*s, c.to_string()) == got),
            "{} bytes: {got:?}",
            too_long.len()
        );
    }

    // Control characters other than NUL are valid in OSS names: stored under a hashed file
    // name and read back as the same key, never interpreted.
    let controls = [
        "uploads/line\nbreak",
        "uploads/cr\rlf",
        "uploads/tab\tbell\x07",
        "uploads/esc\x1b[2J",
        "uploads/del\x7f",
    ];
    for key in controls {
        let r = send(&run, Req::new("PUT", B, Some(key)).body(key), &c, Sig::V4).await;
        assert_eq!(r.status, 200, "{key:?}: {}", r.text());
        let r = send(&run, Req::new("GET", B, Some(key)), &c, Sig::V1).await;
        assert_eq!((r.status, r.text()), (200, key.to_string()), "{key:?}");
    }
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[
            ("list-type", "2"),
            ("prefix", "uploads/"),
            ("encoding-type", "url"),
        ]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200);
    let listed: Vec<String> = xml_fields(&r.text(), "Key")
        .iter()
        .map(|k| {
            percent_encoding::percent_decode_str(k)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect();
    for key in controls {
        assert!(
            listed.iter().any(|k| k == key),
            "{key:?} listed: {listed:?}"
        );
    }
    run.shutdown().await;
    let mut all: Vec<&str> = tricks.to_vec();
    all.extend(controls);
    s.assert_contained(&all);
}

/// Sends raw bytes on a fresh connection and returns what came back before the server closed
/// or 10 s passed (an empty answer means the connection was dropped without one).
async fn raw_exchange(run: &oss_local::Running, request: &[u8], body_bytes: u64) -> String {
    let mut tcp = tokio::net::TcpStream::connect(run.oss_addr).await.unwrap();
    // The server may answer and close before all is written; that is fine.
    let _ = tcp.write_all(request).await;
    let mut sent = 0u64;
    let chunk = vec![b'a'; 64 * 1024];
    while sent < body_bytes {
        if tcp.write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len() as u64;
    }
    let _ = tcp.shutdown().await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn huge_headers_and_bodies_are_refused_cleanly() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let c = Creds::user();
    let alive = || async {
        let r = send(
            &run,
            Req::new("PUT", B, Some("uploads/alive")).body("ok"),
            &c,
            Sig::V4,
        )
        .await;
        assert_eq!(r.status, 200, "the server still serves: {}", r.text());
    };

    // One 1 MiB header, then 500 small headers: refused by the HTTP layer (431) or the
    // connection closed, and the server keeps serving.
    let host = run.oss_addr.to_string();
    let big = format!(
        "GET /{B}/uploads/alive HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-Oss-Meta-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let answer = raw_exchange(&run, big.as_bytes(), 0).await;
    eprintln!(
        "1 MiB header: HTTP {} ({} bytes)",
        status_of(&answer),
        answer.len()
    );
    assert!(
        answer.is_empty() || status_of(&answer) == 431 || status_of(&answer) == 400,
        "{}",
        &answer[..answer.len().min(200)]
    );
    let mut many =
        format!("GET /{B}/uploads/alive HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for i in 0..500 {
        many.push_str(&format!("X-Oss-Meta-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let answer = raw_exchange(&run, many.as_bytes(), 0).await;
    eprintln!(
        "500 headers: HTTP {} ({} bytes)",
        status_of(&answer),
        answer.len()
    );
    assert!(
        answer.is_empty() || status_of(&answer) == 431 || status_of(&answer) == 400,
        "{}",
        &answer[..answer.len().min(200)]
    );
    alive().await;

    // A signed PUT that announces 6 GiB (over the 5 GiB object limit) and waits for
    // `100 Continue`, as SDKs do: refused before any body is sent.
    let key = "uploads/huge.bin";
    let six_gib: u64 = 6 << 30;
    let put_head = |expect: bool| {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-length", six_gib.to_string().parse().unwrap());
        sign::sign_v4(
            "PUT",
            Some(B),
            Some(key),
            &[],
            &mut headers,
            signing(&c),
            REGION,
            &v4_timestamp(SystemTime::now()),
        );
        let mut req = format!("PUT /{B}/{key} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if expect {
            req.push_str("Expect: 100-continue\r\n");
        }
        for (n, v) in &headers {
            req.push_str(&format!("{n}: {}\r\n", v.to_str().unwrap()));
        }
        req.push_str("\r\n");
        req
    };
    let answer = raw_exchange(&run, put_head(true).as_bytes(), 0).await;
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(answer.contains("<Code>EntityTooLarge</Code>"), "{answer}");
    // Without Expect, sending 8 MiB of it and then stopping: refused (or the connection
    // dropped), nothing stored.
    let answer = raw_exchange(&run, put_head(false).as_bytes(), 8 << 20).await;
    eprintln!(
        "6 GiB announced, 8 MiB sent: HTTP {} ({} bytes)",
        status_of(&answer),
        answer.len()
    );
    assert!(
        answer.is_empty() || answer.contains("EntityTooLarge"),
        "{answer}"
    );
    // Unsigned, with an 8 MiB body: AccessDenied, the body is never stored.
    let unsigned = format!(
        "PUT /{B}/{key} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        8 << 20
    );
    let answer = raw_exchange(&run, unsigned.as_bytes(), 8 << 20).await;
    assert!(answer.is_empty() || status_of(&answer) == 403, "{answer}");
    let r = send(&run, Req::new("HEAD", B, Some(key)), &c, Sig::V4).await;
    assert_eq!(r.status, 404, "nothing stored");

    // CompleteMultipartUpload with a 5 MiB XML body (over oss-local's 4 MiB limit).
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let upload_id = xml_field(&r.text(), "UploadId").unwrap();
    let mut xml = String::from("<CompleteMultipartUpload>");
    while xml.len() < 5 << 20 {
        xml.push_str("<Part><PartNumber>1</PartNumber><ETag>\"00000000000000000000000000000000\"</ETag></Part>");
    }
    xml.push_str("</CompleteMultipartUpload>");
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp"))
            .query(&[("uploadId", &upload_id)])
            .body(xml),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (400, "EntityTooLarge".into()),
        "{}",
        r.text()
    );
    let r = send(&run, Req::new("HEAD", B, Some("uploads/mp")), &c, Sig::V4).await;
    assert_eq!(r.status, 404);

    // STS with a 1 MiB form body (over its 64 KiB limit): a clean error, not a hang.
    let r = client()
        .post(run.sts_endpoint() + "/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("Action=AssumeRole&Policy={}", "a".repeat(1 << 20)))
        .send()
        .await;
    if let Ok(r) = r {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    alive().await;
    run.shutdown().await;
    s.assert_contained(&[]);
}

/// Regression, found by `fuzz/` (`fuzz/regressions/policy_ram`): `wildcard_match` used to match a
/// literal `*` of the key against a `*` of the pattern as an ordinary character, so a Deny on
/// `uploads/private*` missed the key `uploads/private*x`.
#[tokio::test]
async fn deny_with_a_star_in_the_key_is_still_a_deny() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let policy = r#"{"Version":"1","Statement":[
        {"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":"acs:oss:*:*:demo-bucket/uploads/*"},
        {"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:demo-bucket/uploads/private*"}]}"#;
    let c = assume_role(&run, &[("Policy", policy)]).await;
    for key in ["uploads/private1", "uploads/private*x"] {
        let r = send(
            &run,
            Req::new("PUT", B, Some(key)).body("secret"),
            &c,
            Sig::V4,
        )
        .await;
        assert_eq!(r.status, 200);
        let r = send(&run, Req::new("GET", B, Some(key)), &c, Sig::V4).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "AccessDenied".into()),
            "{key}: explicit Deny wins"
        );
    }
    run.shutdown().await;
}

/// A client that announces a body (no `Expect: 100-continue`) and then sends nothing must not
/// hold the connection forever: the refusal goes out once the drain times out.
#[tokio::test]
async fn an_announced_body_that_never_comes_does_not_hold_the_connection() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let mut tcp = tokio::net::TcpStream::connect(run.oss_addr).await.unwrap();
    let head = format!(
        "PUT /{B}/uploads/held HTTP/1.1\r\nHost: {}\r\nContent-Length: 100000000\r\n\r\n",
        run.oss_addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut buf))
        .await
        .expect("an answer within the drain timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert_eq!(status_of(&answer), 403, "{answer}");
    s.assert_contained(&[]);
    run.shutdown().await;
}

/// One HTTP/1.1 answer read off `tcp` (head and a `Content-Length` body), or what came before
/// the connection closed.
async fn read_answer(tcp: &mut tokio::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if got.len() >= end + 4 + len {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(15), tcp.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap_or(0);
        if n == 0 {
            return text;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// A request refused before its body was read (an invalid object name) used to leave the body
/// unread; the connection then closed under a client that had already reused it (oss2's own
/// suite failed now and then with RemoteDisconnected). The body is read first, the connection
/// serves the next request.
#[tokio::test]
async fn a_key_refused_before_its_body_keeps_the_connection() {
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let mut tcp = tokio::net::TcpStream::connect(run.oss_addr).await.unwrap();
    let head = format!(
        "PUT /{B}/%5Cinvalid-object-name HTTP/1.1\r\nHost: {}\r\nContent-Length: 16\r\n\r\n",
        run.oss_addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // The body comes a moment after the head, as it may over a real network.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tcp.write_all(&[b'x'; 16]).await.unwrap();
    let first = read_answer(&mut tcp).await;
    assert_eq!(status_of(&first), 400, "{first}");
    assert!(first.contains("InvalidObjectName"), "{first}");
    let next = format!(
        "GET /{B}/?uploads HTTP/1.1\r\nHost: {}\r\n\r\n",
        run.oss_addr
    );
    let _ = tcp.write_all(next.as_bytes()).await;
    let second = read_answer(&mut tcp).await;
    assert_eq!(
        status_of(&second),
        403,
        "the same connection answers: {second:?}"
    );
    run.shutdown().await;
}

/// Issue 11, item 4: an upload callback aimed at oss-local's own admin route used to arm a
/// fault (the route trusted any loopback peer and oss-local called back to itself), failing
/// every later request. Now callbacks never go to oss-local's own ports, and the route wants
/// the admin token and a JSON body, so neither a callback nor a cross-site form can use it.
#[tokio::test]
async fn a_callback_or_a_web_page_cannot_arm_faults() {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let s = Sandbox::new();
    let run = start_in(&s).await;
    let c = Creds::user();
    let arm = r#"{"action":"fail","operation":"*","count":1000,"status":500,"code":"Armed"}"#;
    let (oss_port, sts_port) = (run.oss_addr.port(), run.sts_addr.port());
    for url in [
        format!("http://127.0.0.1:{oss_port}/-/faults"),
        format!("http://localhost:{oss_port}/-/faults"),
        format!("http://0.0.0.0:{oss_port}/-/faults"),
        format!("http://[::ffff:127.0.0.1]:{oss_port}/-/faults"),
        format!("http://127.0.0.1:9;http://127.0.0.1:{oss_port}/-/faults"),
        format!("http://127.0.0.1:{sts_port}/"),
    ] {
        let cb = serde_json::json!({"callbackUrl": url, "callbackBody": arm,
            "callbackBodyType": "application/json"});
        let r = send(
            &run,
            Req::new("PUT", B, Some("uploads/cb"))
                .header("x-oss-callback", &STANDARD.encode(cb.to_string()))
                .body("x"),
            &c,
            Sig::V4,
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (400, "InvalidArgument".into()),
            "{url}"
        );
    }
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/after")).body("y"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "no fault was armed: {}", r.text());

    // A page's cross-site POST: text/plain (a "simple" request), no custom header.
    let admin = format!("{}/-/faults", run.oss_endpoint());
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json",
    ] {
        let r = client()
            .post(&admin)
            .header("content-type", ct)
            .body(arm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{ct}: no admin token");
    }
    // With the token, still only a JSON body.
    let r = client()
        .post(&admin)
        .header(oss_local::ADMIN_TOKEN_HEADER, run.admin_token())
        .header("content-type", "text/plain")
        .body(arm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = client()
        .post(&admin)
        .header(
            oss_local::ADMIN_TOKEN_HEADER,
            "0".repeat(run.admin_token().len()),
        )
        .header("content-type", "application/json")
        .body(arm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a wrong token");
    let r = client()
        .get(&admin)
        .header(oss_local::ADMIN_TOKEN_HEADER, run.admin_token())
        .send()
        .await
        .unwrap();
    let armed: serde_json::Value = r.json().await.unwrap();
    assert_eq!(armed["rules"], serde_json::json!([]), "nothing armed");
    let r = send(&run, Req::new("GET", B, Some("uploads/after")), &c, Sig::V4).await;
    assert_eq!(r.status, 200);
    s.assert_contained(&[]);
    run.shutdown().await;
}

/// Issue 11, item 6: the caller's policy was checked against the RoleArn as sent while the role
/// was looked up ignoring case, so a Deny on `role/admin` was bypassed with `role/ADMIN`.
#[tokio::test]
async fn a_deny_on_a_role_holds_whatever_the_case_of_its_arn() {
    let s = Sandbox::new();
    let admin_arn = "acs:ram::1000000000000000:role/admin";
    let mut opts = oss_local::Options::demo(s.data());
    opts.roles.push(oss_local::Role {
        arn: admin_arn.into(),
        max_session_duration: 3600,
        policy: serde_json::json!({"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}),
    });
    opts.users[0].policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"Effect":"Deny","Action":"sts:AssumeRole","Resource": admin_arn}));
    let run = oss_local::start(opts).await.unwrap();
    for arn in [
        admin_arn.to_string(),
        admin_arn.replace("role/admin", "role/ADMIN"),
        "acs:ram::1000000000000000:role/Admin".to_string(),
    ] {
        let (status, v) = assume_role_with(
            &run,
            oss_local::DEMO_ACCESS_KEY_ID,
            oss_local::DEMO_ACCESS_KEY_SECRET,
            &[("RoleArn", &arn)],
        )
        .await;
        assert_eq!(
            (status, v["Code"].as_str()),
            (403, Some("NoPermission")),
            "{arn}: {v}"
        );
    }
    // The demo role, in any case, is still allowed.
    let (status, v) = assume_role_with(
        &run,
        oss_local::DEMO_ACCESS_KEY_ID,
        oss_local::DEMO_ACCESS_KEY_SECRET,
        &[(
            "RoleArn",
            &oss_local::DEMO_ROLE_ARN.replace("oss-direct-demo", "OSS-Direct-Demo"),
        )],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    run.shutdown().await;
}

/// Sends `len` bytes with chunked framing (no Content-Length), V1-signed by `c`.
async fn put_chunked(
    run: &oss_local::Running,
    c: &Creds,
    key: &str,
    query: &[(String, String)],
    len: usize,
) -> Resp {
    let mut headers = http::HeaderMap::new();
    sign::sign_v1(
        "PUT",
        Some(B),
        Some(key),
        query,
        &mut headers,
        signing(c),
        &httpdate::fmt_http_date(SystemTime::now()),
    );
    let chunks =
        (0..len.div_ceil(64 * 1024)).map(|_| Ok::<_, std::io::Error>(vec![7u8; 64 * 1024]));
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = client()
        .put(url(run, B, Some(key), query))
        .headers(headers)
        .body(body)
        .send()
        .await;
    match r {
        Ok(r) => Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.bytes().await.unwrap_or_default().to_vec(),
        },
        // The server may answer and close before the client has sent everything.
        Err(_) => Resp {
            status: 0,
            headers: http::HeaderMap::new(),
            body: Vec::new(),
        },
    }
}

/// Issue 11, item 6: a chunked PUT (no Content-Length) skipped the object size limit. Here the
/// limit is lowered to 1 MiB (`Options::max_object_size`, OSS's 5 GiB by default) and 2 MiB are
/// sent chunked to PutObject and UploadPart: refused with `EntityTooLarge`, nothing stored.
#[tokio::test]
async fn a_chunked_upload_cannot_skip_the_size_limit() {
    let s = Sandbox::new();
    let mut opts = oss_local::Options::demo(s.data());
    opts.max_object_size = 1 << 20;
    let run = oss_local::start(opts).await.unwrap();
    let c = Creds::user();
    let r = put_chunked(&run, &c, "uploads/big", &[], 2 << 20).await;
    assert!(
        r.status == 0 || (r.status, r.code()) == (400, "EntityTooLarge".into()),
        "{} {}",
        r.status,
        r.text()
    );
    let r = send(&run, Req::new("HEAD", B, Some("uploads/big")), &c, Sig::V4).await;
    assert_eq!(r.status, 404, "nothing stored");
    // Within the limit, chunked is fine.
    let r = put_chunked(&run, &c, "uploads/small", &[], 512 << 10).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let query = q(&[("partNumber", "1"), ("uploadId", &id)]);
    let r = put_chunked(&run, &c, "uploads/mp", &query, 2 << 20).await;
    assert!(
        r.status == 0 || (r.status, r.code()) == (400, "EntityTooLarge".into()),
        "{} {}",
        r.status,
        r.text()
    );
    let r = send(
        &run,
        Req::new("GET", B, Some("uploads/mp")).query(&[("uploadId", &id)]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "Part").len(), 0, "no part stored");
    // Announced with Content-Length, refused before reading.
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/big")).body(vec![0u8; 2 << 20]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "EntityTooLarge".into()));
    run.shutdown().await;
    s.assert_contained(&[]);
}
