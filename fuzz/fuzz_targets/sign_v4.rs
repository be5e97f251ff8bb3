//! V4 signing (`oss_direct_wire::sign`): canonical request, StringToSign, signing key, header
//! signature and presigned query for arbitrary methods, keys, queries, headers, regions,
//! additional headers and timestamps never panic; the Authorization header has the shape
//! oss-local parses (`OSS4-HMAC-SHA256 Credential=ak/date/region/oss/aliyun_v4_request,
//! Signature=<64 hex>`); the presigned signature is the one recomputed from the same query
//! without `x-oss-signature`, as oss-local recomputes it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct_wire::sign::{self, SignableRequest};

#[path = "sign_common.rs"]
mod common;

fuzz_target!(|input: (common::Request, String, u64)| {
    let (r, timestamp, expires_in) = input;
    // fuzz/regressions/sign_v4: a timestamp whose byte 8 falls inside a character used to
    // panic in sign_v4/presign_v4 (fixed in 2e8c55d; the date is then the whole timestamp).
    let headers = r.header_map();
    let req = SignableRequest {
        method: &r.method,
        bucket: r.bucket.as_deref(),
        key: r.key.as_deref(),
        query: &r.query,
        headers: &headers,
    };
    let additional: Vec<String> = r
        .additional
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let canonical = sign::v4_canonical_request(&req, &additional);
    assert!(canonical.starts_with(&r.method));
    let date: String = timestamp.chars().take(8).collect();
    let scope = sign::v4_scope(&date, &r.region);
    let sts = sign::v4_string_to_sign(&canonical, &timestamp, &scope);
    assert!(sts.starts_with(sign::V4_ALGORITHM));
    let sig = sign::v4_signature(&r.secret, &date, &r.region, &sts);
    assert_eq!(sig.len(), 64);
    assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));

    let mut signed = headers.clone();
    sign::sign_v4(
        &r.method,
        r.bucket.as_deref(),
        r.key.as_deref(),
        &r.query,
        &mut signed,
        r.creds(),
        &r.region,
        &timestamp,
    );
    if let Some(auth) = signed.get("authorization").and_then(|v| v.to_str().ok()) {
        if !auth.is_empty() {
            let rest = auth
                .strip_prefix("OSS4-HMAC-SHA256 Credential=")
                .expect("V4 prefix");
            let (_, s) = rest.rsplit_once(", Signature=").expect("Signature part");
            assert_eq!(s.len(), 64);
        }
    }

    let q = sign::presign_v4(
        &r.method,
        r.bucket.as_deref(),
        r.key.as_deref(),
        &r.query,
        &headers,
        r.creds(),
        &r.region,
        &timestamp,
        expires_in,
    );
    let (name, value) = q.last().expect("x-oss-signature last");
    assert_eq!(name, "x-oss-signature");
    let covered: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| k != "x-oss-signature")
        .cloned()
        .collect();
    let again = SignableRequest {
        method: &r.method,
        bucket: r.bucket.as_deref(),
        key: r.key.as_deref(),
        query: &covered,
        headers: &headers,
    };
    let pdate = timestamp.get(..8).unwrap_or(&timestamp);
    let expected = sign::v4_signature(
        &r.secret,
        pdate,
        &r.region,
        &sign::v4_string_to_sign(
            &sign::v4_canonical_request(&again, &[]),
            &timestamp,
            &sign::v4_scope(pdate, &r.region),
        ),
    );
    if !r.query.iter().any(|(k, _)| k == "x-oss-signature") {
        assert_eq!(&expected, value);
    }
    for (k, v) in &q {
        assert_eq!(&common::decode(&sign::uri_encode(k, false)), k);
        assert_eq!(&common::decode(&sign::uri_encode(v, false)), v);
    }
    if let Some(k) = &r.key {
        assert_eq!(&common::decode(&sign::uri_encode(k, true)), k);
    }
});
