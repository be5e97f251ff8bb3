//! Verifies OSS request signatures (V1 header, V1 presigned URL, V4 header, V4 presigned URL),
//! the request time, and the AccessKey / security token, and says who is asking.

use crate::context::{Principal, State};
use crate::token::TokenError;
use crate::xml::OssError;
use oss_direct_wire::policy::Policy;
use oss_direct_wire::sign::{
    v1_signature, v1_string_to_sign, v4_canonical_request, v4_scope, v4_signature,
    v4_string_to_sign, SignableRequest,
};
use std::sync::Arc;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn invalid_auth_header() -> OssError {
    OssError::invalid_argument("Authorization header is invalid.")
}

fn too_skewed(request_time: &str, now: OffsetDateTime) -> OssError {
    OssError::new(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
    )
    .with("RequestTime", request_time)
    .with("ServerTime", iso8601(now))
}

fn expired_url(now: OffsetDateTime) -> OssError {
    OssError::access_denied("Request has expired.").with("ServerTime", iso8601(now))
}

pub(crate) fn iso8601(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
    ))
    .unwrap_or_default()
}

pub(crate) fn parse_v4_time(s: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(
        s,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .ok()
    .map(PrimitiveDateTime::assume_utc)
}

fn query<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// How a request was signed, with what the signature covers.
enum Scheme {
    V1 {
        date: String,
    },
    V4 {
        timestamp: String,
        date: String,
        region: String,
        additional: Vec<String>,
        presigned: bool,
    },
}

/// [`iso8601`] of Unix seconds (the epoch for a time out of range).
pub(crate) fn iso8601_secs(secs: i64) -> String {
    iso8601(OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH))
}

/// Checks the signature of `req` and returns its principal.
pub(crate) fn authenticate(
    state: &State,
    req: &SignableRequest<'_>,
    now: OffsetDateTime,
) -> Result<Principal, OssError> {
    let Some(p) = presented(state, req, now)? else {
        return Ok(Principal::Anonymous);
    };
    let (secret, principal) = resolve(state, &p.ak, p.token.as_deref(), now)?;
    let (expected, detail) = expected_signature(req, &secret, &p.scheme);
    if !constant_time_eq(expected.as_bytes(), p.signature.as_bytes()) {
        let mut e = OssError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
        .with("OSSAccessKeyId", p.ak);
        for (name, value) in detail {
            e = e.with(name, value);
        }
        return Err(e);
    }
    Ok(principal)
}

/// What a signed request presents: the AccessKey ID, the signature, the security token and how
/// it was signed.
struct Presented {
    ak: String,
    signature: String,
    token: Option<String>,
    scheme: Scheme,
}

/// The credentials in the `Authorization` header (V1 or V4) or the query (presigned V1 or V4),
/// with the time checks of each form; `None` for an unsigned request.
fn presented(
    state: &State,
    req: &SignableRequest<'_>,
    now: OffsetDateTime,
) -> Result<Option<Presented>, OssError> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let q = req.query;
    if let Some(auth) = header("authorization") {
        return if let Some(rest) = auth.strip_prefix("OSS4-HMAC-SHA256 ") {
            header_v4(state, req, rest, now).map(Some)
        } else if let Some(rest) = auth.strip_prefix("OSS ") {
            header_v1(state, req, rest, now).map(Some)
        } else {
            Err(invalid_auth_header())
        };
    }
    if let Some(version) = query(q, "x-oss-signature-version") {
        if version != "OSS4-HMAC-SHA256" {
            return Err(OssError::invalid_argument(
                "Invalid x-oss-signature-version.",
            ));
        }
        return query_v4(state, q, now).map(Some);
    }
    if query(q, "OSSAccessKeyId").is_some() || query(q, "Signature").is_some() {
        return query_v1(q, now).map(Some);
    }
    Ok(None)
}

fn header_v4(
    state: &State,
    req: &SignableRequest<'_>,
    rest: &str,
    now: OffsetDateTime,
) -> Result<Presented, OssError> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let mut credential = None;
    let mut signature = None;
    let mut additional = Vec::new();
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(invalid_auth_header)?;
        match k {
            "Credential" => credential = Some(v.to_string()),
            "Signature" => signature = Some(v.to_string()),
            "AdditionalHeaders" => additional = header_list(v),
            _ => return Err(invalid_auth_header()),
        }
    }
    let credential = credential.ok_or_else(invalid_auth_header)?;
    let signature = signature.ok_or_else(invalid_auth_header)?;
    let timestamp = header("x-oss-date")
        .ok_or_else(|| OssError::access_denied("Missing x-oss-date header."))?
        .to_string();
    let t = parse_v4_time(&timestamp)
        .ok_or_else(|| OssError::access_denied("Invalid x-oss-date header."))?;
    if (t - now).whole_seconds().abs() > state.opts.max_clock_skew_secs as i64 {
        return Err(too_skewed(&timestamp, now));
    }
    let (ak, date, region) = parse_credential(&credential, &timestamp, state)?;
    Ok(Presented {
        ak,
        signature,
        token: header("x-oss-security-token").map(str::to_string),
        scheme: Scheme::V4 {
            timestamp,
            date,
            region,
            additional,
            presigned: false,
        },
    })
}

fn header_v1(
    state: &State,
    req: &SignableRequest<'_>,
    rest: &str,
    now: OffsetDateTime,
) -> Result<Presented, OssError> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let (ak, sig) = rest
        .trim()
        .rsplit_once(':')
        .ok_or_else(invalid_auth_header)?;
    // The SDKs (and browsers, which cannot set Date) put x-oss-date in the Date line when they
    // send it, and OSS takes it in Date's place.
    let date = header("x-oss-date")
        .or_else(|| header("date"))
        .ok_or_else(|| OssError::access_denied("Missing Date header."))?
        .to_string();
    let t = httpdate::parse_http_date(&date)
        .map_err(|_| OssError::access_denied("Invalid Date header."))?;
    let t = OffsetDateTime::from(t);
    if (t - now).whole_seconds().abs() > state.opts.max_clock_skew_secs as i64 {
        return Err(too_skewed(&date, now));
    }
    Ok(Presented {
        ak: ak.to_string(),
        signature: sig.to_string(),
        // alibabacloud-oss-v2's V1 signer sends the token as `security-token`.
        token: header("x-oss-security-token")
            .or_else(|| header("security-token"))
            .map(str::to_string),
        scheme: Scheme::V1 { date },
    })
}

fn query_v4(
    state: &State,
    q: &[(String, String)],
    now: OffsetDateTime,
) -> Result<Presented, OssError> {
    let missing = |n: &str| OssError::invalid_argument(format!("Missing {n} in the query."));
    let credential = query(q, "x-oss-credential").ok_or_else(|| missing("x-oss-credential"))?;
    let timestamp = query(q, "x-oss-date").ok_or_else(|| missing("x-oss-date"))?;
    let expires: i64 = query(q, "x-oss-expires")
        .ok_or_else(|| missing("x-oss-expires"))?
        .parse()
        .map_err(|_| OssError::invalid_argument("Invalid x-oss-expires."))?;
    let signature = query(q, "x-oss-signature").ok_or_else(|| missing("x-oss-signature"))?;
    let t = parse_v4_time(timestamp)
        .ok_or_else(|| OssError::invalid_argument("Invalid x-oss-date."))?;
    if (t - now).whole_seconds() > state.opts.max_clock_skew_secs as i64 {
        return Err(too_skewed(timestamp, now));
    }
    if !(1..=604_800).contains(&expires) {
        return Err(OssError::invalid_argument(
            "x-oss-expires must be between 1 and 604800.",
        ));
    }
    if (now - t).whole_seconds() > expires {
        return Err(expired_url(now));
    }
    let additional = query(q, "x-oss-additional-headers")
        .map(header_list)
        .unwrap_or_default();
    let (ak, date, region) = parse_credential(credential, timestamp, state)?;
    Ok(Presented {
        ak,
        signature: signature.to_string(),
        token: query(q, "x-oss-security-token").map(str::to_string),
        scheme: Scheme::V4 {
            timestamp: timestamp.to_string(),
            date,
            region,
            additional,
            presigned: true,
        },
    })
}

fn query_v1(q: &[(String, String)], now: OffsetDateTime) -> Result<Presented, OssError> {
    let ak = query(q, "OSSAccessKeyId")
        .ok_or_else(|| OssError::invalid_argument("Missing OSSAccessKeyId in the query."))?;
    let sig = query(q, "Signature")
        .ok_or_else(|| OssError::invalid_argument("Missing Signature in the query."))?;
    let expires = query(q, "Expires")
        .ok_or_else(|| OssError::invalid_argument("Missing Expires in the query."))?;
    let exp: i64 = expires
        .parse()
        .map_err(|_| OssError::invalid_argument("Invalid Expires in the query."))?;
    if now.unix_timestamp() > exp {
        return Err(expired_url(now).with("Expires", expires));
    }
    Ok(Presented {
        ak: ak.to_string(),
        signature: sig.to_string(),
        token: query(q, "security-token").map(str::to_string),
        scheme: Scheme::V1 {
            date: expires.to_string(),
        },
    })
}

/// `a;b;C` -> `["a", "b", "c"]`.
fn header_list(v: &str) -> Vec<String> {
    v.split(';')
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase())
        .collect()
}

/// The signature the request should carry with `secret`, and the canonical forms to show in a
/// `SignatureDoesNotMatch`.
fn expected_signature(
    req: &SignableRequest<'_>,
    secret: &str,
    scheme: &Scheme,
) -> (String, Vec<(&'static str, String)>) {
    match scheme {
        Scheme::V1 { date } => {
            let sts = v1_string_to_sign(req, date);
            (v1_signature(secret, &sts), vec![("StringToSign", sts)])
        }
        Scheme::V4 {
            timestamp,
            date,
            region,
            additional,
            presigned,
        } => {
            let filtered: Vec<(String, String)>;
            let mut signable = *req;
            if *presigned {
                filtered = req
                    .query
                    .iter()
                    .filter(|(k, _)| k != "x-oss-signature")
                    .cloned()
                    .collect();
                signable.query = &filtered;
            }
            let canonical = v4_canonical_request(&signable, additional);
            let sts = v4_string_to_sign(&canonical, timestamp, &v4_scope(date, region));
            (
                v4_signature(secret, date, region, &sts),
                vec![("CanonicalRequest", canonical), ("StringToSign", sts)],
            )
        }
    }
}

/// Splits `ak/YYYYMMDD/region/oss/aliyun_v4_request` and checks date and region.
pub(crate) fn parse_credential(
    credential: &str,
    timestamp: &str,
    state: &State,
) -> Result<(String, String, String), OssError> {
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[3] != "oss" || parts[4] != "aliyun_v4_request" {
        return Err(invalid_auth_header());
    }
    let mismatch = |m: &str| OssError::new(403, "SignatureDoesNotMatch", m);
    if !timestamp.starts_with(parts[1]) || parts[1].len() != 8 {
        return Err(mismatch("Invalid signing date in Authorization header."));
    }
    if parts[2] != state.opts.region {
        return Err(mismatch("Invalid signing region in Authorization header.")
            .with("Region", state.opts.region.clone()));
    }
    Ok((parts[0].into(), parts[1].into(), parts[2].into()))
}

/// Finds the secret for an AccessKeyId, checking the security token of temporary keys.
pub(crate) fn resolve(
    state: &State,
    ak: &str,
    token: Option<&str>,
    now: OffsetDateTime,
) -> Result<(String, Principal), OssError> {
    let unknown = || {
        OssError::new(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        )
        .with("OSSAccessKeyId", ak)
    };
    if let Some((user, policy)) = state.users.iter().find(|(u, _)| u.access_key_id == ak) {
        return Ok((
            user.access_key_secret.clone(),
            Principal::User {
                policy: policy.clone(),
            },
        ));
    }
    if !ak.starts_with("STS.") {
        return Err(unknown());
    }
    let token = token.ok_or_else(unknown)?;
    let invalid = || {
        OssError::new(
            403,
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
        )
    };
    let claims = match state.tokens.verify(token, now.unix_timestamp()) {
        Ok(c) => c,
        Err(TokenError::Invalid) => return Err(invalid()),
        Err(TokenError::Expired) => {
            return Err(OssError::new(
                403,
                "SecurityTokenExpired",
                "The security token you provided has expired.",
            ))
        }
    };
    if claims.ak != ak {
        return Err(invalid());
    }
    let (_, role_policy) = state
        .roles
        .iter()
        .find(|(r, _)| r.arn == claims.role)
        .ok_or_else(invalid)?;
    let session_policy = match &claims.policy {
        Some(p) => Some(Arc::new(Policy::parse(p).map_err(|_| invalid())?)),
        None => None,
    };
    Ok((
        state.tokens.secret_for(ak),
        Principal::Session {
            role_policy: role_policy.clone(),
            session_policy,
        },
    ))
}
