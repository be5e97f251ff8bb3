//! RAM policy documents: grammar check and evaluation (Allow/Deny, `*`/`?` wildcards).
//!
//! Effective permission of a session = role policy AND session policy; in each, an explicit
//! Deny wins over any Allow, and no matching Allow means denied.

use crate::condition::Conditions;
pub use crate::condition::Context;
use serde_json::Value;

/// The longest `Policy` that `AssumeRole` accepts, in characters.
pub const MAX_SESSION_POLICY_LEN: usize = 2048;

/// A parsed policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    not_action: bool,
    resources: Vec<String>,
    not_resource: bool,
    /// Tested against the request context. An operator this stand-in does not evaluate makes
    /// an Allow not match and a Deny match, so a policy is never more permissive here than on
    /// the real service.
    conditions: Conditions,
}

/// Result of evaluating one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows and none denies.
    Allow,
    /// A Deny statement matched.
    ExplicitDeny,
    /// Nothing matched.
    ImplicitDeny,
}

impl Policy {
    /// Parses and checks the grammar of a policy document.
    pub fn parse(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        Self::from_value(&v)
    }

    /// Checks the grammar of a policy given as JSON.
    pub fn from_value(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("policy must be a JSON object")?;
        for k in obj.keys() {
            if k != "Version" && k != "Statement" {
                return Err(format!("unknown policy element {k:?}"));
            }
        }
        match obj.get("Version") {
            Some(Value::String(s)) if s == "1" => {}
            _ => return Err("Version must be \"1\"".into()),
        }
        let stmts = match obj.get("Statement") {
            Some(Value::Array(a)) if a.is_empty() => {
                return Err("Statement must not be empty".into())
            }
            Some(Value::Array(a)) => a.clone(),
            Some(o @ Value::Object(_)) => vec![o.clone()],
            _ => return Err("Statement must be an array".into()),
        };
        let mut statements = Vec::new();
        for s in &stmts {
            let s = s.as_object().ok_or("a Statement must be an object")?;
            let mut st = Statement {
                allow: false,
                actions: Vec::new(),
                not_action: false,
                resources: Vec::new(),
                not_resource: false,
                conditions: Conditions::default(),
            };
            let mut saw_action = false;
            let mut saw_resource = false;
            for (k, val) in s {
                match k.as_str() {
                    "Effect" => match val.as_str() {
                        Some("Allow") => st.allow = true,
                        Some("Deny") => st.allow = false,
                        _ => return Err("Effect must be Allow or Deny".into()),
                    },
                    "Action" | "NotAction" => {
                        if saw_action {
                            return Err("Action and NotAction are exclusive".into());
                        }
                        saw_action = true;
                        st.not_action = k == "NotAction";
                        st.actions = string_list(val, k)?;
                        for a in &st.actions {
                            if a != "*" && !a.contains(':') {
                                return Err(format!("action {a:?} is not service:Action"));
                            }
                        }
                    }
                    "Resource" | "NotResource" => {
                        if saw_resource {
                            return Err("Resource and NotResource are exclusive".into());
                        }
                        saw_resource = true;
                        st.not_resource = k == "NotResource";
                        st.resources = string_list(val, k)?;
                    }
                    "Condition" => {
                        st.conditions = Conditions::parse(val)?;
                    }
                    "Principal" | "Sid" => {}
                    other => return Err(format!("unknown statement element {other:?}")),
                }
            }
            if !s.contains_key("Effect") || !saw_action || !saw_resource {
                return Err("a Statement needs Effect, Action and Resource".into());
            }
            statements.push(st);
        }
        Ok(Self { statements })
    }

    /// Evaluates `action` (e.g. `oss:PutObject`) on `resource` (e.g.
    /// `acs:oss:cn-hangzhou:1000:bucket/key`) with an empty request context.
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        self.evaluate_in(action, resource, &Context::default())
    }

    /// Evaluates with the request's context keys for `Condition` blocks.
    pub fn evaluate_in(&self, action: &str, resource: &str, ctx: &Context) -> Decision {
        let mut allowed = false;
        for s in &self.statements {
            let action_hit = s
                .actions
                .iter()
                .any(|p| wildcard_match(&p.to_ascii_lowercase(), &action.to_ascii_lowercase()));
            let resource_hit = s.resources.iter().any(|p| wildcard_match(p, resource));
            let hit = (action_hit != s.not_action) && (resource_hit != s.not_resource);
            if !hit {
                continue;
            }
            let holds = if s.conditions.is_empty() {
                Some(true)
            } else {
                s.conditions.holds(ctx)
            };
            if !s.allow {
                if holds != Some(false) {
                    return Decision::ExplicitDeny;
                }
            } else if holds == Some(true) {
                allowed = true;
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

fn string_list(v: &Value, name: &str) -> Result<Vec<String>, String> {
    let list = match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(format!("{name} must hold strings"))?,
        _ => return Err(format!("{name} must be a string or a non-empty array")),
    };
    if list.iter().any(|s| s.is_empty()) {
        return Err(format!("{name} has an empty entry"));
    }
    Ok(list)
}

/// Glob match where `*` is any run of characters and `?` one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // A '*' in the pattern is always a wildcard, even facing a literal '*' in the text
        // (matching it literally first let "a*b" escape a Deny on "a*": found by fuzzing).
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// True when every policy in `layers` allows (the intersection of role and session policies).
pub fn allowed_by_all(layers: &[&Policy], action: &str, resource: &str) -> bool {
    allowed_by_all_in(layers, action, resource, &Context::default())
}

/// [`allowed_by_all`] with the request's context keys.
pub fn allowed_by_all_in(layers: &[&Policy], action: &str, resource: &str, ctx: &Context) -> bool {
    !layers.is_empty()
        && layers
            .iter()
            .all(|p| p.evaluate_in(action, resource, ctx) == Decision::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(s: &str) -> Policy {
        Policy::parse(s).unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            "acs:oss:*:*:b/up/*",
            "acs:oss:cn:1:b/up/x/y"
        ));
        assert!(!wildcard_match(
            "acs:oss:*:*:b/up/*",
            "acs:oss:cn:1:b/other"
        ));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("oss:Get*", "oss:GetObject"));
        // A literal '*' in the text is still covered by a wildcard (fuzz regression).
        assert!(wildcard_match("b/private*", "b/private*x"));
        assert!(wildcard_match("b/*", "b/*"));
        assert!(wildcard_match("*a", "*a"));
        assert!(!wildcard_match("b/private", "b/private*x"));
    }

    #[test]
    fn deny_wins_and_intersection() {
        let role = pol(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:b/*"}]}"#,
        );
        let session = pol(r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":["acs:oss:*:*:b/u/*"]},
            {"Effect":"Deny","Action":"oss:GetObject","Resource":"acs:oss:*:*:b/u/secret*"}]}"#);
        let r = |k: &str| format!("acs:oss:cn-hangzhou:1:b/{k}");
        assert!(allowed_by_all(
            &[&role, &session],
            "oss:PutObject",
            &r("u/a")
        ));
        assert!(!allowed_by_all(
            &[&role, &session],
            "oss:PutObject",
            &r("x/a")
        ));
        assert!(!allowed_by_all(
            &[&role, &session],
            "oss:DeleteObject",
            &r("u/a")
        ));
        assert!(!allowed_by_all(
            &[&role, &session],
            "oss:GetObject",
            &r("u/secret1")
        ));
        assert_eq!(
            session.evaluate("oss:GetObject", &r("u/secret1")),
            Decision::ExplicitDeny
        );
        assert!(allowed_by_all(&[&role], "oss:DeleteObject", &r("x")));
        assert!(!allowed_by_all(&[], "oss:DeleteObject", &r("x")));
    }

    #[test]
    fn grammar() {
        assert!(Policy::parse("{}").is_err());
        assert!(Policy::parse(r#"{"Version":"2","Statement":[]}"#).is_err());
        assert!(Policy::parse(
            r#"{"Version":"1","Statement":[{"Effect":"Maybe","Action":"oss:*","Resource":"*"}]}"#
        )
        .is_err());
        assert!(Policy::parse(r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"PutObject","Resource":"*"}]}"#).is_err());
        assert!(Policy::parse(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*"}]}"#
        )
        .is_err());
        assert!(Policy::parse("not json").is_err());
        let p = pol(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"1.2.3.4"}}}]}"#,
        );
        assert_eq!(p.evaluate("oss:GetObject", "x"), Decision::ImplicitDeny);
    }
}
