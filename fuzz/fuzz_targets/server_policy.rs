//! The token server's policy checks (`app_token_server::validate_policy`, `PolicyTemplate::fill`,
//! `check_object_prefix`, `check_bucket_name`): never a panic; a validated policy is minified
//! JSON that validates again to itself; a template filled with a checked bucket and prefix
//! is valid JSON or a clear error; what the token server accepts oss-local's policy grammar
//! accepts too, or refuses with a reason (no panic on either side).
#![no_main]
use app_token_server::{check_bucket_name, check_object_prefix, validate_policy, PolicyTemplate};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|input: (&str, &str, &str)| {
    let (doc, bucket, prefix) = input;
    if let Ok(min) = validate_policy(doc) {
        assert_eq!(
            validate_policy(&min).as_deref(),
            Ok(min.as_str()),
            "idempotent"
        );
        let _ = oss_direct_wire::policy::Policy::parse(&min);
    }
    let template = PolicyTemplate::from_text(Path::new("fuzz.json"), doc);
    let _ = template.uses_bucket();
    if check_bucket_name(bucket).is_ok() && check_object_prefix(prefix).is_ok() {
        if let Ok(filled) = template.fill(bucket, prefix) {
            serde_json::from_str::<serde_json::Value>(&filled).expect("filled policy is JSON");
            assert!(!filled.contains("$BUCKET_NAME") && !filled.contains("$OBJECT_PREFIX"));
        }
    }
});
