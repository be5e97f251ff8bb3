//! Every XML document oss-local writes, byte for byte, against a real oss-local over HTTP: the
//! transcript of one scripted session (every result document, an error, STS in XML) is compared
//! with `tests/xml_documents/golden.txt`, captured from the hand-written writer before the
//! documents moved to quick-xml's serializer. Times, upload ids, request ids, credentials and
//! the port are masked (an empty element stays empty, so its form is still checked).
//!
//! `OSS_LOCAL_BLESS=1` rewrites the golden file (only when a document is meant to change).

mod common;
use common::*;
use oss_direct_wire::sign;
use oss_local::{DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_BUCKET as B};

/// A user whose policy allows every OSS action (to make a second bucket and list buckets).
fn admin() -> Creds {
    Creds {
        ak: "LTAI5tXmlDocsAdmin".into(),
        secret: "XmlDocsAdminSecret".into(),
        token: None,
    }
}

async fn start_with_admin(dir: &std::path::Path) -> oss_local::Running {
    let mut opts = oss_local::Options::demo(dir.to_path_buf());
    opts.users.push(oss_local::User {
        name: "admin".into(),
        access_key_id: admin().ak,
        access_key_secret: admin().secret,
        policy: serde_json::json!({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]}),
    });
    oss_local::start(opts).await.expect("oss-local starts")
}

/// Elements whose text changes from run to run.
const MASKED: &[&str] = &[
    "LastModified",
    "CreationDate",
    "Initiated",
    "UploadId",
    "NextUploadIdMarker",
    "RequestId",
    "Expiration",
    "SecurityToken",
    "AccessKeyId",
    "AccessKeySecret",
    "AssumedRoleId",
    "Arn",
];

/// `xml` with the text of [`MASKED`] elements replaced by `*` and the address by `HOST`.
fn mask(xml: &str, host: &str, extra: &[&str]) -> String {
    let mut out = xml.replace(host, "HOST");
    for name in MASKED.iter().chain(extra) {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&open) {
            let start = i + open.len();
            let Some(len) = rest[start..].find(&close) else {
                break;
            };
            done.push_str(&rest[..start]);
            if len > 0 {
                done.push('*');
            }
            rest = &rest[start + len..];
        }
        done.push_str(rest);
        out = done;
    }
    out
}

struct Transcript {
    text: String,
    host: String,
}

impl Transcript {
    fn add(&mut self, name: &str, r: &Resp) {
        self.add_masked(name, r, &[]);
    }

    /// Adds `r` with the text of `extra` elements masked too.
    fn add_masked(&mut self, name: &str, r: &Resp, extra: &[&str]) {
        let body = mask(&r.text(), &self.host, extra);
        self.text
            .push_str(&format!("### {name} ({})\n{body}\n", r.status));
    }
}

async fn put(run: &oss_local::Running, key: &str, body: &str) {
    let r = send(
        run,
        Req::new("PUT", B, Some(key)).body(body.as_bytes().to_vec()),
        &Creds::user(),
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn get(run: &oss_local::Running, key: Option<&str>, query: &[(&str, &str)]) -> Resp {
    let req = Req::new("GET", B, key).query(query);
    send(run, req, &Creds::user(), Sig::V4).await
}

const ODD: &str = "dir/a&<b>\"q'.txt";

async fn objects_and_buckets(run: &oss_local::Running, t: &mut Transcript) {
    put(run, ODD, "hello").await;
    put(run, "dir/sub/c.txt", "c").await;
    put(run, "z.txt", "zz").await;
    t.add("NoSuchKey", &get(run, Some("missing<&>"), &[]).await);
    t.add("ListObjects", &get(run, None, &[]).await);
    let paged = [("delimiter", "/"), ("max-keys", "1"), ("prefix", "dir/")];
    t.add("ListObjects paged", &get(run, None, &paged).await);
    let url = [("encoding-type", "url"), ("delimiter", "/")];
    t.add("ListObjects url", &get(run, None, &url).await);
    let v2 = [
        ("list-type", "2"),
        ("max-keys", "1"),
        ("fetch-owner", "true"),
    ];
    let r = get(run, None, &v2).await;
    t.add("ListObjectsV2 first", &r);
    let token = xml_field(&r.text(), "NextContinuationToken").unwrap();
    let next = [
        ("list-type", "2"),
        ("continuation-token", token.as_str()),
        ("start-after", "a"),
        ("encoding-type", "url"),
    ];
    t.add("ListObjectsV2 next", &get(run, None, &next).await);
    t.add(
        "GetBucketInfo",
        &get(run, None, &[("bucketInfo", "")]).await,
    );
    t.add(
        "GetBucketLocation",
        &get(run, None, &[("location", "")]).await,
    );
    t.add("GetBucketAcl", &get(run, None, &[("acl", "")]).await);
    t.add("GetObjectAcl", &get(run, Some(ODD), &[("acl", "")]).await);
    let acl = Req::new("PUT", B, Some(ODD))
        .query(&[("acl", "")])
        .header("x-oss-object-acl", "public-read");
    assert_eq!(send(run, acl, &Creds::user(), Sig::V4).await.status, 200);
    t.add(
        "GetObjectAcl set",
        &get(run, Some(ODD), &[("acl", "")]).await,
    );
    t.add(
        "GetObjectTagging none",
        &get(run, Some(ODD), &[("tagging", "")]).await,
    );
    let tags = "<Tagging><TagSet><Tag><Key>a b</Key><Value>x/y:z</Value></Tag>\
                <Tag><Key>k</Key><Value></Value></Tag></TagSet></Tagging>";
    let r = Req::new("PUT", B, Some(ODD))
        .query(&[("tagging", "")])
        .body(tags.as_bytes().to_vec());
    assert_eq!(send(run, r, &Creds::user(), Sig::V4).await.status, 200);
    t.add(
        "GetObjectTagging",
        &get(run, Some(ODD), &[("tagging", "")]).await,
    );
    let copy = Req::new("PUT", B, Some("copy.txt")).header(
        "x-oss-copy-source",
        &format!("/{B}/{}", sign::uri_encode(ODD, true)),
    );
    t.add(
        "CopyObject",
        &send(run, copy, &Creds::user(), Sig::V4).await,
    );
    let bucket = Req::new("PUT", "zz-second", None);
    assert_eq!(send(run, bucket, &admin(), Sig::V4).await.status, 200);
}

/// GET / (ListBuckets), signed V1 (the service has no bucket to sign for).
async fn list_buckets(run: &oss_local::Running, query: &[(&str, &str)]) -> Resp {
    let creds = admin();
    let q = common::q(query);
    let mut headers = http::HeaderMap::new();
    sign::sign_v1(
        "GET",
        None,
        None,
        &q,
        &mut headers,
        sign::SigningCredentials {
            access_key_id: &creds.ak,
            access_key_secret: &creds.secret,
            security_token: None,
        },
        &httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    let mut u = format!("{}/", run.oss_endpoint());
    if !q.is_empty() {
        u.push('?');
        u.push_str(&query_string(&q));
    }
    raw("GET", &u, headers, Vec::new()).await
}

async fn multipart(run: &oss_local::Running, t: &mut Transcript) {
    let c = Creds::user();
    let init = |key: &'static str, url: bool| {
        let mut q = vec![("uploads", "")];
        if url {
            q.push(("encoding-type", "url"));
        }
        Req::new("POST", B, Some(key)).query(&q)
    };
    let r = send(run, init(ODD, false), &c, Sig::V4).await;
    t.add("InitiateMultipartUpload", &r);
    let id = xml_field(&r.text(), "UploadId").unwrap();
    let r2 = send(run, init("up/two.txt", true), &c, Sig::V4).await;
    t.add("InitiateMultipartUpload url", &r2);
    // Parts but the last are at least 100 KiB.
    for (n, seed) in [("1", 1), ("2", 2)] {
        let q = [("partNumber", n), ("uploadId", id.as_str())];
        let r = Req::new("PUT", B, Some(ODD))
            .query(&q)
            .body(data(102_400, seed));
        assert_eq!(send(run, r, &c, Sig::V4).await.status, 200);
    }
    let q = [("partNumber", "3"), ("uploadId", id.as_str())];
    let copy = Req::new("PUT", B, Some(ODD))
        .query(&q)
        .header("x-oss-copy-source", &format!("/{B}/z.txt"));
    t.add("UploadPartCopy", &send(run, copy, &c, Sig::V4).await);
    let parts = [("uploadId", id.as_str()), ("max-parts", "2")];
    t.add("ListParts", &get(run, Some(ODD), &parts).await);
    let parts = [("uploadId", id.as_str()), ("part-number-marker", "2")];
    let parts_url = [parts[0], parts[1], ("encoding-type", "url")];
    t.add("ListParts url", &get(run, Some(ODD), &parts_url).await);
    t.add(
        "ListMultipartUploads",
        &get(run, None, &[("uploads", "")]).await,
    );
    let q = [
        ("uploads", ""),
        ("delimiter", "/"),
        ("encoding-type", "url"),
    ];
    t.add("ListMultipartUploads url", &get(run, None, &q).await);
    let q = [("uploads", ""), ("max-uploads", "1")];
    t.add("ListMultipartUploads paged", &get(run, None, &q).await);
    let done = Req::new("POST", B, Some(ODD))
        .query(&[("uploadId", id.as_str()), ("encoding-type", "url")])
        .header("x-oss-complete-all", "yes");
    t.add(
        "CompleteMultipartUpload url",
        &send(run, done, &c, Sig::V4).await,
    );
    let id2 = xml_field(&r2.text(), "UploadId").unwrap();
    let q = [("partNumber", "1"), ("uploadId", id2.as_str())];
    let part = Req::new("PUT", B, Some("up/two.txt"))
        .query(&q)
        .body(b"x".to_vec());
    let etag = send(run, part, &c, Sig::V4).await.header("etag");
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>\
         </CompleteMultipartUpload>"
    );
    let done = Req::new("POST", B, Some("up/two.txt"))
        .query(&[("uploadId", id2.as_str())])
        .body(body.into_bytes());
    t.add(
        "CompleteMultipartUpload",
        &send(run, done, &c, Sig::V4).await,
    );
}

async fn delete_many(run: &oss_local::Running, t: &mut Transcript) {
    let c = Creds::user();
    let body = "<Delete><Quiet>false</Quiet><Object><Key>dir%2Fsub%2Fc.txt</Key></Object>\
                <Object><Key>nothing%3C%3E</Key></Object></Delete>";
    let r = Req::new("POST", B, None)
        .query(&[("delete", ""), ("encoding-type", "url")])
        .body(body.as_bytes().to_vec());
    t.add(
        "DeleteMultipleObjects url",
        &send(run, r, &c, Sig::V4).await,
    );
    let body = "<Delete><Object><Key>copy.txt</Key></Object><Object><Key>a&amp;b</Key></Object>\
                </Delete>";
    let r = Req::new("POST", B, None)
        .query(&[("delete", "")])
        .body(body.as_bytes().to_vec());
    t.add("DeleteMultipleObjects", &send(run, r, &c, Sig::V4).await);
    let body = "<Delete><Quiet>true</Quiet><Object><Key>z.txt</Key></Object></Delete>";
    let r = Req::new("POST", B, None)
        .query(&[("delete", "")])
        .body(body.as_bytes().to_vec());
    t.add(
        "DeleteMultipleObjects quiet",
        &send(run, r, &c, Sig::V4).await,
    );
}

async fn post_object(run: &oss_local::Running, t: &mut Transcript) {
    use base64::Engine;
    let exp = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    let exp = exp
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let policy = serde_json::json!({"expiration": exp, "conditions": [{"bucket": B}]});
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    let sig = sign::v1_signature(DEMO_ACCESS_KEY_SECRET, &policy);
    let fields = [
        ("OSSAccessKeyId", DEMO_ACCESS_KEY_ID),
        ("policy", policy.as_str()),
        ("Signature", sig.as_str()),
        ("key", "form/<&>.jpg"),
        ("success_action_status", "201"),
    ];
    let boundary = "----xml-documents";
    let mut body = String::new();
    for (k, v) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\nform bytes\r\n--{boundary}--\r\n"
    ));
    let mut h = http::HeaderMap::new();
    let ct = format!("multipart/form-data; boundary={boundary}");
    h.insert("content-type", ct.parse().unwrap());
    let u = format!("{}/{B}", run.oss_endpoint());
    t.add(
        "PostObject 201",
        &raw("POST", &u, h, body.into_bytes()).await,
    );
}

/// AssumeRole with `Format=XML`, signed with `secret`.
async fn sts_xml(run: &oss_local::Running, secret: &str) -> Resp {
    let extra = [("Format", "XML"), ("RoleSessionName", "xml-session")];
    assume_role_raw(run, DEMO_ACCESS_KEY_ID, secret, &extra).await
}

#[tokio::test]
async fn every_xml_document_matches_the_golden_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let run = start_with_admin(dir.path()).await;
    let host = run.oss_addr.to_string();
    let mut t = Transcript {
        text: String::new(),
        host,
    };
    objects_and_buckets(&run, &mut t).await;
    t.add("ListBuckets", &list_buckets(&run, &[]).await);
    let q = [("prefix", "zz"), ("max-keys", "1")];
    t.add("ListBuckets params", &list_buckets(&run, &q).await);
    let q = [("max-keys", "1")];
    t.add("ListBuckets truncated", &list_buckets(&run, &q).await);
    multipart(&run, &mut t).await;
    delete_many(&run, &mut t).await;
    post_object(&run, &mut t).await;
    t.add(
        "STS AssumeRole XML",
        &sts_xml(&run, DEMO_ACCESS_KEY_SECRET).await,
    );
    // The message names the nonce and the time.
    let r = sts_xml(&run, "wrong secret").await;
    t.add_masked("STS error XML", &r, &["Message"]);
    run.shutdown().await;

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/xml_documents/golden.txt"
    );
    if std::env::var_os("OSS_LOCAL_BLESS").is_some() {
        std::fs::write(path, &t.text).unwrap();
    }
    let golden = std::fs::read_to_string(path).unwrap();
    for (got, want) in t.text.lines().zip(golden.lines()) {
        assert_eq!(got, want);
    }
    assert_eq!(t.text, golden);
}
