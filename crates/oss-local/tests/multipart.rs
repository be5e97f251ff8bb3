//! Multipart rules, ListParts paging, combined CRC, concurrent parts.

mod common;
use common::*;
use oss_local::DEMO_BUCKET as B;

const K: usize = 1024;

async fn initiate(run: &oss_local::Running, c: &Creds, key: &str) -> String {
    let r = send(
        run,
        Req::new("POST", B, Some(key)).query(&[("uploads", "")]),
        c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    xml_field(&r.text(), "UploadId").unwrap()
}

async fn part(
    run: &oss_local::Running,
    c: &Creds,
    key: &str,
    id: &str,
    n: u32,
    body: Vec<u8>,
) -> String {
    let n = n.to_string();
    let r = send(
        run,
        Req::new("PUT", B, Some(key))
            .query(&[("partNumber", &n), ("uploadId", id)])
            .body(body.clone()),
        c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        oss_direct::crc64::checksum(&body).to_string()
    );
    r.header("etag")
}

fn complete_xml(parts: &[(u32, &str)]) -> String {
    let mut s = String::from("<CompleteMultipartUpload>");
    for (n, e) in parts {
        s.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
        ));
    }
    s + "</CompleteMultipartUpload>"
}

async fn complete(
    run: &oss_local::Running,
    c: &Creds,
    key: &str,
    id: &str,
    parts: &[(u32, &str)],
) -> Resp {
    send(
        run,
        Req::new("POST", B, Some(key))
            .query(&[("uploadId", id)])
            .body(complete_xml(parts)),
        c,
        Sig::V4,
    )
    .await
}

#[tokio::test]
async fn complete_enforces_the_rules_and_combines_crc() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = assume_role(&run, &[]).await;
    let key = "uploads/big.bin";
    let id = initiate(&run, &c, key).await;
    let p1 = data(100 * K, 1);
    let p2 = data(100 * K + 7, 2);
    let p3 = data(10, 3);
    let small = data(50 * K, 4);
    let e1 = part(&run, &c, key, &id, 1, p1.clone()).await;
    let e2 = part(&run, &c, key, &id, 2, p2.clone()).await;
    let e3 = part(&run, &c, key, &id, 3, p3.clone()).await;
    let e5 = part(&run, &c, key, &id, 5, small.clone()).await;

    let r = complete(&run, &c, key, &id, &[(2, &e2), (1, &e1)]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidPartOrder".into()));
    let r = complete(&run, &c, key, &id, &[(1, &e1), (2, &e1)]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidPart".into()));
    let r = complete(&run, &c, key, &id, &[(1, &e1), (4, &e1)]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidPart".into()));
    let r = complete(&run, &c, key, &id, &[(1, &e1), (5, &e5), (3, &e3)]).await;
    assert_eq!((r.status, r.code()), (400, "InvalidPartOrder".into()));
    let r = complete(&run, &c, key, &id, &[(1, &e1), (3, &e3), (5, &e5)]).await;
    assert_eq!(
        (r.status, r.code()),
        (400, "EntityTooSmall".into()),
        "part 3 is 10 bytes and not last"
    );
    let r = send(
        &run,
        Req::new("PUT", B, Some(key))
            .query(&[("partNumber", "10001"), ("uploadId", &id)])
            .body("x"),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (400, "InvalidArgument".into()));

    let r = complete(&run, &c, key, &id, &[(1, &e1), (2, &e2), (3, &e3)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let whole: Vec<u8> = [p1, p2, p3].concat();
    assert_eq!(
        r.header("x-oss-hash-crc64ecma"),
        oss_direct::crc64::checksum(&whole).to_string()
    );
    let etag = xml_field(&r.text(), "ETag").unwrap();
    assert!(
        etag.ends_with("-3\"") || etag.ends_with("-3&quot;"),
        "{etag}"
    );
    let got = send(&run, Req::new("GET", B, Some(key)), &c, Sig::V1).await;
    assert_eq!(got.body, whole);
    assert_eq!(got.header("x-oss-object-type"), "Multipart");
    assert_eq!(
        got.header("x-oss-hash-crc64ecma"),
        oss_direct::crc64::checksum(&whole).to_string()
    );

    // The upload is gone afterwards.
    let r = complete(&run, &c, key, &id, &[(1, &e1)]).await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUpload".into()));
    let r = send(
        &run,
        Req::new("GET", B, Some(key)).query(&[("uploadId", "../../../etc")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUpload".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn list_parts_pages_and_abort() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(dir.path()).await;
    let c = Creds::user();
    let key = "uploads/paged";
    let id = initiate(&run, &c, key).await;
    for n in 1..=5 {
        part(&run, &c, key, &id, n, data(10, n as u8)).await;
    }
    let mut seen = Vec::new();
    let mut marker = "0".to_string();
    loop {
        let r = send(
            &run,
            Req::new("GET", B, Some(key)).query(&[
                ("uploadId", &id),
                ("max-parts", "2"),
                ("part-number-marker", &marker),
            ]),
            &c,
            Sig::V1,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let xml = r.text();
        seen.extend(xml_fields(&xml, "PartNumber"));
        if xml_field(&xml, "IsTruncated").unwrap() == "false" {
            break;
        }
        marker = xml_field(&xml, "NextPartNumberMarker").unwrap();
    }
    assert_eq!(seen, vec!["1", "2", "3", "4", "5"]);
    let other = initiate(&run, &c, "uploads/zz").await;
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[("uploads", "")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(xml_fields(&r.text(), "Key"), vec![key, "uploads/zz"]);
    assert_eq!(xml_fields(&r.text(), "UploadId"), vec![id.clone(), other]);
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[("uploads", ""), ("max-uploads", "1")]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(xml_field(&r.text(), "IsTruncated").unwrap(), "true");
    let next_key = xml_field(&r.text(), "NextKeyMarker").unwrap();
    let next_id = xml_field(&r.text(), "NextUploadIdMarker").unwrap();
    let r = send(
        &run,
        Req::new("GET", B, None).query(&[
            ("uploads", ""),
            ("key-marker", &next_key),
            ("upload-id-marker", &next_id),
        ]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(xml_fields(&r.text(), "Key"), vec!["uploads/zz"]);
    let r = send(
        &run,
        Req::new("DELETE", B, Some(key)).query(&[("uploadId", &id)]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = send(
        &run,
        Req::new("GET", B, Some(key)).query(&[("uploadId", &id)]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUpload".into()));
    let r = send(
        &run,
        Req::new("DELETE", B, Some(key)).query(&[("uploadId", &id)]),
        &c,
        Sig::V4,
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "NoSuchUpload".into()));
    run.shutdown().await;
}

#[tokio::test]
async fn concurrent_parts_to_one_upload() {
    let dir = tempfile::tempdir().unwrap();
    let run = std::sync::Arc::new(start(dir.path()).await);
    let c = Creds::user();
    let key = "uploads/concurrent";
    let id = initiate(&run, &c, key).await;
    let mut tasks = Vec::new();
    for n in 1..=8u32 {
        let (run, c, id) = (run.clone(), c.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            // Part 3 is sent twice at once; either copy is the same bytes.
            let e = part(&run, &c, key, &id, n, data(100 * K, n as u8)).await;
            if n == 3 {
                part(&run, &c, key, &id, n, data(100 * K, n as u8)).await;
            }
            (n, e)
        }));
    }
    let mut etags = Vec::new();
    for t in tasks {
        etags.push(t.await.unwrap());
    }
    etags.sort();
    let list: Vec<(u32, &str)> = etags.iter().map(|(n, e)| (*n, e.as_str())).collect();
    let r = complete(&run, &c, key, &id, &list).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let whole: Vec<u8> = (1..=8u32).flat_map(|n| data(100 * K, n as u8)).collect();
    let got = send(&run, Req::new("GET", B, Some(key)), &c, Sig::V4).await;
    assert!(got.body == whole);
}
