//! V1 signing (`oss_direct_wire::sign`): the StringToSign, the header signature and the presigned
//! query for arbitrary methods, keys, queries and headers never panic; the Authorization header
//! is `OSS <ak>:<base64 of 20 bytes>` whenever it is representable; signing is deterministic;
//! the presigned query's signature is the one recomputed from the same parts, as oss-local
//! recomputes it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct_wire::sign::{self, SignableRequest};

#[path = "sign_common.rs"]
mod common;

fuzz_target!(|input: (common::Request, String, i64)| {
    let (r, date, expires) = input;
    let headers = r.header_map();
    let req = SignableRequest {
        method: &r.method,
        bucket: r.bucket.as_deref(),
        key: r.key.as_deref(),
        query: &r.query,
        headers: &headers,
    };
    let sts = sign::v1_string_to_sign(&req, &date);
    assert!(sts.starts_with(&r.method));
    assert_eq!(sts, sign::v1_string_to_sign(&req, &date), "deterministic");
    let sig = sign::v1_signature(&r.secret, &sts);
    assert_eq!(sig.len(), 28, "base64 of a SHA-1 HMAC");

    let mut signed = headers.clone();
    sign::sign_v1(
        &r.method,
        r.bucket.as_deref(),
        r.key.as_deref(),
        &r.query,
        &mut signed,
        r.creds(),
        &date,
    );
    if let Some(auth) = signed.get("authorization").and_then(|v| v.to_str().ok()) {
        if !auth.is_empty() {
            let (ak, s) = auth
                .strip_prefix("OSS ")
                .and_then(|a| a.rsplit_once(':'))
                .expect("OSS ak:sig");
            assert_eq!(ak, r.ak);
            assert_eq!(s.len(), 28);
        }
    }

    let q = sign::presign_v1(
        &r.method,
        r.bucket.as_deref(),
        r.key.as_deref(),
        &r.query,
        &headers,
        r.creds(),
        expires,
    );
    let (name, value) = q.last().expect("Signature last");
    assert_eq!(name, "Signature");
    let covered: Vec<(String, String)> = q[..q.len() - 3].to_vec();
    let again = SignableRequest {
        method: &r.method,
        bucket: r.bucket.as_deref(),
        key: r.key.as_deref(),
        query: &covered,
        headers: &headers,
    };
    let expected = sign::v1_signature(
        &r.secret,
        &sign::v1_string_to_sign(&again, &expires.to_string()),
    );
    assert_eq!(&expected, value);
    // The query as a URL carries it: encode and decode every pair.
    for (k, v) in &q {
        assert_eq!(&common::decode(&sign::uri_encode(k, false)), k);
        assert_eq!(&common::decode(&sign::uri_encode(v, false)), v);
    }
});
