//! Each authentication and authorization refusal, with the real code.

mod common;
use common::*;
use oss_local::DEMO_BUCKET as B;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn signature_key_token_and_time_failures() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let good = assume_role(&run, &[]).await;
    for sig in [Sig::V1, Sig::V4] {
        let put = || Req::new("PUT", B, Some("uploads/a")).body("x");
        let r = send(&run, put(), &good, sig).await;
        assert_eq!(r.status, 200, "{sig:?} {}", r.text());

        let wrong_secret = Creds {
            secret: "wrong".into(),
            ..good.clone()
        };
        let r = send(&run, put(), &wrong_secret, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "SignatureDoesNotMatch".into()),
            "{sig:?}"
        );
        assert!(xml_field(&r.text(), "StringToSign").is_some());

        let unknown = Creds {
            ak: "LTAI5tUnknown".into(),
            secret: "x".into(),
            token: None,
        };
        let r = send(&run, put(), &unknown, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "InvalidAccessKeyId".into()),
            "{sig:?}"
        );

        let no_token = Creds {
            token: None,
            ..good.clone()
        };
        let r = send(&run, put(), &no_token, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "InvalidAccessKeyId".into()),
            "{sig:?}"
        );

        let mut t = good.token.clone().unwrap();
        t.insert(12, 'Z');
        let bad_token = Creds {
            token: Some(t),
            ..good.clone()
        };
        let r = send(&run, put(), &bad_token, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "InvalidSecurityToken".into()),
            "{sig:?}"
        );

        let other = assume_role(&run, &[]).await;
        let mismatched = Creds {
            token: other.token.clone(),
            ..good.clone()
        };
        let r = send(&run, put(), &mismatched, sig).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "InvalidSecurityToken".into()),
            "{sig:?}"
        );

        let skewed = SystemTime::now() - Duration::from_secs(16 * 60);
        let r = send_at(&run, put(), &good, sig, skewed).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "RequestTimeTooSkewed".into()),
            "{sig:?}"
        );
        let r = send_at(
            &run,
            put(),
            &good,
            sig,
            SystemTime::now() - Duration::from_secs(14 * 60),
        )
        .await;
        assert_eq!(r.status, 200, "14 minutes of skew is fine");

        let r = send(&run, put(), &good, Sig::None).await;
        assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    }
    // V4 scope naming another region.
    let mut req = Req::new("GET", B, Some("uploads/a"));
    oss_direct_wire::sign::sign_v4(
        "GET",
        Some(B),
        Some("uploads/a"),
        &[],
        &mut req.headers,
        oss_direct_wire::sign::SigningCredentials {
            access_key_id: &good.ak,
            access_key_secret: &good.secret,
            security_token: good.token.as_deref(),
        },
        "cn-beijing",
        &v4_timestamp(SystemTime::now()),
    );
    let r = raw(
        "GET",
        &url(&run, B, Some("uploads/a"), &[]),
        req.headers,
        vec![],
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "SignatureDoesNotMatch".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn v4_header_with_either_comma_style_and_additional_headers() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = assume_role(&run, &[]).await;
    let r = send(&run, Req::new("PUT", B, Some("k")).body("v"), &c, Sig::V4).await;
    assert_eq!(r.status, 200);
    for sep in [",", ", "] {
        let mut req = Req::new("GET", B, Some("k"));
        oss_direct_wire::sign::sign_v4(
            "GET",
            Some(B),
            Some("k"),
            &[],
            &mut req.headers,
            oss_direct_wire::sign::SigningCredentials {
                access_key_id: &c.ak,
                access_key_secret: &c.secret,
                security_token: c.token.as_deref(),
            },
            REGION,
            &v4_timestamp(SystemTime::now()),
        );
        // Re-sign by hand with host as an additional header, the separator under test.
        let host = run.oss_addr.to_string();
        req.headers.insert("host", host.parse().unwrap());
        let add = vec!["host".to_string()];
        let signable = oss_direct_wire::sign::SignableRequest {
            method: "GET",
            bucket: Some(B),
            key: Some("k"),
            query: &[],
            headers: &req.headers,
        };
        let ts = req.headers["x-oss-date"].to_str().unwrap().to_string();
        let scope = oss_direct_wire::sign::v4_scope(&ts[..8], REGION);
        let sts = oss_direct_wire::sign::v4_string_to_sign(
            &oss_direct_wire::sign::v4_canonical_request(&signable, &add),
            &ts,
            &scope,
        );
        let sig = oss_direct_wire::sign::v4_signature(&c.secret, &ts[..8], REGION, &sts);
        let auth = format!(
            "OSS4-HMAC-SHA256 Credential={}/{scope}{sep}AdditionalHeaders=host{sep}Signature={sig}",
            c.ak
        );
        req.headers.insert("authorization", auth.parse().unwrap());
        let r = raw("GET", &url(&run, B, Some("k"), &[]), req.headers, vec![]).await;
        assert_eq!((r.status, r.text()), (200, "v".into()), "separator {sep:?}");
    }
    run.shutdown().await;
}

#[tokio::test]
async fn expired_token_is_security_token_expired() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    run.faults()
        .set_token_lifetime(Some(Duration::from_secs(1)));
    let c = assume_role(&run, &[]).await;
    run.faults().set_token_lifetime(None);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = send(
        &run,
        Req::new("PUT", B, Some("uploads/x")).body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "SecurityTokenExpired".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn session_policy_intersects_role_policy_and_deny_wins() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let policy = r#"{"Version":"1","Statement":[
        {"Effect":"Allow","Action":["oss:PutObject","oss:GetObject","oss:ListParts","oss:AbortMultipartUpload"],"Resource":["acs:oss:*:*:demo-bucket/uploads/*","acs:oss:*:*:other-bucket/*"]},
        {"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:demo-bucket/uploads/private*"}]}"#;
    let c = assume_role(&run, &[("Policy", policy)]).await;
    let put = |k: &'static str| Req::new("PUT", B, Some(k)).body("x");
    assert_eq!(send(&run, put("uploads/ok"), &c, Sig::V4).await.status, 200);
    let r = send(&run, put("elsewhere/no"), &c, Sig::V4).await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));
    assert_eq!(
        send(&run, put("uploads/private1"), &c, Sig::V4)
            .await
            .status,
        200
    );
    let r = send(
        &run,
        Req::new("GET", B, Some("uploads/private1")),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (403, "AccessDenied".into()),
        "explicit Deny wins"
    );
    let r = send(&run, Req::new("DELETE", B, Some("uploads/ok")), &c, Sig::V4).await;
    assert_eq!(
        r.code(),
        "AccessDenied",
        "DeleteObject is not in the session policy"
    );
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[("list-type", "2")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(
        r.code(),
        "AccessDenied",
        "ListObjects needs the bucket resource"
    );
    // Multipart: PutObject covers initiate/part/complete.
    let r = send(
        &run,
        Req::new("POST", B, Some("uploads/mp")).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &run,
        Req::new("POST", B, Some("elsewhere/mp")).query(&[("uploads", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.code(), "AccessDenied");

    // Without a session policy, the role policy alone applies.
    let full = assume_role(&run, &[]).await;
    assert_eq!(
        send(
            &run,
            Req::new("DELETE", B, Some("uploads/ok")),
            &full,
            Sig::V4
        )
        .await
        .status,
        204
    );
    run.shutdown().await;
}

#[tokio::test]
async fn policy_conditions_on_prefix_and_source_ip() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let policy = r#"{"Version":"1","Statement":[
        {"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:demo-bucket",
         "Condition":{"StringLike":{"oss:Prefix":"uploads/*"}}},
        {"Effect":"Allow","Action":"oss:PutObject","Resource":"acs:oss:*:*:demo-bucket/*",
         "Condition":{"IpAddress":{"acs:SourceIp":"127.0.0.0/8"}}},
        {"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:demo-bucket/*",
         "Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}"#;
    let c = assume_role(&run, &[("Policy", policy)]).await;
    let list = |prefix: &'static str| {
        Req::new("GET", B, None).query(&[("list-type", "2"), ("prefix", prefix)])
    };
    assert_eq!(send(&run, list("uploads/"), &c, Sig::V4).await.status, 200);
    assert_eq!(
        send(&run, list("other/"), &c, Sig::V4).await.code(),
        "AccessDenied"
    );
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[("list-type", "2")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(
        r.code(),
        "AccessDenied",
        "no prefix: the StringLike cannot hold"
    );
    assert_eq!(
        send(&run, Req::new("PUT", B, Some("k")).body("x"), &c, Sig::V4)
            .await
            .status,
        200
    );
    let r = send(&run, Req::new("GET", B, Some("k")), &c, Sig::V4).await;
    assert_eq!(r.code(), "AccessDenied", "loopback is not in 10.0.0.0/8");
    run.shutdown().await;
}
