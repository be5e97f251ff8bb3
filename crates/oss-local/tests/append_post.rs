//! Issue 16: AppendObject and PostObject (the browser form upload with a signed policy) against
//! a real oss-local over HTTP, including the attacks a form upload invites: a forged or
//! tampered policy, a key or size outside the policy, an expired policy, another session's
//! token, a key outside the session policy. Each is refused with nothing stored.

mod common;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use http::HeaderMap;
use oss_direct_wire::sign;
use oss_local::DEMO_BUCKET as B;

fn append(key: &str, position: u64, body: &str) -> Req<'static> {
    Req::new("POST", B, Some(Box::leak(key.to_string().into_boxed_str())))
        .query(&[("append", ""), ("position", &position.to_string())])
        .body(body.as_bytes().to_vec())
}

#[tokio::test]
async fn append_grows_an_appendable_object_at_its_length_only() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let r = send(
        &run,
        append("a", 0, "hello ").header("content-type", "text/plain"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-oss-next-append-position"), "6");
    let r = send(&run, append("a", 3, "nope"), &c, Sig::V4).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "PositionNotEqualToLength".into())
    );
    assert_eq!(
        r.header("x-oss-next-append-position"),
        "6",
        "the error says where to go on"
    );
    let r = send(&run, append("a", 6, "world"), &c, Sig::V4).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let crc = oss_direct::crc64::checksum(b"hello world");
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        crc.to_string(),
        "CRC-64 of the whole object"
    );
    let r = send(&run, Req::new("GET", B, Some("a")), &c, Sig::V4).await;
    assert_eq!(r.text(), "hello world");
    assert_eq!(r.header("x-oss-object-type"), "Appendable");
    assert_eq!(
        r.header("content-type"),
        "text/plain",
        "the first append's headers"
    );
    assert_eq!(r.header("x-oss-next-append-position"), "11");

    // A Normal object cannot be appended to; a new object must start at 0.
    send(&run, Req::new("PUT", B, Some("n")).body("x"), &c, Sig::V4).await;
    let r = send(&run, append("n", 1, "y"), &c, Sig::V4).await;
    assert_eq!((r.status, r.code()), (409, "ObjectNotAppendable".into()));
    let r = send(&run, append("fresh", 5, "y"), &c, Sig::V4).await;
    assert_eq!(
        (r.status, r.code()),
        (409, "PositionNotEqualToLength".into())
    );
    assert_eq!(
        send(&run, Req::new("HEAD", B, Some("fresh")), &c, Sig::V4)
            .await
            .status,
        404
    );
    let r = send(
        &run,
        append("fresh", 0, "y").header("content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidDigest".into()));
    assert_eq!(
        send(&run, Req::new("HEAD", B, Some("fresh")), &c, Sig::V4)
            .await
            .status,
        404
    );
    run.shutdown().await;
}

/// A `multipart/form-data` body: the fields in order, then the file.
fn form(fields: &[(&str, &str)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----oss-local-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post(run: &oss_local::Running, fields: &[(&str, &str)], file: &[u8]) -> Resp {
    let (ct, body) = form(fields, file);
    let mut h = HeaderMap::new();
    h.insert("content-type", ct.parse().unwrap());
    raw("POST", &format!("{}/{B}", run.oss_endpoint()), h, body).await
}

fn policy(conditions: serde_json::Value, expires_in: i64) -> String {
    let exp = time::OffsetDateTime::now_utc() + time::Duration::seconds(expires_in);
    let exp = exp
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    STANDARD.encode(serde_json::json!({"expiration": exp, "conditions": conditions}).to_string())
}

fn v1_fields<'a>(c: &'a Creds, policy: &'a str, sig: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("OSSAccessKeyId", c.ak.as_str()),
        ("policy", policy),
        ("Signature", sig),
    ];
    if let Some(t) = &c.token {
        f.push(("x-oss-security-token", t.as_str()));
    }
    f
}

async fn head(run: &oss_local::Running, key: &str) -> Resp {
    send(run, Req::new("HEAD", B, Some(key)), &Creds::user(), Sig::V4).await
}

#[tokio::test]
async fn post_object_with_a_v1_policy_stores_the_file_with_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let p = policy(
        serde_json::json!([{"bucket": B}, ["starts-with", "$key", "uploads/"],
        ["content-length-range", 1, 1000], ["in", "$content-type", ["image/jpeg", "image/png"]]]),
        600,
    );
    let sig = sign::v1_signature(&c.secret, &p);
    let mut f = v1_fields(&c, &p, &sig);
    f.extend([
        ("key", "uploads/${filename}"),
        ("Content-Type", "image/jpeg"),
        ("x-oss-meta-from", "form"),
        ("success_action_status", "201"),
    ]);
    let r = post(&run, &f, b"jpeg bytes").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(xml_field(&r.text(), "Key").unwrap(), "uploads/photo.jpg");
    let r = send(
        &run,
        Req::new("GET", B, Some("uploads/photo.jpg")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.text(), "jpeg bytes");
    assert_eq!(r.header("content-type"), "image/jpeg");
    assert_eq!(r.header("x-oss-meta-from"), "form");
    assert_eq!(
        r.header("etag"),
        format!("\"{}\"", hex::encode_upper(md5_of(b"jpeg bytes")))
    );
    run.shutdown().await;
}

fn md5_of(b: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(b).into()
}

#[tokio::test]
async fn post_object_with_a_v4_policy_and_a_session_token() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let session = assume_role(&run, &[]).await;
    let now = time::OffsetDateTime::now_utc();
    let ts = v4_timestamp(now.into());
    let credential = format!("{}/{}/{REGION}/oss/aliyun_v4_request", session.ak, &ts[..8]);
    let p = policy(
        serde_json::json!([{"bucket": B}, {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
        {"x-oss-credential": credential}, {"x-oss-date": ts}, ["eq", "$key", "v4.txt"]]),
        600,
    );
    let sig = sign::v4_signature(&session.secret, &ts[..8], REGION, &p);
    let token = session.token.clone().unwrap();
    let fields = [
        ("key", "v4.txt"),
        ("policy", p.as_str()),
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-credential", credential.as_str()),
        ("x-oss-date", ts.as_str()),
        ("x-oss-signature", sig.as_str()),
        ("x-oss-security-token", token.as_str()),
    ];
    let r = post(&run, &fields, b"v4").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(head(&run, "v4.txt").await.status, 200);

    // The same form without its token, or with another session's, is refused.
    let other = assume_role(&run, &[]).await;
    let mut without: Vec<_> = fields.to_vec();
    without.retain(|(k, _)| *k != "x-oss-security-token");
    let r = post(&run, &without, b"again").await;
    assert_eq!((r.status, r.code()), (403, "InvalidAccessKeyId".into()));
    let mut swapped: Vec<_> = without.clone();
    let other_token = other.token.unwrap();
    swapped.push(("x-oss-security-token", other_token.as_str()));
    let r = post(&run, &swapped, b"again").await;
    assert_eq!((r.status, r.code()), (403, "InvalidSecurityToken".into()));
    let r = send(
        &run,
        Req::new("GET", B, Some("v4.txt")),
        &Creds::user(),
        Sig::V4,
    )
    .await;
    assert_eq!(r.text(), "v4", "nothing was overwritten");
    run.shutdown().await;
}

#[tokio::test]
async fn forged_tampered_expired_or_exceeded_policies_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let conditions = serde_json::json!([["eq", "$key", "ok.txt"], ["content-length-range", 0, 10]]);
    let good = policy(conditions.clone(), 600);
    let sig = sign::v1_signature(&c.secret, &good);

    // Forged: signed with a guessed secret.
    let forged = sign::v1_signature("guess", &good);
    let mut f = v1_fields(&c, &good, &forged);
    f.push(("key", "ok.txt"));
    let r = post(&run, &f, b"x").await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));

    // Tampered: a wider policy under the good signature.
    let wider = policy(serde_json::json!([["starts-with", "$key", ""]]), 600);
    let mut f = v1_fields(&c, &wider, &sig);
    f.push(("key", "anything.txt"));
    let r = post(&run, &f, b"x").await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));

    // A key the policy does not allow, and a file over its size range.
    let mut f = v1_fields(&c, &good, &sig);
    f.push(("key", "other.txt"));
    let r = post(&run, &f, b"x").await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    let mut f = v1_fields(&c, &good, &sig);
    f.push(("key", "ok.txt"));
    let r = post(&run, &f, &[b'x'; 11]).await;
    assert_eq!((r.status, r.code()), (400, "EntityTooLarge".into()));

    // Expired.
    let old = policy(conditions, -1);
    let old_sig = sign::v1_signature(&c.secret, &old);
    let mut f = v1_fields(&c, &old, &old_sig);
    f.push(("key", "ok.txt"));
    let r = post(&run, &f, b"x").await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    assert!(r.text().contains("expired"), "{}", r.text());

    // Unsigned to a private bucket.
    let r = post(&run, &[("key", "ok.txt")], b"x").await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));

    for key in ["ok.txt", "other.txt", "anything.txt"] {
        assert_eq!(head(&run, key).await.status, 404, "{key} was not stored");
    }
    run.shutdown().await;
}

#[tokio::test]
async fn post_object_holds_the_session_policy_and_refuses_unimplemented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let scoped = serde_json::json!({"Version": "1", "Statement": [{"Effect": "Allow",
        "Action": "oss:PutObject", "Resource": format!("acs:oss:*:*:{B}/users/alice/*")}]});
    let alice = assume_role(&run, &[("Policy", &scoped.to_string())]).await;
    // Alice signs a policy for Bob's folder: her own signature, but RAM says no.
    let p = policy(serde_json::json!([["starts-with", "$key", "users/"]]), 600);
    let sig = sign::v1_signature(&alice.secret, &p);
    let mut f = v1_fields(&alice, &p, &sig);
    f.push(("key", "users/bob/x.txt"));
    let r = post(&run, &f, b"x").await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    assert_eq!(head(&run, "users/bob/x.txt").await.status, 404);
    let mut f = v1_fields(&alice, &p, &sig);
    f.push(("key", "users/alice/x.txt"));
    assert_eq!(post(&run, &f, b"x").await.status, 204);

    // A field that would change how the object is stored, unimplemented: refused.
    let mut f = v1_fields(&alice, &p, &sig);
    f.extend([
        ("key", "users/alice/sse.txt"),
        ("x-oss-server-side-encryption", "KMS"),
    ]);
    let r = post(&run, &f, b"x").await;
    assert_eq!((r.status, r.code()), (501, "NotImplemented".into()));
    assert_eq!(head(&run, "users/alice/sse.txt").await.status, 404);
    run.shutdown().await;
}

#[tokio::test]
async fn racing_appends_at_one_position_store_one_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let sends = (0..8).map(|i| {
        let (run, c) = (&run, &c);
        async move { send(run, append("race", 0, &format!("writer {i}")), c, Sig::V4).await }
    });
    let results = futures_util::future::join_all(sends).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one append wins position 0");
    assert!(results
        .iter()
        .filter(|r| r.status != 200)
        .all(|r| r.code() == "PositionNotEqualToLength"));
    let r = send(&run, Req::new("GET", B, Some("race")), &c, Sig::V4).await;
    assert!(
        r.text().starts_with("writer ") && r.text().len() == 8,
        "{}",
        r.text()
    );
    run.shutdown().await;
}

#[tokio::test]
async fn a_form_of_endless_fields_is_refused_before_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let names: Vec<String> = (0..300).map(|i| format!("x-oss-meta-f{i}")).collect();
    let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let r = post(&run, &fields, b"x").await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn post_object_redirects_and_forbids_overwrite_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let p = policy(serde_json::json!([["starts-with", "$key", ""]]), 600);
    let sig = sign::v1_signature(&c.secret, &p);
    let mut f = v1_fields(&c, &p, &sig);
    f.extend([
        ("key", "r.txt"),
        ("success_action_redirect", "http://app.example/done"),
    ]);
    let (ct, body) = form(&f, b"first");
    let no_redirects = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .post(format!("{}/{B}", run.oss_endpoint()))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("http://app.example/done?bucket=demo-bucket&key=r.txt&etag="),
        "{to}"
    );
    let mut f = v1_fields(&c, &p, &sig);
    f.extend([("key", "r.txt"), ("x-oss-forbid-overwrite", "true")]);
    let r = post(&run, &f, b"second").await;
    assert_eq!((r.status, r.code()), (409, "FileAlreadyExists".into()));
    let r = send(&run, Req::new("GET", B, Some("r.txt")), &c, Sig::V4).await;
    assert_eq!(r.text(), "first");
    run.shutdown().await;
}
