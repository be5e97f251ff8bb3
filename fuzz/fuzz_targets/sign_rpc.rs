//! The STS RPC signature (`oss_direct_wire::sign::rpc_*`), which the token server uses and oss-local
//! verifies: any parameters and secret, never a panic; percent-encoding decodes back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oss_direct_wire::sign;
use std::collections::BTreeMap;

fuzz_target!(|input: (String, BTreeMap<String, String>, String)| {
    let (method, params, secret) = input;
    let sts = sign::rpc_string_to_sign(&method, &params);
    assert!(sts.starts_with(&method.to_ascii_uppercase()));
    let sig = sign::rpc_signature(&secret, &sts);
    assert_eq!(sig.len(), 28);
    for (k, v) in &params {
        for s in [k, v] {
            let e = sign::rpc_percent_encode(s);
            assert!(
                e.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)),
                "{e}"
            );
            let d = percent_encoding::percent_decode_str(&e)
                .decode_utf8()
                .unwrap();
            assert_eq!(&d, s);
        }
    }
});
