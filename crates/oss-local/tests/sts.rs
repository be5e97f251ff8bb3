//! STS AssumeRole: success shape and each refusal.

mod common;
use common::*;
use oss_local::{DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_ROLE_ARN};

#[tokio::test]
async fn assume_role_answers_the_real_shape() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let (status, v) = assume_role_with(&run, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, &[]).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["RequestId"].as_str().unwrap().len() == 36);
    let c = &v["Credentials"];
    assert!(c["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert!(!c["AccessKeySecret"].as_str().unwrap().is_empty());
    assert!(!c["SecurityToken"].as_str().unwrap().is_empty());
    let exp = c["Expiration"].as_str().unwrap();
    let exp = time::PrimitiveDateTime::parse(
        exp,
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .unwrap()
    .assume_utc();
    let left = (exp - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((890..=900).contains(&left), "900 s asked, {left} left");
    assert_eq!(
        v["AssumedRoleUser"]["Arn"],
        "acs:ram::1000000000000000:role/oss-direct-demo/test-session"
    );
    assert!(v["AssumedRoleUser"]["AssumedRoleId"]
        .as_str()
        .unwrap()
        .ends_with(":test-session"));
    run.shutdown().await;
}

async fn refused(
    run: &oss_local::Running,
    ak: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let (status, v) = assume_role_with(run, ak, secret, extra).await;
    assert!(v["RequestId"].is_string(), "{v}");
    assert!(v["Message"].is_string(), "{v}");
    (status, v["Code"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn assume_role_refusals_use_the_real_codes() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let (ak, sk) = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET);
    assert_eq!(
        refused(&run, ak, "wrong", &[]).await,
        (400, "SignatureDoesNotMatch".into())
    );
    assert_eq!(
        refused(&run, "LTAI5tNobody", sk, &[]).await,
        (404, "InvalidAccessKeyId.NotFound".into())
    );
    assert_eq!(
        refused(&run, ak, sk, &[("DurationSeconds", "899")]).await,
        (400, "InvalidParameter.DurationSeconds".into())
    );
    assert_eq!(
        refused(&run, ak, sk, &[("DurationSeconds", "3601")]).await,
        (400, "InvalidParameter.DurationSeconds".into())
    );
    assert_eq!(
        refused(
            &run,
            ak,
            sk,
            &[("RoleArn", "acs:ram::1000000000000000:role/nobody")]
        )
        .await,
        (404, "EntityNotExist.Role".into())
    );
    assert_eq!(
        refused(&run, ak, sk, &[("RoleArn", "not-an-arn")]).await,
        (400, "InvalidParameter.RoleArn".into())
    );
    assert_eq!(
        refused(&run, ak, sk, &[("RoleArn", "")]).await,
        (400, "MissingParameter.RoleArn".into())
    );
    assert_eq!(
        refused(&run, ak, sk, &[("RoleSessionName", "a")]).await,
        (400, "InvalidParameter.RoleSessionName".into())
    );
    assert_eq!(
        refused(
            &run,
            ak,
            sk,
            &[(
                "Policy",
                r#"{"Version":"1","Statement":[{"Effect":"Allow"}]}"#
            )]
        )
        .await,
        (400, "InvalidParameter.PolicyGrammar".into())
    );
    let long = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:demo-bucket/{}"}}]}}"#,
        "x".repeat(2100)
    );
    assert_eq!(
        refused(&run, ak, sk, &[("Policy", &long)]).await,
        (400, "InvalidParameter.PolicySize".into())
    );
    assert_eq!(
        refused(&run, ak, sk, &[("Timestamp", "2020-01-01T00:00:00Z")]).await,
        (400, "InvalidTimeStamp.Expired".into())
    );
    assert_eq!(
        assume_role_with(&run, ak, sk, &[("SignatureNonce", "same-nonce")])
            .await
            .0,
        200
    );
    assert_eq!(
        refused(&run, ak, sk, &[("SignatureNonce", "same-nonce")]).await,
        (400, "SignatureNonceUsed".into())
    );
    run.shutdown().await;
}

#[tokio::test]
async fn assume_role_by_get_query() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let mut p = std::collections::BTreeMap::new();
    let ts = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap();
    for (k, v) in [
        ("Action", "AssumeRole"),
        ("Format", "JSON"),
        ("Version", "2015-04-01"),
        ("AccessKeyId", DEMO_ACCESS_KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "get-nonce-1"),
        ("Timestamp", ts.as_str()),
        ("RoleArn", DEMO_ROLE_ARN),
        ("RoleSessionName", "get.session"),
    ] {
        p.insert(k.to_string(), v.to_string());
    }
    let sts = oss_direct_wire::sign::rpc_string_to_sign("GET", &p);
    p.insert(
        "Signature".into(),
        oss_direct_wire::sign::rpc_signature(DEMO_ACCESS_KEY_SECRET, &sts),
    );
    let pairs: Vec<(String, String)> = p.into_iter().collect();
    let u = format!("{}/?{}", run.sts_endpoint(), query_string(&pairs));
    let r = raw("GET", &u, http::HeaderMap::new(), Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v["Credentials"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("STS."));
    run.shutdown().await;
}

#[tokio::test]
async fn format_xml_answers_xml() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let mut p = std::collections::BTreeMap::new();
    let ts = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap();
    for (k, v) in [
        ("Action", "AssumeRole"),
        ("Format", "XML"),
        ("Version", "2015-04-01"),
        ("AccessKeyId", DEMO_ACCESS_KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "xml-nonce"),
        ("Timestamp", ts.as_str()),
        ("RoleArn", DEMO_ROLE_ARN),
        ("RoleSessionName", "xml"),
    ] {
        p.insert(k.to_string(), v.to_string());
    }
    let sts = oss_direct_wire::sign::rpc_string_to_sign("GET", &p);
    p.insert(
        "Signature".into(),
        oss_direct_wire::sign::rpc_signature(DEMO_ACCESS_KEY_SECRET, &sts),
    );
    let pairs: Vec<(String, String)> = p.into_iter().collect();
    let u = format!("{}/?{}", run.sts_endpoint(), query_string(&pairs));
    let r = raw("GET", &u, http::HeaderMap::new(), Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("<AssumeRoleResponse>"), "{text}");
    assert!(xml_field(&text, "AccessKeyId").unwrap().starts_with("STS."));
    assert!(xml_field(&text, "SecurityToken").is_some());
    // The same request again: the nonce is spent, and the error is XML too.
    let r = raw("GET", &u, http::HeaderMap::new(), Vec::new()).await;
    assert_eq!(r.status, 400);
    assert_eq!(xml_field(&r.text(), "Code").unwrap(), "SignatureNonceUsed");
    run.shutdown().await;
}
