//! STS `AssumeRole` (RPC style: HMAC-SHA1 signature, GET or POST with query or form; or the
//! ACS3-HMAC-SHA256 header signature of the newer SDKs).

use crate::acs3;
use crate::body::RequestBody;
use crate::context::{Resp, State};
use crate::token::{Claims, TokenKey};
use axum::body::Body;
use http::{Method, Response};
use oss_direct_wire::policy::{allowed_by_all, Policy, MAX_SESSION_POLICY_LEN};
use oss_direct_wire::sign::{rpc_signature, rpc_string_to_sign};
use serde_json::json;
use std::collections::BTreeMap;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// An STS error: status, `Code`, `Message`.
struct StsError(u16, String, String);

fn err(status: u16, code: &str, message: impl Into<String>) -> StsError {
    StsError(status, code.into(), message.into())
}

/// A request id like the service's (UUID, upper case).
fn request_id() -> String {
    let h = crate::storage::random_hex(16).to_ascii_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Answers in JSON, or in XML when the request said `Format=XML` (the same members as
/// elements under `root`, objects nested).
fn respond(status: u16, root: &str, v: serde_json::Value, xml: bool) -> Resp {
    let (content_type, body) = if xml {
        // Only strings and objects under fixed member names: serializing cannot fail.
        let body = crate::xml::document(root, &v).expect("an STS answer serializes");
        ("text/xml;charset=utf-8", body)
    } else {
        ("application/json;charset=utf-8", v.to_string())
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("valid response")
}

pub(crate) async fn handle(
    state: &State,
    parts: &http::request::Parts,
    mut body: RequestBody,
) -> Resp {
    let rid = request_id();
    let mut xml = false;
    match assume_role(state, parts, &mut body, &rid, &mut xml).await {
        Ok(v) => respond(200, "AssumeRoleResponse", v, xml),
        Err(StsError(status, code, message)) => {
            tracing::info!(code = %code, "AssumeRole refused");
            respond(
                status,
                "Error",
                json!({
                    "RequestId": rid,
                    "HostId": "sts.aliyuncs.com",
                    "Code": code,
                    "Message": message,
                    "Recommend": "https://api.aliyun.com/troubleshoot?q=".to_string() + &code,
                }),
                xml,
            )
        }
    }
}

/// An ISO 8601 UTC time: `2026-01-01T00:00:00Z`, or with fractional seconds as ali-oss sends
/// it (`new Date().toISOString()`: `2026-01-01T00:00:00.123Z`), which STS accepts too.
fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    if !s.ends_with('Z') {
        return None;
    }
    PrimitiveDateTime::parse(
        s,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .ok()
    .map(PrimitiveDateTime::assume_utc)
    .or_else(|| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
}

fn expiration(t: OffsetDateTime) -> String {
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

/// Parse, verify, authorize, issue.
async fn assume_role(
    state: &State,
    parts: &http::request::Parts,
    body: &mut RequestBody,
    rid: &str,
    xml: &mut bool,
) -> Result<serde_json::Value, StsError> {
    let req = StsRequest::parse(parts, body).await?;
    *xml = req.xml;
    req.apply_faults(state).await?;
    let now = OffsetDateTime::now_utc();
    let user_policy = req.verify(state, parts, now)?;
    let grant = req.authorize(state, user_policy)?;
    Ok(issue(state, &grant, rid, now))
}

/// What an AssumeRole request says: its parameters (query, form and ACS3 headers together).
struct StsRequest {
    params: BTreeMap<String, String>,
    query_pairs: Vec<(String, String)>,
    body: Vec<u8>,
    acs3: Option<acs3::Acs3Auth>,
    acs3_content_sha256: Option<String>,
    xml: bool,
}

/// What the caller may have: the role, the session name, the lifetime, the session policy.
struct Grant<'a> {
    role: &'a crate::config::Role,
    session: String,
    duration: u64,
    policy: Option<String>,
}

fn header(parts: &http::request::Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl StsRequest {
    /// Step 1: the parameters, from the query, a POSTed form and (ACS3) the `x-acs-*` headers.
    async fn parse(parts: &http::request::Parts, body: &mut RequestBody) -> Result<Self, StsError> {
        if parts.method != Method::GET && parts.method != Method::POST {
            return Err(err(400, "UnsupportedHTTPMethod", "Use GET or POST."));
        }
        let query = parts.uri.query().unwrap_or("");
        let query_pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut params: BTreeMap<String, String> = query_pairs.iter().cloned().collect();
        let mut bytes = Vec::new();
        if parts.method == Method::POST {
            bytes = body
                .collect(64 * 1024)
                .await
                .map_err(|e| err(400, "InvalidParameter", e.message))?;
            for (k, v) in url::form_urlencoded::parse(&bytes) {
                params.insert(k.into_owned(), v.into_owned());
            }
        }
        // The newer SDKs sign with ACS3 and carry the common parameters in x-acs-* headers.
        let acs3 = match header(parts, "authorization") {
            Some(a) if a.starts_with(acs3::ACS3) => Some(acs3::parse(&a).ok_or_else(|| {
                err(
                    400,
                    "IncompleteSignature",
                    "The request signature does not conform to Aliyun standards.",
                )
            })?),
            _ => None,
        };
        if let Some(a) = &acs3 {
            for (h, p) in [
                ("x-acs-action", "Action"),
                ("x-acs-version", "Version"),
                ("x-acs-date", "Timestamp"),
                ("x-acs-signature-nonce", "SignatureNonce"),
            ] {
                if let Some(v) = header(parts, h) {
                    params.insert(p.into(), v);
                }
            }
            params.insert("AccessKeyId".into(), a.access_key_id.clone());
        }
        let xml = params
            .get("Format")
            .is_some_and(|f| f.eq_ignore_ascii_case("XML"));
        Ok(Self {
            params,
            query_pairs,
            body: bytes,
            acs3_content_sha256: header(parts, "x-acs-content-sha256"),
            acs3,
            xml,
        })
    }

    fn get(&self, name: &str) -> Option<&String> {
        self.params.get(name).filter(|v| !v.is_empty())
    }

    fn need(&self, name: &str) -> Result<String, StsError> {
        self.get(name).cloned().ok_or_else(|| {
            err(
                400,
                &format!("Missing{name}"),
                format!("{name} is mandatory for this action."),
            )
        })
    }

    /// Armed faults for this action (tests only).
    async fn apply_faults(&self, state: &State) -> Result<(), StsError> {
        let action = self.params.get("Action").map_or("", String::as_str);
        let planned = state.faults.plan(if action.is_empty() {
            "AssumeRole"
        } else {
            action
        });
        if let Some(d) = planned.delay {
            tokio::time::sleep(d).await;
        }
        match planned.fail {
            Some((status, code)) => {
                Err(err(status, &code, "Injected by oss-local fault injection."))
            }
            None => Ok(()),
        }
    }

    /// Step 2: the common parameters, the time, the caller's AccessKey, the signature and the
    /// nonce; the caller's own policy.
    fn verify<'s>(
        &self,
        state: &'s State,
        parts: &http::request::Parts,
        now: OffsetDateTime,
    ) -> Result<&'s std::sync::Arc<Policy>, StsError> {
        let ak = self.need("AccessKeyId")?;
        let signature = match &self.acs3 {
            Some(a) => a.signature.clone(),
            None => self.need("Signature")?,
        };
        self.need("SignatureNonce")?;
        let timestamp = self.need("Timestamp")?;
        self.check_action()?;
        let t = parse_timestamp(&timestamp).ok_or_else(|| {
            err(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            )
        })?;
        if (t - now).whole_seconds().abs() > state.opts.max_clock_skew_secs as i64 {
            return Err(err(
                400,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            ));
        }
        let Some((user, user_policy)) = state.users.iter().find(|(u, _)| u.access_key_id == ak)
        else {
            return Err(err(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ));
        };
        let (sts, expected) = self.expected_signature(parts, &user.access_key_secret)?;
        if !crate::auth::constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return Err(err(
                400,
                "SignatureDoesNotMatch",
                format!("Specified signature is not matched with our calculation. server string to sign is:{sts}"),
            ));
        }
        self.check_nonce(state, now)?;
        Ok(user_policy)
    }

    /// The signature method, the action and its version.
    fn check_action(&self) -> Result<(), StsError> {
        let method = self
            .params
            .get("SignatureMethod")
            .map_or("", String::as_str);
        if self.acs3.is_none() && method != "HMAC-SHA1" {
            return Err(err(
                400,
                "InvalidSignatureMethod",
                "Specified signature method is not supported.",
            ));
        }
        if self.params.get("Action").map(String::as_str) != Some("AssumeRole") {
            return Err(err(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            ));
        }
        if self.params.get("Version").map(String::as_str) != Some("2015-04-01") {
            return Err(err(
                400,
                "InvalidVersion",
                "Specified parameter Version is not valid.",
            ));
        }
        Ok(())
    }

    /// The string to sign and the signature the caller should have sent (RPC or ACS3).
    fn expected_signature(
        &self,
        parts: &http::request::Parts,
        secret: &str,
    ) -> Result<(String, String), StsError> {
        let Some(a) = &self.acs3 else {
            let mut signed = self.params.clone();
            signed.remove("Signature");
            let sts = rpc_string_to_sign(parts.method.as_str(), &signed);
            let sig = rpc_signature(secret, &sts);
            return Ok((sts, sig));
        };
        let declared = self.acs3_content_sha256.clone().unwrap_or_default();
        if !declared.eq_ignore_ascii_case(&acs3::payload_hash(&self.body)) {
            return Err(err(
                400,
                "InvalidParameter.ContentSHA256",
                "The x-acs-content-sha256 header does not match the request body.",
            ));
        }
        let canonical = acs3::canonical_request(
            parts.method.as_str(),
            parts.uri.path(),
            &self.query_pairs,
            &parts.headers,
            &a.signed_headers,
            &declared,
        );
        let sts = acs3::string_to_sign(&canonical);
        let sig = acs3::signature(secret, &sts);
        Ok((sts, sig))
    }

    /// A nonce is used once within twice the allowed clock skew.
    fn check_nonce(&self, state: &State, now: OffsetDateTime) -> Result<(), StsError> {
        let nonce = self.need("SignatureNonce")?;
        let mut seen = state.nonces.lock().unwrap_or_else(|e| e.into_inner());
        let now_s = now.unix_timestamp();
        seen.retain(|_, forget_at| *forget_at > now_s);
        if seen.contains_key(&nonce) {
            return Err(err(
                400,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        seen.insert(nonce, now_s + 2 * state.opts.max_clock_skew_secs as i64);
        Ok(())
    }

    /// Step 3: the role (which the caller's policy must allow it to assume), the session name,
    /// the lifetime and the session policy.
    fn authorize<'s>(&self, state: &'s State, user_policy: &Policy) -> Result<Grant<'s>, StsError> {
        let role = self.role(state, user_policy)?;
        let session = self.get("RoleSessionName").cloned().ok_or_else(|| {
            err(
                400,
                "MissingParameter.RoleSessionName",
                "Parameter RoleSessionName is required.",
            )
        })?;
        let session_ok = (2..=64).contains(&session.len())
            && session
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".@_-".contains(&b));
        if !session_ok {
            return Err(err(
                400,
                "InvalidParameter.RoleSessionName",
                "The parameter RoleSessionName is wrongly formed.",
            ));
        }
        let max = role.max_session_duration;
        let duration: u64 = match self.params.get("DurationSeconds") {
            Some(v) => v
                .parse()
                .ok()
                .filter(|d| (900..=max).contains(d))
                .ok_or_else(|| {
                    err(
                        400,
                        "InvalidParameter.DurationSeconds",
                        format!("The Min/Max value of DurationSeconds is 15min/{}s.", max),
                    )
                })?,
            None => 3600.min(max),
        };
        let policy = self.session_policy()?;
        Ok(Grant {
            role,
            session,
            duration,
            policy,
        })
    }

    /// The role asked for, if it is well formed, exists and the caller may assume it.
    fn role<'s>(
        &self,
        state: &'s State,
        user_policy: &Policy,
    ) -> Result<&'s crate::config::Role, StsError> {
        let role_arn = self.get("RoleArn").cloned().ok_or_else(|| {
            err(
                400,
                "MissingParameter.RoleArn",
                "Parameter RoleArn is required.",
            )
        })?;
        let well_formed = role_arn
            .strip_prefix("acs:ram::")
            .and_then(|r| r.split_once(":role/"))
            .is_some_and(|(acct, name)| {
                !acct.is_empty() && acct.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
            });
        if !well_formed {
            return Err(err(
                400,
                "InvalidParameter.RoleArn",
                "The parameter RoleArn is wrongly formed.",
            ));
        }
        // The role is found ignoring case, and the caller's policy is checked against the ARN
        // as the role is defined, so a Deny on `role/admin` also holds for `role/ADMIN`.
        let found = state
            .roles
            .iter()
            .find(|(r, _)| r.arn.eq_ignore_ascii_case(&role_arn));
        let checked_arn = found.map_or(role_arn.as_str(), |(r, _)| r.arn.as_str());
        if !allowed_by_all(&[user_policy], "sts:AssumeRole", checked_arn) {
            return Err(err(
                403,
                "NoPermission",
                "You are not authorized to do this action. You should be authorized by RAM.",
            ));
        }
        found.map(|(r, _)| r).ok_or_else(|| {
            err(
                404,
                "EntityNotExist.Role",
                "The specified Role not exists .",
            )
        })
    }

    /// The session policy: within the size limit and the RAM grammar.
    fn session_policy(&self) -> Result<Option<String>, StsError> {
        let Some(p) = self.get("Policy") else {
            return Ok(None);
        };
        if p.chars().count() > MAX_SESSION_POLICY_LEN {
            return Err(err(
                400,
                "InvalidParameter.PolicySize",
                format!("The max size of policy string is {MAX_SESSION_POLICY_LEN}."),
            ));
        }
        Policy::parse(p).map_err(|_| {
            err(
                400,
                "InvalidParameter.PolicyGrammar",
                "The parameter Policy has not passed grammar check.",
            )
        })?;
        Ok(Some(p.clone()))
    }
}

/// Step 4: the temporary credentials and the answer.
fn issue(state: &State, grant: &Grant<'_>, rid: &str, now: OffsetDateTime) -> serde_json::Value {
    let lifetime = state
        .faults
        .token_lifetime()
        .map_or(grant.duration, |d| d.as_secs());
    let expires_at = now + time::Duration::seconds(lifetime as i64);
    let access_key_id = TokenKey::new_access_key_id();
    let role = grant.role;
    let session = &grant.session;
    let token = state.tokens.issue(&Claims {
        ak: access_key_id.clone(),
        role: role.arn.clone(),
        session: session.clone(),
        policy: grant.policy.clone(),
        exp: expires_at.unix_timestamp(),
    });
    let role_name = role.arn.rsplit('/').next().unwrap_or("");
    let role_id: u64 = role
        .arn
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
        % 100_000_000_000_000_000;
    json!({
        "RequestId": rid,
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{role_id}:{session}"),
            "Arn": format!("acs:ram::{}:role/{role_name}/{session}", state.opts.account_id),
        },
        "Credentials": {
            "SecurityToken": token,
            "AccessKeyId": access_key_id,
            "AccessKeySecret": state.tokens.secret_for(&access_key_id),
            "Expiration": expiration(expires_at),
        }
    })
}

#[cfg(test)]
mod timestamp_tests {
    use super::parse_timestamp;

    #[test]
    fn timestamps_with_and_without_fractions() {
        let plain = parse_timestamp("2026-01-01T00:00:00Z").unwrap();
        let fraction = parse_timestamp("2026-01-01T00:00:00.123Z").unwrap();
        assert_eq!(plain.unix_timestamp(), fraction.unix_timestamp());
        assert!(parse_timestamp("2026-01-01T00:00:00+08:00").is_none());
        assert!(parse_timestamp("2026-01-01 00:00:00").is_none());
    }
}
