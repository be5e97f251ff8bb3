//! The token JSON the app receives from the app token server
//! (`oss_direct::credentials::parse_token_response`): never a panic; an Ok always carries
//! non-empty credentials and an expiration; Debug output shows the secret and the token as `***`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, u16, &str)| {
    let (ok_status, other, body) = input;
    let status = if ok_status { 200 } else { other };
    match oss_direct::credentials::parse_token_response(status, body) {
        Ok(t) => {
            assert_eq!(status, 200);
            let c = &t.credentials;
            assert!(!c.access_key_id.is_empty());
            assert!(!c.access_key_secret.is_empty());
            assert!(c.security_token.as_deref().is_some_and(|s| !s.is_empty()));
            assert!(c.expiration.is_some());
            let dbg = format!("{c:?}");
            // The secret and the token print as `***` (a substring test would trip on a secret
            // that also occurs in the AccessKeyId, which is shown).
            assert!(
                dbg.contains(r#"access_key_secret: "***""#),
                "secret in Debug: {dbg}"
            );
            assert!(
                dbg.contains(r#"security_token: Some("***")"#),
                "token in Debug: {dbg}"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
