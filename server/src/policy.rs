//! Session policy templates (`policy/*.txt`) and their scopes.
//!
//! A template is a RAM policy with two placeholders, `$BUCKET_NAME` and `$OBJECT_PREFIX`, as in
//! Alibaba's sample server. Filling it gives the `Policy` parameter of `AssumeRole`, which narrows
//! the role's permissions to one bucket and prefix. The filled policy is checked here (JSON,
//! `Version`, `Statement`, size) so a broken template stops start-up instead of failing every call.

use std::path::{Path, PathBuf};

use oss_direct_wire::policy::Policy;
use serde_json::Value;

/// The longest `Policy` parameter STS accepts, in characters (of the minified JSON we send).
pub const STS_POLICY_MAX_LEN: usize = oss_direct_wire::policy::MAX_SESSION_POLICY_LEN;

/// What a token lets the app do, asked for with `GET /?scope=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `oss:GetObject` under the prefix.
    Read,
    /// `oss:PutObject`, `oss:ListParts`, `oss:AbortMultipartUpload` under the prefix.
    Write,
    /// Both.
    ReadWrite,
}

impl Scope {
    /// Every scope, in the order the README lists them.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::ReadWrite];

    /// The name used in `?scope=` and in the config's `Scopes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::ReadWrite => "read-write",
        }
    }

    /// The template shipped in `policy/` for this scope.
    pub fn default_policy_file(self) -> &'static str {
        match self {
            Scope::Read => "policy/bucket_read_policy.txt",
            Scope::Write => "policy/bucket_write_policy.txt",
            Scope::ReadWrite => "policy/bucket_read_write_policy.txt",
        }
    }

    /// Parses `read`, `write`, `read-write` (also `readwrite`, `read_write`, `rw`).
    pub fn parse(s: &str) -> Option<Scope> {
        match s.to_ascii_lowercase().as_str() {
            "read" | "r" => Some(Scope::Read),
            "write" | "w" => Some(Scope::Write),
            "read-write" | "read_write" | "readwrite" | "rw" => Some(Scope::ReadWrite),
            _ => None,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy template as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyTemplate {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    text: String,
}

impl PolicyTemplate {
    /// Reads a template file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Ok(Self::from_text(path, text))
    }

    /// A template from text (the path is only used in messages).
    pub fn from_text(path: &Path, text: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            text: text.into(),
        }
    }

    /// Whether the template uses `$BUCKET_NAME`.
    pub fn uses_bucket(&self) -> bool {
        self.text.contains("$BUCKET_NAME")
    }

    /// Fills the placeholders and returns the minified, validated policy for `AssumeRole`.
    ///
    /// `bucket` and `prefix` must already be checked to hold no JSON-special characters
    /// (see [`check_object_prefix`]); they are pasted into JSON strings as they are.
    pub fn fill(&self, bucket: &str, prefix: &str) -> Result<String, String> {
        let filled = self
            .text
            .replace("$BUCKET_NAME", bucket)
            .replace("$OBJECT_PREFIX", prefix);
        validate_policy(&filled).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// Checks a filled policy and returns it minified.
///
/// Checks: the RAM policy grammar exactly as oss-local enforces it (`oss_direct_wire::policy`:
/// `"Version": "1"`, statements with `Effect`, `Action` or `NotAction`, `Resource` or
/// `NotResource`, `Condition`); no unfilled `$PLACEHOLDER`; at most [`STS_POLICY_MAX_LEN`]
/// characters once minified.
pub fn validate_policy(filled: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(filled).map_err(|e| format!("not valid JSON: {e}"))?;
    Policy::from_value(&value)?;
    let minified = value.to_string();
    if let Some(pos) = minified.find('$') {
        let rest: String = minified[pos..]
            .chars()
            .take_while(|c| *c == '$' || c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if rest.len() > 1 {
            return Err(format!(
                "unknown placeholder {rest} (only $BUCKET_NAME and $OBJECT_PREFIX are filled)"
            ));
        }
    }
    let len = minified.chars().count();
    if len > STS_POLICY_MAX_LEN {
        return Err(format!(
            "{len} characters once filled and minified, more than the {STS_POLICY_MAX_LEN} STS accepts for Policy"
        ));
    }
    Ok(minified)
}

/// Checks an object prefix: no leading `/`, no wildcards, nothing that would break the JSON string
/// it is pasted into.
pub fn check_object_prefix(prefix: &str) -> Result<(), String> {
    if prefix.starts_with('/') {
        return Err(format!(
            "{prefix:?} starts with '/', but OSS object names do not"
        ));
    }
    if let Some(c) = prefix
        .chars()
        .find(|c| matches!(c, '*' | '?' | '$' | '"' | '\\') || c.is_control())
    {
        return Err(format!(
            "{prefix:?} contains {c:?}, which a policy Resource cannot hold literally"
        ));
    }
    if prefix.len() > 512 {
        return Err(format!("{} bytes is too long for a prefix", prefix.len()));
    }
    Ok(())
}

/// Checks a bucket name: 3-63 characters of lower-case letters, digits and `-`, not starting or
/// ending with `-`.
pub fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{bucket:?} is not a bucket name (3-63 characters: a-z, 0-9, '-', not at either end)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(scope: Scope) -> PolicyTemplate {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(scope.default_policy_file());
        PolicyTemplate::load(&path).unwrap()
    }

    fn actions(filled: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(filled).unwrap();
        v["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn shipped_templates_are_least_privilege_on_the_prefix() {
        let write = shipped(Scope::Write)
            .fill("demo-bucket", "users/alice/")
            .unwrap();
        assert_eq!(
            actions(&write),
            ["oss:PutObject", "oss:ListParts", "oss:AbortMultipartUpload"]
        );
        assert!(write.contains(r#""acs:oss:*:*:demo-bucket/users/alice/*""#));
        let read = shipped(Scope::Read).fill("demo-bucket", "p/").unwrap();
        assert_eq!(actions(&read), ["oss:GetObject"]);
        let rw = shipped(Scope::ReadWrite).fill("demo-bucket", "p/").unwrap();
        let mut a = actions(&rw);
        a.sort();
        assert_eq!(
            a,
            [
                "oss:AbortMultipartUpload",
                "oss:GetObject",
                "oss:ListParts",
                "oss:PutObject"
            ]
        );
        for p in [&write, &read, &rw] {
            assert!(!p.contains('\n') && !p.contains(": "), "minified: {p}");
            assert!(!p.contains(r#""*""#) && !p.contains(r#""oss:*""#));
        }
    }

    #[test]
    fn the_grammar_is_oss_locals_notaction_and_conditions_included() {
        // Refused here before the shared grammar: a template oss-local (and RAM) accept.
        let p = r#"{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"oss:DeleteObject","Resource":"acs:oss:*:*:b/u/*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}"#;
        let min = validate_policy(p).unwrap();
        assert!(oss_direct_wire::policy::Policy::parse(&min).is_ok());
    }

    #[test]
    fn bad_policies_are_refused_with_the_reason() {
        let cases = [
            ("{", "not valid JSON"),
            ("[]", "must be a JSON object"),
            (r#"{"Statement":[]}"#, "Version must be"),
            (r#"{"Version":"2","Statement":[]}"#, "Version must be"),
            (r#"{"Version":"1"}"#, "Statement must be"),
            (r#"{"Version":"1","Statement":[]}"#, "must not be empty"),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Maybe","Action":"oss:a","Resource":"r"}]}"#,
                "Effect",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":[],"Resource":"r"}]}"#,
                "Action must be",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"PutObject","Resource":"r"}]}"#,
                "not service:Action",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:a"}]}"#,
                "needs Effect, Action and Resource",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:a","Resource":"$BUCKET/x"}]}"#,
                "unknown placeholder $BUCKET",
            ),
        ];
        for (policy, want) in cases {
            let err = validate_policy(policy).unwrap_err();
            assert!(err.contains(want), "{policy}: {err}");
        }
    }

    #[test]
    fn size_limit_counts_the_minified_policy() {
        let long = "x".repeat(STS_POLICY_MAX_LEN);
        let p = format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:b/{long}"}}]}}"#
        );
        assert!(validate_policy(&p).unwrap_err().contains("2048"));
        // Whitespace in the template does not count.
        let padded = format!(
            "{{\n{}\"Version\": \"1\", \"Statement\": [{{\"Effect\": \"Allow\", \"Action\": \"oss:a\", \"Resource\": \"r\"}}]}}",
            " ".repeat(4000)
        );
        assert!(validate_policy(&padded).is_ok());
    }

    #[test]
    fn prefixes_and_buckets_are_checked() {
        assert!(check_object_prefix("users/alice/").is_ok());
        assert!(check_object_prefix("").is_ok());
        for bad in ["/abs", "a*", "q\"", "b\\", "$X", "new\nline"] {
            assert!(check_object_prefix(bad).is_err(), "{bad}");
        }
        assert!(check_bucket_name("demo-bucket").is_ok());
        for bad in ["ab", "Demo", "-x-", "a_b", &"a".repeat(64)] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("rw"), Some(Scope::ReadWrite));
        assert_eq!(Scope::parse("admin"), None);
    }
}
