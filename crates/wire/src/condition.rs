//! `Condition` blocks of RAM policies: the string, IP and Bool operators on the request's
//! context keys (`acs:SourceIp`, `acs:SecureTransport`, `oss:Prefix`, `oss:Delimiter`, ...).

use crate::policy::wildcard_match;
use serde_json::Value;
use std::net::IpAddr;

/// What a request offers to conditions: key (lower case) and value.
#[derive(Debug, Clone, Default)]
pub struct Context {
    values: Vec<(String, String)>,
}

impl Context {
    /// Adds a context key such as `acs:SourceIp`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values.push((key.to_ascii_lowercase(), value.into()));
        self
    }

    fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_ascii_lowercase();
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One `Operator: {key: values}` test.
#[derive(Debug, Clone)]
struct Test {
    op: String,
    key: String,
    values: Vec<String>,
}

/// All tests of one statement's `Condition` (they must all hold).
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions(Vec<Test>);

impl Conditions {
    pub fn parse(v: &Value) -> Result<Self, String> {
        let ops = v.as_object().ok_or("Condition must be an object")?;
        let mut tests = Vec::new();
        for (op, keys) in ops {
            let keys = keys
                .as_object()
                .ok_or(format!("Condition operator {op} must map keys to values"))?;
            for (key, vals) in keys {
                let values = match vals {
                    Value::Array(a) => a.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
                    other => vec![scalar(other)?],
                };
                tests.push(Test {
                    op: op.clone(),
                    key: key.clone(),
                    values,
                });
            }
        }
        Ok(Self(tests))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Some(true)` when every test holds, `Some(false)` when one fails, `None` when one uses an
    /// operator this stand-in does not evaluate.
    pub fn holds(&self, ctx: &Context) -> Option<bool> {
        let mut all = true;
        for t in &self.0 {
            all &= t.holds(ctx)?;
        }
        Some(all)
    }
}

fn scalar(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("Condition values must be strings, numbers or booleans".into()),
    }
}

fn in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap_or((cidr, ""));
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits: u32 = bits.parse().unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits: u32 = bits.parse().unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Test {
    fn holds(&self, ctx: &Context) -> Option<bool> {
        let value = ctx.get(&self.key);
        let any = |f: &dyn Fn(&str, &str) -> bool| {
            value.is_some_and(|v| self.values.iter().any(|p| f(p, v)))
        };
        Some(match self.op.as_str() {
            "StringEquals" => any(&|p, v| p == v),
            "StringNotEquals" => !any(&|p, v| p == v),
            "StringEqualsIgnoreCase" => any(&|p, v| p.eq_ignore_ascii_case(v)),
            "StringNotEqualsIgnoreCase" => !any(&|p, v| p.eq_ignore_ascii_case(v)),
            "StringLike" => any(&|p, v| wildcard_match(p, v)),
            "StringNotLike" => !any(&|p, v| wildcard_match(p, v)),
            "Bool" => any(&|p, v| p.eq_ignore_ascii_case(v)),
            "IpAddress" | "NotIpAddress" => {
                let ip = value.and_then(|v| v.parse::<IpAddr>().ok());
                let hit = ip.is_some_and(|ip| self.values.iter().any(|c| in_cidr(ip, c)));
                hit == (self.op == "IpAddress")
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(v: Value) -> Conditions {
        Conditions::parse(&v).unwrap()
    }

    #[test]
    fn operators() {
        let ctx = Context::default()
            .with("acs:SourceIp", "127.0.0.1")
            .with("oss:Prefix", "uploads/a");
        let c = cond(serde_json::json!({"StringLike": {"oss:Prefix": ["uploads/*", "x"]}}));
        assert_eq!(c.holds(&ctx), Some(true));
        let c = cond(serde_json::json!({"StringEquals": {"oss:Prefix": "uploads/"}}));
        assert_eq!(c.holds(&ctx), Some(false));
        let c = cond(serde_json::json!({"StringNotEquals": {"oss:Delimiter": "/"}}));
        assert_eq!(c.holds(&ctx), Some(true), "absent key: not-equal holds");
        let c = cond(serde_json::json!({"IpAddress": {"acs:SourceIp": "127.0.0.0/8"}}));
        assert_eq!(c.holds(&ctx), Some(true));
        let c = cond(serde_json::json!({"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}));
        assert_eq!(c.holds(&ctx), Some(true));
        let c = cond(serde_json::json!({"IpAddress": {"acs:SourceIp": "10.0.0.1"}}));
        assert_eq!(c.holds(&ctx), Some(false));
        let c =
            cond(serde_json::json!({"DateLessThan": {"acs:CurrentTime": "2030-01-01T00:00:00Z"}}));
        assert_eq!(c.holds(&ctx), None);
        assert!(Conditions::parse(&serde_json::json!({"StringLike": "x"})).is_err());
    }
}
