//! What else reaches the token server from outside: the caller's `Authorization: Bearer` JWT
//! (`JwtVerifier::verify`, HS256), the user subject check, and the upload callback OSS posts
//! (`callback::parse_body` for both body types, the signature's base64, the string to sign,
//! the public-key PEM and trusted key URL parsers, the callback ticket). Never a panic; an accepted subject
//! passes `check_subject`.
#![no_main]
use app_token_server::callback::{self, CallbackBodyType};
use app_token_server::{check_subject, JwtVerifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn verifier() -> &'static JwtVerifier {
    static V: OnceLock<JwtVerifier> = OnceLock::new();
    V.get_or_init(|| JwtVerifier::hs256(b"fuzz-secret-that-is-32-bytes-long!!", None, None))
}

fuzz_target!(|input: (&str, &[u8], &str, Option<&str>)| {
    let (text, body, path, query) = input;
    if let Ok(sub) = verifier().verify(text) {
        assert!(check_subject(&sub).is_ok());
    }
    let _ = check_subject(text);
    let _ = callback::parse_body(body, CallbackBodyType::Form);
    let _ = callback::parse_body(body, CallbackBodyType::Json);
    let _ = CallbackBodyType::parse(text);
    let _ = callback::decode_base64(text);
    let _ = callback::string_to_sign(path, query, body);
    if text.len() < 4096 {
        let _ = callback::parse_public_key_pem(text);
    }
    if let Ok(trusted) = callback::parse_trusted_key_url(text) {
        if let Ok(u) = url::Url::parse(path) {
            // Trusted means exactly that URL: no other path, no query.
            if callback::is_trusted(&u, std::slice::from_ref(&trusted)) {
                assert_eq!(u, trusted);
            }
        }
    }
    // A callback ticket from outside never verifies unless this key signed it.
    let key = app_token_server::ticket::TicketKey::derive("fuzz-key");
    if let Ok(claims) = key.verify(text, 0) {
        assert_eq!(key.verify(&key.sign(&claims), 0).as_ref(), Ok(&claims));
    }
    let _ = callback::check_body_template(text, CallbackBodyType::Form);
    let _ = callback::check_body_template(text, CallbackBodyType::Json);
});
