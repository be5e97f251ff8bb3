//! The Alibaba Cloud RPC signature (HMAC-SHA1, SignatureVersion 1.0) that STS `AssumeRole` uses.

use super::hmac_sha1;
use base64::{engine::general_purpose::STANDARD, Engine};
use std::collections::BTreeMap;

/// RPC percent-encoding: RFC 3986 unreserved characters kept, everything else `%XX` (so a space
/// is `%20`, `*` is `%2A`, and `~` stays).
pub fn rpc_percent_encode(s: &str) -> String {
    super::uri_encode(s, false)
}

/// `METHOD&%2F&percent(sorted k=v joined by &)`; `params` excludes `Signature`.
pub fn rpc_string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical = params
        .iter()
        .map(|(k, v)| format!("{}={}", rpc_percent_encode(k), rpc_percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        rpc_percent_encode("/"),
        rpc_percent_encode(&canonical)
    )
}

/// base64(HMAC-SHA1(secret + "&", string_to_sign)).
pub fn rpc_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    STANDARD.encode(hmac_sha1(
        format!("{access_key_secret}&").as_bytes(),
        string_to_sign.as_bytes(),
    ))
}
