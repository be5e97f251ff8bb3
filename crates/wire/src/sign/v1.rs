//! OSS signature version 1: `Authorization: OSS AccessKeyId:base64(HMAC-SHA1(secret, StringToSign))`.

use super::{hmac_sha1, SignableRequest, SigningCredentials};
use base64::{engine::general_purpose::STANDARD, Engine};
use http::{HeaderMap, HeaderValue};

/// Query parameters that are part of the V1 canonicalized resource (the others are not signed).
/// The list the official SDKs use.
pub const V1_SUBRESOURCES: &[&str] = &[
    "acl",
    "append",
    "bucketInfo",
    "callback",
    "callback-var",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "qosInfo",
    "referer",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "transferAcceleration",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "worm",
    "wormExtend",
    "wormId",
    "x-oss-async-process",
    "x-oss-process",
    "x-oss-request-payer",
    "x-oss-traffic-limit",
];

/// The V1 StringToSign. `date` is the `Date` header for a signed request, or the `Expires`
/// value (seconds since the epoch) for a presigned URL.
pub fn v1_string_to_sign(req: &SignableRequest<'_>, date: &str) -> String {
    let mut oss_headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            name.starts_with("x-oss-")
                .then(|| (name, super::header_text(value).trim().to_string()))
        })
        .collect();
    oss_headers.sort();

    let mut s = String::new();
    s.push_str(req.method);
    s.push('\n');
    s.push_str(&req.header("content-md5"));
    s.push('\n');
    s.push_str(&req.header("content-type"));
    s.push('\n');
    s.push_str(date);
    s.push('\n');
    for (name, value) in oss_headers {
        s.push_str(&name);
        s.push(':');
        s.push_str(&value);
        s.push('\n');
    }
    s.push_str(&canonical_resource(req));
    s
}

fn canonical_resource(req: &SignableRequest<'_>) -> String {
    let mut resource = match (req.bucket, req.key) {
        (Some(bucket), Some(key)) => format!("/{bucket}/{key}"),
        (Some(bucket), None) => format!("/{bucket}/"),
        _ => "/".to_string(),
    };
    let mut sub: Vec<&(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| V1_SUBRESOURCES.contains(&k.as_str()))
        .collect();
    sub.sort();
    for (i, (k, v)) in sub.into_iter().enumerate() {
        resource.push(if i == 0 { '?' } else { '&' });
        resource.push_str(k);
        if !v.is_empty() {
            resource.push('=');
            resource.push_str(v);
        }
    }
    resource
}

/// base64(HMAC-SHA1(secret, string_to_sign)).
pub fn v1_signature(access_key_secret: &str, string_to_sign: &str) -> String {
    STANDARD.encode(hmac_sha1(
        access_key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

/// Signs a request in place with V1: sets `date`, `x-oss-security-token` (for temporary
/// credentials) and `authorization` on `headers`. `date` is an RFC 1123 (HTTP) date.
pub fn sign_v1(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    headers: &mut HeaderMap,
    creds: SigningCredentials<'_>,
    date: &str,
) {
    headers.insert(http::header::DATE, header_value(date));
    if let Some(token) = creds.security_token {
        headers.insert("x-oss-security-token", header_value(token));
    }
    let req = SignableRequest {
        method,
        bucket,
        key,
        query,
        headers,
    };
    let sig = v1_signature(creds.access_key_secret, &v1_string_to_sign(&req, date));
    let auth = format!("OSS {}:{}", creds.access_key_id, sig);
    headers.insert(http::header::AUTHORIZATION, header_value(&auth));
}

/// The query parameters a V1 presigned URL adds: `OSSAccessKeyId`, `Expires`, `Signature` and,
/// for temporary credentials, `security-token` (which is itself signed).
/// `expires` is seconds since the epoch.
pub fn presign_v1(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    headers: &HeaderMap,
    creds: SigningCredentials<'_>,
    expires: i64,
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = query.to_vec();
    if let Some(token) = creds.security_token {
        all.push(("security-token".into(), token.into()));
    }
    let expires = expires.to_string();
    let req = SignableRequest {
        method,
        bucket,
        key,
        query: &all,
        headers,
    };
    let sig = v1_signature(creds.access_key_secret, &v1_string_to_sign(&req, &expires));
    all.push(("OSSAccessKeyId".into(), creds.access_key_id.into()));
    all.push(("Expires".into(), expires));
    all.push(("Signature".into(), sig));
    all
}

pub(super) fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}
