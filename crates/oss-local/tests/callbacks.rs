//! Upload callbacks: the body, the RSA signature a receiver can verify with the published key,
//! the relayed answer, and 203 CallbackFailed.

mod common;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use md5::Digest;
use oss_local::DEMO_BUCKET as B;
use rsa::pkcs8::DecodePublicKey;
use std::sync::{Arc, Mutex};

/// One call: URI (path and query), headers, body.
type Call = (String, http::HeaderMap, Vec<u8>);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Call>>>);

/// A callback receiver on loopback: records each call and answers `status` with `answer`.
async fn receiver(status: u16, answer: &'static str) -> (String, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(
            move |uri: http::Uri, headers: http::HeaderMap, body: axum::body::Bytes| {
                let s = s.clone();
                async move {
                    s.0.lock()
                        .unwrap()
                        .push((uri.to_string(), headers, body.to_vec()));
                    (
                        http::StatusCode::from_u16(status).unwrap(),
                        [("content-type", "application/json")],
                        answer,
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/cb?from=oss"), seen)
}

fn callback_header(url: &str, body: &str, body_type: &str) -> String {
    STANDARD.encode(serde_json::json!({"callbackUrl": url, "callbackBody": body, "callbackBodyType": body_type}).to_string())
}

#[tokio::test]
async fn put_and_complete_call_back_with_a_verifiable_signature() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = assume_role(&run, &[]).await;
    let (url, seen) = receiver(200, r#"{"Status":"OK"}"#).await;
    let cb = callback_header(
        &url,
        "bucket=${bucket}&object=${object}&size=${size}&etag=${etag}&u=${x:user}",
        "application/x-www-form-urlencoded",
    );
    let vars = STANDARD.encode(r#"{"x:user":"alice smith"}"#);
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/cb 1.txt"))
            .body("hello")
            .header("x-oss-callback", &cb)
            .header("x-oss-callback-var", &vars),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"Status":"OK"}"#.into()),
        "the answer is relayed"
    );
    assert!(!r.header("etag").is_empty());

    let calls = seen.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (uri, headers, body) = &calls[0];
    let body_text = String::from_utf8(body.clone()).unwrap();
    assert_eq!(
        body_text,
        "bucket=demo-bucket&object=uploads%2Fcb%201.txt&size=5&etag=5D41402ABC4B2A76B9719D911017C592&u=alice%20smith"
    );
    // Verify like a receiver: fetch the key from x-oss-pub-key-url, check the signature.
    let key_url = String::from_utf8(
        STANDARD
            .decode(headers["x-oss-pub-key-url"].as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        key_url,
        format!("{}/-/callback-public-key.pem", run.oss_endpoint())
    );
    let pem = client()
        .get(&key_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
    let sig = STANDARD
        .decode(headers["authorization"].as_bytes())
        .unwrap();
    let mut message = format!("{}\n", uri).into_bytes();
    message.extend_from_slice(body);
    assert!(uri.starts_with("/cb?from=oss"));
    key.verify(
        rsa::Pkcs1v15Sign::new::<md5::Md5>(),
        &md5::Md5::digest(&message),
        &sig,
    )
    .expect("the callback signature verifies with the published key");
    let mut tampered = message.clone();
    tampered.push(b'!');
    assert!(key
        .verify(
            rsa::Pkcs1v15Sign::new::<md5::Md5>(),
            &md5::Md5::digest(&tampered),
            &sig
        )
        .is_err());

    // CompleteMultipartUpload calls back too, with a JSON body.
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/mp"))
            .query(&[("partNumber", "1"), ("uploadId", &id)])
            .body("abc"),
        &c,
        Sig::V4,
    )
    .await;
    let e1 = r.header("etag");
    let json_cb = callback_header(
        &url,
        r#"{"object":${object},"size":${size},"mimeType":${mimeType}}"#,
        "application/json",
    );
    let body = format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{e1}</ETag></Part></CompleteMultipartUpload>");
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp"))
            .query(&[("uploadId", &id)])
            .body(body)
            .header("x-oss-callback", &json_cb),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.text()), (200, r#"{"Status":"OK"}"#.into()));
    let calls = seen.0.lock().unwrap().clone();
    let v: serde_json::Value = serde_json::from_slice(&calls[1].2).unwrap();
    assert_eq!(v["object"], "uploads/mp");
    assert_eq!(v["size"], 3);
    run.shutdown().await;
}

#[tokio::test]
async fn a_failing_callback_is_203_callback_failed_and_the_object_stays() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let (url, _) = receiver(500, "{}").await;
    let cb = callback_header(
        &url,
        "object=${object}",
        "application/x-www-form-urlencoded",
    );
    let r = send(
        &run,
        Req::new("PUT", B, Some("k"))
            .body("v")
            .header("x-oss-callback", &cb),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (203, "CallbackFailed".into()));
    let r = send(&run, Req::new("GET", B, Some("k")), &c, Sig::V1).await;
    assert_eq!(r.text(), "v");
    // A malformed parameter is refused before anything is stored.
    let r = send(
        &run,
        Req::new("PUT", B, Some("k2"))
            .body("v")
            .header("x-oss-callback", "%%%"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument".into()));
    let r = send(&run, Req::new("HEAD", B, Some("k2")), &c, Sig::V1).await;
    assert_eq!(r.status, 404);
    run.shutdown().await;
}

/// What a receiver saw when it looked the object up with its own HeadObject during the call:
/// status, ETag, Content-Length.
type Looked = Arc<Mutex<Vec<(u16, String, String)>>>;

/// A callback receiver that, like the token server, confirms each callback with a HeadObject of
/// its own (V1-signed with the demo user) before answering.
async fn confirming_receiver(oss: String) -> (String, Looked) {
    let looked: Looked = Arc::default();
    let l = looked.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (l, oss) = (l.clone(), oss.clone());
            async move {
                let key = percent_encoding::percent_decode(&body)
                    .decode_utf8()
                    .unwrap()
                    .into_owned();
                let mut headers = http::HeaderMap::new();
                oss_direct_wire::sign::sign_v1(
                    "HEAD",
                    Some(B),
                    Some(&key),
                    &[],
                    &mut headers,
                    oss_direct_wire::sign::SigningCredentials {
                        access_key_id: oss_local::DEMO_ACCESS_KEY_ID,
                        access_key_secret: oss_local::DEMO_ACCESS_KEY_SECRET,
                        security_token: None,
                    },
                    &httpdate::fmt_http_date(std::time::SystemTime::now()),
                );
                let u = format!(
                    "{oss}/{B}/{}",
                    oss_direct_wire::sign::uri_encode(&key, true)
                );
                let r = client().head(u).headers(headers).send().await.unwrap();
                let h = |n: &str| {
                    r.headers()
                        .get(n)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default()
                };
                let seen = (r.status().as_u16(), h("etag"), h("content-length"));
                l.lock().unwrap().push(seen);
                ([("content-type", "application/json")], r#"{"ok":true}"#)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/cb"), looked)
}

/// As on real OSS, the object is fully stored and visible to HeadObject before the callback is
/// sent: the receiver's own HeadObject sees the new ETag and size (for an overwrite too), for
/// PutObject and CompleteMultipartUpload.
#[tokio::test]
async fn the_object_is_visible_to_head_object_before_the_callback() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let (url, looked) = confirming_receiver(run.oss_endpoint()).await;
    let cb = callback_header(&url, "${object}", "application/x-www-form-urlencoded");
    let key = "uploads/confirmed.txt";
    let r = send(&run, Req::new("PUT", B, Some(key)).body("old"), &c, Sig::V4).await;
    assert_eq!(r.status, 200);
    let r = send(
        &run,
        Req::new("PUT", B, Some(key))
            .body("the new content")
            .header("x-oss-callback", &cb),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.text()), (200, r#"{"ok":true}"#.into()));
    let md5 = hex::encode_upper(md5::Md5::digest(b"the new content"));
    assert_eq!(
        looked.lock().unwrap().clone(),
        vec![(200, format!("\"{md5}\""), "15".to_string())]
    );

    let key = "uploads/confirmed-mp.bin";
    let r = send(
        &run,
        Req::new("POST", B, Some(key)).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let r = send(
        &run,
        Req::new("PUT", B, Some(key))
            .query(&[("partNumber", "1"), ("uploadId", &id)])
            .body(vec![1u8; 1000]),
        &c,
        Sig::V4,
    )
    .await;
    let etag = r.header("etag");
    let xml = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = send(
        &run,
        Req::new("POST", B, Some(key))
            .query(&[("uploadId", &id)])
            .header("x-oss-callback", &cb)
            .body(xml),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.text()), (200, r#"{"ok":true}"#.into()));
    let seen = looked.lock().unwrap()[1].clone();
    assert_eq!((seen.0, seen.2.as_str()), (200, "1000"));
    assert!(seen.1.ends_with("-1\""), "the multipart ETag: {}", seen.1);
    run.shutdown().await;
}

#[tokio::test]
async fn post_object_and_presigned_urls_call_back_too() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let (cb_url, seen) = receiver(200, r#"{"Status":"OK"}"#).await;
    let cb = callback_header(
        &cb_url,
        "object=${object}&u=${x:user}",
        "application/x-www-form-urlencoded",
    );

    // A PostObject form: `callback`, and its `x:` fields as the variables.
    let exp = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let exp = exp
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let policy = STANDARD.encode(
        serde_json::json!({"expiration": exp, "conditions": [["eq", "$key", "form.txt"]]})
            .to_string(),
    );
    let sig = oss_direct_wire::sign::v1_signature(&c.secret, &policy);
    let boundary = "b0undary";
    let mut body = String::new();
    for (k, v) in [
        ("key", "form.txt"),
        ("OSSAccessKeyId", c.ak.as_str()),
        ("policy", policy.as_str()),
        ("Signature", sig.as_str()),
        ("callback", cb.as_str()),
        ("x:user", "alice"),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nform bytes\r\n--{boundary}--\r\n"));
    let mut h = http::HeaderMap::new();
    h.insert(
        "content-type",
        format!("multipart/form-data; boundary={boundary}")
            .parse()
            .unwrap(),
    );
    let r = raw(
        "POST",
        &format!("{}/{B}", run.oss_endpoint()),
        h,
        body.into_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.text()),
        (200, r#"{"Status":"OK"}"#.to_string())
    );

    // A presigned PUT carrying the callback as query parameters.
    let vars = STANDARD.encode(r#"{"x:user":"bob"}"#);
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 60;
    let signing = oss_direct_wire::sign::SigningCredentials {
        access_key_id: &c.ak,
        access_key_secret: &c.secret,
        security_token: None,
    };
    let extra = q(&[("callback", &cb), ("callback-var", &vars)]);
    let pre = oss_direct_wire::sign::presign_v1(
        "PUT",
        Some(B),
        Some("url.txt"),
        &extra,
        &http::HeaderMap::new(),
        signing,
        exp,
    );
    let r = raw(
        "PUT",
        &url(&run, B, Some("url.txt"), &pre),
        http::HeaderMap::new(),
        b"url bytes".to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let calls = seen.0.lock().unwrap().clone();
    let bodies: Vec<String> = calls
        .iter()
        .map(|(_, _, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert_eq!(
        bodies,
        vec![
            "object=form.txt&u=alice".to_string(),
            "object=url.txt&u=bob".into()
        ]
    );
    run.shutdown().await;
}
