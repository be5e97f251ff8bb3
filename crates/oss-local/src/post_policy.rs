//! The policy of a PostObject form: base64 JSON with `expiration` and `conditions`, checked
//! against the form's fields as OSS checks it.

use crate::xml::OssError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

fn invalid_policy(message: &str) -> OssError {
    OssError::new(400, "InvalidPolicyDocument", message)
}

fn failed(condition: &Value) -> OssError {
    OssError::access_denied(&format!(
        "Invalid according to Policy: Policy Condition failed: {condition}"
    ))
}

/// Checks `policy_b64` for a form uploading `key` to `bucket`: unexpired, and every condition
/// holds for the fields `field` returns (by name without `$`). Returns the
/// `content-length-range`, which is checked once the file has arrived.
pub(crate) fn check(
    policy_b64: &str,
    bucket: &str,
    key: &str,
    field: impl Fn(&str) -> Option<String>,
    now: time::OffsetDateTime,
) -> Result<Option<(u64, u64)>, OssError> {
    let json = STANDARD
        .decode(policy_b64.trim())
        .map_err(|_| invalid_policy("The policy is not base64."))?;
    let doc: Value =
        serde_json::from_slice(&json).map_err(|_| invalid_policy("The policy is not JSON."))?;
    let expiration = doc
        .get("expiration")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_policy("The policy has no expiration."))?;
    let expires =
        time::OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
            .map_err(|_| invalid_policy("The policy's expiration is not an ISO 8601 time."))?;
    if expires <= now {
        return Err(OssError::access_denied(
            "Invalid according to Policy: Policy expired.",
        ));
    }
    let conditions = doc
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_policy("The policy has no conditions."))?;
    let value_of = |name: &str| -> String {
        match name.to_ascii_lowercase().as_str() {
            "bucket" => bucket.to_string(),
            "key" => key.to_string(),
            n => field(n).unwrap_or_default(),
        }
    };
    let mut range = None;
    for c in conditions {
        match c {
            Value::Object(map) => {
                for (name, want) in map {
                    let want = want
                        .as_str()
                        .ok_or_else(|| invalid_policy("A condition value is not a string."))?;
                    if value_of(name) != want {
                        return Err(failed(c));
                    }
                }
            }
            Value::Array(items) => {
                if let Some(r) = array_condition(c, items, &value_of)? {
                    range = Some(r);
                }
            }
            _ => {
                return Err(invalid_policy(
                    "A condition is neither an object nor an array.",
                ))
            }
        }
    }
    Ok(range)
}

/// `["eq" | "starts-with", "$f", v]`, `["in" | "not-in", "$f", [..]]`,
/// `["content-length-range", min, max]` (returned, checked later).
fn array_condition(
    c: &Value,
    items: &[Value],
    value_of: &dyn Fn(&str) -> String,
) -> Result<Option<(u64, u64)>, OssError> {
    let op = items
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_policy("A condition has no operator."))?
        .to_ascii_lowercase();
    if op == "content-length-range" {
        let n = |i: usize| items.get(i).and_then(Value::as_u64);
        return match (n(1), n(2), items.len()) {
            (Some(min), Some(max), 3) if min <= max => Ok(Some((min, max))),
            _ => Err(invalid_policy("content-length-range wants two sizes.")),
        };
    }
    let name = items
        .get(1)
        .and_then(Value::as_str)
        .and_then(|n| n.strip_prefix('$'))
        .ok_or_else(|| invalid_policy("A condition does not name a $field."))?;
    let actual = value_of(name);
    let texts = |v: &Value| -> Result<Vec<String>, OssError> {
        v.as_array()
            .ok_or_else(|| invalid_policy("in/not-in want a list."))?
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid_policy("in/not-in want strings."))
            })
            .collect()
    };
    let want = items
        .get(2)
        .filter(|_| items.len() == 3)
        .ok_or_else(|| invalid_policy("A condition wants three items."))?;
    let holds = match op.as_str() {
        "eq" => want.as_str() == Some(actual.as_str()),
        "starts-with" => actual.starts_with(
            want.as_str()
                .ok_or_else(|| invalid_policy("starts-with wants a string."))?,
        ),
        "in" => texts(want)?.contains(&actual),
        "not-in" => !texts(want)?.contains(&actual),
        _ => return Err(invalid_policy("Unknown condition operator.")),
    };
    if !holds {
        return Err(failed(c));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(conditions: &str, expiration: &str) -> String {
        STANDARD.encode(format!(
            r#"{{"expiration":"{expiration}","conditions":{conditions}}}"#
        ))
    }

    fn run(conditions: &str, key: &str) -> Result<Option<(u64, u64)>, OssError> {
        let p = policy(conditions, "2099-01-01T00:00:00.000Z");
        let field = |n: &str| (n == "content-type").then(|| "image/png".to_string());
        check(&p, "b", key, field, time::OffsetDateTime::now_utc())
    }

    #[test]
    fn conditions() {
        assert_eq!(
            run(
                r#"[{"bucket":"b"},["starts-with","$key","u/"],["content-length-range",1,10]]"#,
                "u/x"
            )
            .unwrap(),
            Some((1, 10))
        );
        assert_eq!(
            run(r#"[["starts-with","$key","u/"]]"#, "v/x")
                .unwrap_err()
                .code,
            "AccessDenied"
        );
        assert_eq!(
            run(r#"[{"bucket":"other"}]"#, "k").unwrap_err().code,
            "AccessDenied"
        );
        assert!(run(
            r#"[["eq","$key","k"],["in","$content-type",["image/png","image/jpeg"]]]"#,
            "k"
        )
        .is_ok());
        assert!(run(r#"[["not-in","$content-type",["image/png"]]]"#, "k").is_err());
        assert_eq!(
            run(r#"[["nope","$key","k"]]"#, "k").unwrap_err().code,
            "InvalidPolicyDocument"
        );
        let old = policy("[]", "2000-01-01T00:00:00Z");
        let e = check(&old, "b", "k", |_| None, time::OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(e.code, "AccessDenied");
        assert!(e.message.contains("expired"));
    }
}
