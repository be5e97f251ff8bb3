//! OSS error XML (`oss_direct::xml::parse_error`): any body with any status gives an error value
//! with a non-empty code, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, Option<String>, Vec<u8>)| {
    let (status, request_id, body) = input;
    let e = oss_direct::xml::parse_error(status, request_id.as_deref(), &body);
    assert!(!e.code.is_empty(), "an error always has a code");
    assert_eq!(e.status, status);
    if let Some(rid) = &request_id {
        // The body's RequestId wins; the header's is the fallback.
        assert!(!e.request_id.is_empty() || rid.is_empty());
    }
    let _ = format!("{e:?}");
});
