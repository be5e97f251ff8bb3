//! Confirming an upload in OSS before it is recorded: the callback body is the uploader's text,
//! so what it says is stored is checked with a HeadObject of the server's own.
//!
//! The server assumes its role with a session policy that allows `oss:GetObject` (which covers
//! HeadObject) on exactly that one object, for the shortest lifetime STS allows, and asks OSS for
//! the object's ETag and size. The role therefore needs `oss:GetObject` on the bucket's upload
//! prefix (server/README.md, "Upload callbacks").

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use oss_direct::{Client, ClientConfig, Credentials, ObjectMeta, StaticCredentials};
use oss_direct_wire::sign::SignatureVersion;

use crate::error::AppError;
use crate::sts::AssumeRoleRequest;
use crate::{AppState, Config};

/// The session name the confirmation credentials carry (it shows up in ActionTrail).
pub const CONFIRM_SESSION_NAME: &str = "oss-direct-callback-check";
/// STS's shortest lifetime.
const CONFIRM_DURATION_SECS: u64 = 900;
/// OSS waits only a few seconds for a callback's answer: keep the check well inside that.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);

/// The read-only session policy for one object.
pub fn head_policy(bucket: &str, key: &str) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["oss:GetObject"],
            "Resource": [format!("acs:oss:*:*:{bucket}/{key}")],
        }],
    })
    .to_string()
}

fn check_failed(message: String) -> AppError {
    tracing::warn!(reason = %message, "callback refused: the upload could not be confirmed");
    AppError::new(StatusCode::BAD_GATEWAY, "CallbackCheckFailed", message)
}

/// The object as OSS has it, or an error: `CallbackObjectNotFound` (403) when OSS has no such
/// object, `CallbackCheckFailed` (502) when STS or OSS could not be asked.
pub async fn head_object(
    state: &AppState,
    bucket: &str,
    key: &str,
) -> Result<ObjectMeta, AppError> {
    let config = state.config();
    let policy = head_policy(bucket, key);
    let request = AssumeRoleRequest {
        role_arn: &config.role_arn,
        role_session_name: CONFIRM_SESSION_NAME,
        duration_seconds: CONFIRM_DURATION_SECS,
        policy: &policy,
    };
    let sts = state.sts().assume_role(&request).await.map_err(|e| {
        check_failed(format!(
            "read-only credentials to confirm the upload: {}",
            AppError::from(e).code
        ))
    })?;
    let mut creds = Credentials::new(sts.access_key_id, sts.access_key_secret);
    creds.security_token = Some(sts.security_token);
    let client = Client::new(
        client_config(config, bucket),
        Arc::new(StaticCredentials(creds)),
    )
    .map_err(|e| check_failed(format!("OSS client: {e}")))?;
    match client.head_object(key).await {
        Ok(meta) => Ok(meta),
        Err(e) if e.oss().is_some_and(|o| o.status == 404) => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "CallbackObjectNotFound",
            format!("{bucket}/{key} is not in OSS: only stored objects are recorded"),
        )),
        Err(e) => Err(check_failed(format!(
            "HeadObject {bucket}/{key} failed: {}",
            e.code()
                .map_or_else(|| format!("{:?}", e.kind()), str::to_string)
        ))),
    }
}

fn client_config(config: &Config, bucket: &str) -> ClientConfig {
    let mut c = match &config.region {
        Some(region) => ClientConfig::new(bucket, region.as_str()),
        // Without a region V4 cannot be signed; V1 needs none.
        None => ClientConfig::new(bucket, "").with_signature_version(SignatureVersion::V1),
    };
    if let Some(endpoint) = &config.oss_endpoint {
        c = c.with_endpoint(endpoint.as_str());
    }
    c.connect_timeout = CONFIRM_TIMEOUT;
    c.read_timeout = CONFIRM_TIMEOUT;
    c.max_retries = 1;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_reading_one_object_only() {
        let p: serde_json::Value =
            serde_json::from_str(&head_policy("b", "uploads/a \"x\".jpg")).unwrap();
        assert_eq!(
            p["Statement"][0]["Action"],
            serde_json::json!(["oss:GetObject"])
        );
        assert_eq!(
            p["Statement"][0]["Resource"],
            serde_json::json!(["acs:oss:*:*:b/uploads/a \"x\".jpg"])
        );
    }
}
