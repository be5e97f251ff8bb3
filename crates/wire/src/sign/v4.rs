//! OSS signature version 4: `OSS4-HMAC-SHA256`, a region-scoped HMAC-SHA256 over a canonical
//! request whose payload is `UNSIGNED-PAYLOAD`.

use super::{hmac_sha256, uri_encode, v1::header_value, SignableRequest, SigningCredentials};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// The algorithm name in the `Authorization` header and `x-oss-signature-version`.
pub const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The credential scope: `YYYYMMDD/region/oss/aliyun_v4_request`.
pub fn v4_scope(date: &str, region: &str) -> String {
    format!("{date}/{region}/oss/aliyun_v4_request")
}

fn is_default_signed(name: &str) -> bool {
    name == "content-type" || name == "content-md5" || name.starts_with("x-oss-")
}

/// The V4 canonical request. `additional_headers` are lower-case header names signed besides
/// the default ones (`content-type`, `content-md5`, `x-oss-*`).
pub fn v4_canonical_request(req: &SignableRequest<'_>, additional_headers: &[String]) -> String {
    let uri = match (req.bucket, req.key) {
        (Some(bucket), Some(key)) => format!("/{}/{}", bucket, uri_encode(key, true)),
        (Some(bucket), None) => format!("/{bucket}/"),
        _ => "/".to_string(),
    };

    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&");

    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let signed = is_default_signed(&name) || additional_headers.contains(&name);
            signed.then(|| (name, super::header_text(value).trim().to_string()))
        })
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    for (name, value) in headers {
        canonical_headers.push_str(&name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }

    let mut additional: Vec<&str> = additional_headers.iter().map(String::as_str).collect();
    additional.sort_unstable();
    let payload = req
        .headers
        .get("x-oss-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(UNSIGNED_PAYLOAD);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri,
        query,
        canonical_headers,
        additional.join(";"),
        payload
    )
}

/// The V4 StringToSign for a canonical request, a `YYYYMMDDTHHMMSSZ` timestamp and a scope.
pub fn v4_string_to_sign(canonical_request: &str, timestamp: &str, scope: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{V4_ALGORITHM}\n{timestamp}\n{scope}\n{hash}")
}

/// The derived signing key for a day (`YYYYMMDD`) and region.
pub fn v4_signing_key(access_key_secret: &str, date: &str, region: &str) -> [u8; 32] {
    let k = hmac_sha256(
        format!("aliyun_v4{access_key_secret}").as_bytes(),
        date.as_bytes(),
    );
    let k = hmac_sha256(&k, region.as_bytes());
    let k = hmac_sha256(&k, b"oss");
    hmac_sha256(&k, b"aliyun_v4_request")
}

/// hex(HMAC-SHA256(signing key, string_to_sign)).
pub fn v4_signature(
    access_key_secret: &str,
    date: &str,
    region: &str,
    string_to_sign: &str,
) -> String {
    hex::encode(hmac_sha256(
        &v4_signing_key(access_key_secret, date, region),
        string_to_sign.as_bytes(),
    ))
}

/// Signs a request in place with V4: sets `x-oss-date`, `x-oss-content-sha256`,
/// `x-oss-security-token` (temporary credentials) and `authorization`.
/// `timestamp` is `YYYYMMDDTHHMMSSZ`.
#[allow(clippy::too_many_arguments)]
pub fn sign_v4(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    headers: &mut HeaderMap,
    creds: SigningCredentials<'_>,
    region: &str,
    timestamp: &str,
) {
    headers.insert("x-oss-date", header_value(timestamp));
    headers.insert("x-oss-content-sha256", header_value(UNSIGNED_PAYLOAD));
    if let Some(token) = creds.security_token {
        headers.insert("x-oss-security-token", header_value(token));
    }
    let date = timestamp.get(..8).unwrap_or(timestamp);
    let scope = v4_scope(date, region);
    let req = SignableRequest {
        method,
        bucket,
        key,
        query,
        headers,
    };
    let sts = v4_string_to_sign(&v4_canonical_request(&req, &[]), timestamp, &scope);
    let sig = v4_signature(creds.access_key_secret, date, region, &sts);
    let auth = format!(
        "{V4_ALGORITHM} Credential={}/{scope}, Signature={sig}",
        creds.access_key_id
    );
    headers.insert(http::header::AUTHORIZATION, header_value(&auth));
}

/// The query parameters a V4 presigned URL carries (the given `query` plus the `x-oss-*`
/// signature parameters, `x-oss-signature` last).
#[allow(clippy::too_many_arguments)]
pub fn presign_v4(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    headers: &HeaderMap,
    creds: SigningCredentials<'_>,
    region: &str,
    timestamp: &str,
    expires_in: u64,
) -> Vec<(String, String)> {
    let date = timestamp.get(..8).unwrap_or(timestamp);
    let scope = v4_scope(date, region);
    let mut all: Vec<(String, String)> = query.to_vec();
    if let Some(token) = creds.security_token {
        all.push(("x-oss-security-token".into(), token.into()));
    }
    all.push(("x-oss-date".into(), timestamp.into()));
    all.push(("x-oss-expires".into(), expires_in.to_string()));
    all.push(("x-oss-signature-version".into(), V4_ALGORITHM.into()));
    all.push((
        "x-oss-credential".into(),
        format!("{}/{scope}", creds.access_key_id),
    ));
    let req = SignableRequest {
        method,
        bucket,
        key,
        query: &all,
        headers,
    };
    let sts = v4_string_to_sign(&v4_canonical_request(&req, &[]), timestamp, &scope);
    let sig = v4_signature(creds.access_key_secret, date, region, &sts);
    all.push(("x-oss-signature".into(), sig));
    all
}
