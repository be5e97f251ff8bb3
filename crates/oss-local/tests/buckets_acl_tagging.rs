//! Issue 16: PutBucket / DeleteBucket / ListBuckets, bucket and object ACLs (and what an
//! anonymous request may do under them), object tagging, storage classes on PUT: each
//! implemented operation against a real oss-local over HTTP, and each refused variant refused
//! with nothing changed.

mod common;
use common::*;
use http::HeaderMap;
use oss_direct_wire::sign::{self, SigningCredentials};
use oss_local::{Options, User, DEMO_BUCKET as B};

/// A RAM user allowed `oss:*` on every bucket (the demo user is limited to the demo bucket).
fn admin() -> Creds {
    Creds {
        ak: "LTAI5tLocalAdminKey".into(),
        secret: "LocalAdminSecret".into(),
        token: None,
    }
}

async fn start_with_admin(dir: &std::path::Path) -> oss_local::Running {
    let mut opts = Options::demo(dir.to_path_buf());
    opts.users.push(User {
        name: "admin".into(),
        access_key_id: admin().ak,
        access_key_secret: admin().secret,
        policy: serde_json::json!({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]}),
    });
    oss_local::start(opts).await.expect("oss-local starts")
}

/// ListBuckets (`GET /`), V1-signed by `c`.
async fn list_buckets(run: &oss_local::Running, c: &Creds, query: &[(&str, &str)]) -> Resp {
    service_request(run, "GET", c, query).await
}

/// `method /` (no bucket), V1-signed by `c`.
async fn service_request(
    run: &oss_local::Running,
    method: &str,
    c: &Creds,
    query: &[(&str, &str)],
) -> Resp {
    let mut h = HeaderMap::new();
    let q = q(query);
    let creds = SigningCredentials {
        access_key_id: &c.ak,
        access_key_secret: &c.secret,
        security_token: c.token.as_deref(),
    };
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    sign::sign_v1(method, None, None, &q, &mut h, creds, &date);
    let mut u = format!("{}/", run.oss_endpoint());
    if !q.is_empty() {
        u = format!("{u}?{}", query_string(&q));
    }
    raw(method, &u, h, vec![]).await
}

/// Without a bucket only `GET /` (ListBuckets) exists: any other method is refused, even for a
/// principal allowed everything, rather than answered with the bucket list.
#[tokio::test]
async fn service_requests_other_than_list_buckets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = start_with_admin(dir.path()).await;
    for method in ["PUT", "DELETE", "POST"] {
        let r = service_request(&run, method, &admin(), &[]).await;
        assert_eq!(
            (r.status, r.code()),
            (501, "NotImplemented".into()),
            "{method} /: {}",
            r.text()
        );
    }
    let r = service_request(&run, "GET", &admin(), &[("acl", "")]).await;
    assert_eq!((r.status, r.code()), (501, "NotImplemented".into()));
    assert_eq!(list_buckets(&run, &admin(), &[]).await.status, 200);
}

#[tokio::test]
async fn buckets_are_made_listed_and_deleted_only_when_empty() {
    let dir = tempfile::tempdir().unwrap();
    let run = start_with_admin(dir.path()).await;
    let a = admin();
    let r = send(&run, Req::new("PUT", "made-here", None), &a, Sig::V4).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Made again: one account owns them all, so it is a 200 that changes nothing.
    let r = send(&run, Req::new("PUT", "made-here", None), &a, Sig::V1).await;
    assert_eq!(r.status, 200);
    let r = send(&run, Req::new("PUT", "Bad_Name", None), &a, Sig::V1).await;
    assert_eq!((r.status, r.code()), (400, "InvalidBucketName".into()));
    // The demo user may not make buckets: its policy names the demo bucket only.
    let r = send(
        &run,
        Req::new("PUT", "other", None),
        &Creds::user(),
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (403, "AccessDenied".into()));

    let r = list_buckets(&run, &a, &[("prefix", "made-")]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(xml_fields(&r.text(), "Name"), vec!["made-here".to_string()]);
    let all = list_buckets(&run, &a, &[]).await;
    assert_eq!(
        xml_fields(&all.text(), "Name"),
        vec![B.to_string(), "made-here".into()]
    );
    assert_eq!(
        xml_field(&all.text(), "ExtranetEndpoint").unwrap(),
        run.oss_addr.to_string(),
        "a client that follows the endpoint stays on oss-local"
    );

    let put = Req::new("PUT", "made-here", Some("k")).body("x");
    assert_eq!(send(&run, put, &a, Sig::V4).await.status, 200);
    let r = send(&run, Req::new("DELETE", "made-here", None), &a, Sig::V4).await;
    assert_eq!((r.status, r.code()), (409, "BucketNotEmpty".into()));
    let get = send(&run, Req::new("GET", "made-here", Some("k")), &a, Sig::V4).await;
    assert_eq!(get.text(), "x", "a refused DeleteBucket deletes nothing");
    send(
        &run,
        Req::new("DELETE", "made-here", Some("k")),
        &a,
        Sig::V4,
    )
    .await;
    let r = send(&run, Req::new("DELETE", "made-here", None), &a, Sig::V4).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = send(&run, Req::new("GET", "made-here", Some("k")), &a, Sig::V4).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchBucket".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn refused_bucket_settings_make_no_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let run = start_with_admin(dir.path()).await;
    let a = admin();
    let archive = "<CreateBucketConfiguration><StorageClass>Archive</StorageClass></CreateBucketConfiguration>";
    let r = send(
        &run,
        Req::new("PUT", "cold", None).body(archive),
        &a,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (501, "NotImplemented".into()));
    let r = send(
        &run,
        Req::new("PUT", "acl-bad", None).header("x-oss-acl", "everyone"),
        &a,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument".into()));
    let names = xml_fields(&list_buckets(&run, &a, &[]).await.text(), "Name");
    assert_eq!(names, vec![B.to_string()], "neither bucket was made");
    run.shutdown().await;
}

#[tokio::test]
async fn acls_decide_what_an_unsigned_request_may_do() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let anon = Creds::user();
    let put = |key: &'static str| Req::new("PUT", B, Some(key)).body("data");
    assert_eq!(send(&run, put("k"), &c, Sig::V4).await.status, 200);

    // Private bucket: nothing unsigned.
    assert_eq!(send(&run, put("anon"), &anon, Sig::None).await.status, 403);
    assert_eq!(
        send(&run, Req::new("GET", B, Some("k")), &anon, Sig::None)
            .await
            .status,
        403
    );
    let acl = send(
        &run,
        Req::new("GET", B, None).query(&[("acl", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_field(&acl.text(), "Grant").unwrap(), "private");

    // An object made public-read in a private bucket can be read, not written.
    let r = send(
        &run,
        Req::new("PUT", B, Some("k"))
            .query(&[("acl", "")])
            .header("x-oss-object-acl", "public-read"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &run,
        Req::new("GET", B, Some("k")).query(&[("acl", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_field(&r.text(), "Grant").unwrap(), "public-read");
    let r = send(&run, Req::new("GET", B, Some("k")), &anon, Sig::None).await;
    assert_eq!((r.status, r.text()), (200, "data".into()));
    assert_eq!(send(&run, put("k"), &anon, Sig::None).await.status, 403);

    // A public-read-write bucket takes unsigned writes; an object set private stays closed.
    let r = send(
        &run,
        Req::new("PUT", B, None)
            .query(&[("acl", "")])
            .header("x-oss-acl", "public-read-write"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(send(&run, put("anon"), &anon, Sig::None).await.status, 200);
    let r = send(
        &run,
        put("closed").header("x-oss-object-acl", "private"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&run, Req::new("GET", B, Some("closed")), &anon, Sig::None).await;
    assert_eq!(r.status, 403, "the object's own ACL wins over the bucket's");
    let r = send(
        &run,
        Req::new("GET", B, Some("anon")).query(&[("acl", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_field(&r.text(), "Grant").unwrap(), "default");

    // Back to private: unsigned writes are refused again.
    let r = send(
        &run,
        Req::new("PUT", B, None)
            .query(&[("acl", "")])
            .header("x-oss-acl", "private"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(send(&run, put("anon"), &anon, Sig::None).await.status, 403);
    let r = send(
        &run,
        put("bad").header("x-oss-object-acl", "everyone"),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument".into()));
    let r = send(&run, Req::new("HEAD", B, Some("bad")), &c, Sig::V1).await;
    assert_eq!(r.status, 404, "a bad ACL stores nothing");
    run.shutdown().await;
}

#[tokio::test]
async fn tags_are_stored_checked_copied_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let r = send(
        &run,
        Req::new("PUT", B, Some("t"))
            .header("x-oss-tagging", "k1=v1&k%202=%E4%B8%AD%E6%96%87")
            .body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&run, Req::new("HEAD", B, Some("t")), &c, Sig::V4).await;
    assert_eq!(r.header("x-oss-tagging-count"), "2");
    let r = send(
        &run,
        Req::new("GET", B, Some("t")).query(&[("tagging", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(
        xml_fields(&r.text(), "Key"),
        vec!["k1".to_string(), "k 2".into()]
    );
    assert_eq!(
        xml_fields(&r.text(), "Value"),
        vec!["v1".to_string(), "中文".into()]
    );

    // Copy keeps the source's tags by default, takes the request's with REPLACE.
    let copy = |dst: &'static str| {
        Req::new("PUT", B, Some(dst)).header("x-oss-copy-source", "/demo-bucket/t")
    };
    assert_eq!(send(&run, copy("c1"), &c, Sig::V1).await.status, 200);
    let r = send(
        &run,
        Req::new("GET", B, Some("c1")).query(&[("tagging", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "Key").len(), 2);
    let replace = copy("c2")
        .header("x-oss-tagging-directive", "REPLACE")
        .header("x-oss-tagging", "only=1");
    assert_eq!(send(&run, replace, &c, Sig::V1).await.status, 200);
    let r = send(
        &run,
        Req::new("GET", B, Some("c2")).query(&[("tagging", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "Key"), vec!["only".to_string()]);

    // PutObjectTagging replaces, bad tags are refused and change nothing, Delete clears.
    let doc = "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
    let r = send(
        &run,
        Req::new("PUT", B, Some("t"))
            .query(&[("tagging", "")])
            .body(doc),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bad = "<Tagging><TagSet><Tag><Key>%@bad</Key><Value>b</Value></Tag></TagSet></Tagging>";
    let r = send(
        &run,
        Req::new("PUT", B, Some("t"))
            .query(&[("tagging", "")])
            .body(bad),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidTag".into()));
    let eleven: String = (0..11).map(|i| format!("k{i}=v&")).collect();
    let r = send(
        &run,
        Req::new("PUT", B, Some("n"))
            .header("x-oss-tagging", &eleven)
            .body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidTag".into()));
    assert_eq!(
        send(&run, Req::new("HEAD", B, Some("n")), &c, Sig::V4)
            .await
            .status,
        404
    );
    let r = send(
        &run,
        Req::new("GET", B, Some("t")).query(&[("tagging", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "Key"), vec!["a".to_string()]);
    let r = send(
        &run,
        Req::new("DELETE", B, Some("t")).query(&[("tagging", "")]),
        &c,
        Sig::V1,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = send(&run, Req::new("HEAD", B, Some("t")), &c, Sig::V4).await;
    assert_eq!(r.header("x-oss-tagging-count"), "");
    run.shutdown().await;
}

#[tokio::test]
async fn storage_classes_standard_and_ia_are_kept_archive_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let put = |class: &str| {
        Req::new("PUT", B, Some("s"))
            .header("x-oss-storage-class", class)
            .body("new")
    };
    assert_eq!(send(&run, put("IA"), &c, Sig::V4).await.status, 200);
    let r = send(&run, Req::new("HEAD", B, Some("s")), &c, Sig::V4).await;
    assert_eq!(r.header("x-oss-storage-class"), "IA");
    for class in ["Archive", "ColdArchive", "DeepColdArchive"] {
        let r = send(
            &run,
            Req::new("PUT", B, Some("s"))
                .header("x-oss-storage-class", class)
                .body("other"),
            &c,
            Sig::V4,
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (501, "NotImplemented".into()),
            "{class}"
        );
    }
    let r = send(
        &run,
        Req::new("PUT", B, Some("s"))
            .header("x-oss-storage-class", "Cold")
            .body("other"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument".into()));
    let r = send(&run, Req::new("GET", B, Some("s")), &c, Sig::V4).await;
    assert_eq!(r.text(), "new", "refused classes changed nothing");
    run.shutdown().await;
}

#[tokio::test]
async fn buckets_acls_and_tags_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = admin();
    let run = start_with_admin(dir.path()).await;
    let made = Req::new("PUT", "kept", None).header("x-oss-acl", "public-read");
    assert_eq!(send(&run, made, &a, Sig::V4).await.status, 200);
    let put = Req::new("PUT", "kept", Some("k"))
        .header("x-oss-tagging", "a=1")
        .header("x-oss-object-acl", "private")
        .body("x");
    assert_eq!(send(&run, put, &a, Sig::V4).await.status, 200);
    run.shutdown().await;

    let run = start_with_admin(dir.path()).await;
    let r = send(
        &run,
        Req::new("GET", "kept", None).query(&[("acl", "")]),
        &a,
        Sig::V1,
    )
    .await;
    assert_eq!(xml_field(&r.text(), "Grant").unwrap(), "public-read");
    let r = send(&run, Req::new("HEAD", "kept", Some("k")), &a, Sig::V1).await;
    assert_eq!(r.header("x-oss-tagging-count"), "1");
    let r = send(&run, Req::new("GET", "kept", Some("k")), &a, Sig::None).await;
    assert_eq!(
        r.status, 403,
        "the object's private ACL still wins over the bucket's"
    );
    run.shutdown().await;
}
