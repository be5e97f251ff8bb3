//! Request signing for OSS (V1 `OSS ak:sig`, V4 `OSS4-HMAC-SHA256`) and for the STS RPC API.
//!
//! The functions here are pure: they take the parts of a request and return strings. The client
//! uses them to sign, and `oss-local` uses the very same canonical forms to verify, so the two can
//! only agree by both matching the official SDK vectors in `tests/fixtures/`.

mod rpc;
mod v1;
mod v4;

pub use rpc::{rpc_percent_encode, rpc_signature, rpc_string_to_sign};
pub use v1::{presign_v1, sign_v1, v1_signature, v1_string_to_sign, V1_SUBRESOURCES};
pub use v4::{
    presign_v4, sign_v4, v4_canonical_request, v4_scope, v4_signature, v4_signing_key,
    v4_string_to_sign, V4_ALGORITHM,
};

use http::HeaderMap;

/// Which OSS signature version a client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureVersion {
    /// `Authorization: OSS AccessKeyId:Signature` (HMAC-SHA1), as the classic SDKs send.
    V1,
    /// `Authorization: OSS4-HMAC-SHA256 ...` (HMAC-SHA256 with a region-scoped key). The default.
    #[default]
    V4,
}

impl std::str::FromStr for SignatureVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(Self::V1),
            "v4" | "4" => Ok(Self::V4),
            other => Err(format!(
                "unknown signature version {other:?} (expected v1 or v4)"
            )),
        }
    }
}

/// The parts of an OSS request that a signature covers.
///
/// `query` holds decoded name/value pairs (a subresource without a value, like `uploads`, has an
/// empty value); `key` is the decoded object name.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Bucket name, if the request addresses one.
    pub bucket: Option<&'a str>,
    /// Decoded object key, if the request addresses an object.
    pub key: Option<&'a str>,
    /// Decoded query parameters.
    pub query: &'a [(String, String)],
    /// Request headers.
    pub headers: &'a HeaderMap,
}

impl SignableRequest<'_> {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| header_text(v).into_owned())
            .unwrap_or_default()
    }
}

/// Temporary or long-term credentials as the signers need them.
#[derive(Clone, Copy)]
pub struct SigningCredentials<'a> {
    /// AccessKeyId (`STS.` prefix for temporary credentials).
    pub access_key_id: &'a str,
    /// AccessKeySecret.
    pub access_key_secret: &'a str,
    /// The STS security token, when the credentials are temporary.
    pub security_token: Option<&'a str>,
}

/// A header value as text: UTF-8 values (such as `x-oss-meta-*` in Chinese) are signed as the
/// bytes they are, the way the official SDKs sign them.
fn header_text(v: &http::HeaderValue) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(v.as_bytes())
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Percent-encodes per RFC 3986 (unreserved characters kept), optionally keeping `/`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    const UNRESERVED_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');
    let set = if keep_slash {
        UNRESERVED_SLASH
    } else {
        UNRESERVED
    };
    utf8_percent_encode(s, set).to_string()
}

#[cfg(test)]
mod tests;
