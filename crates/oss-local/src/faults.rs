//! Fault injection for tests: failed requests, cut connections, latency, short token lifetimes.
//!
//! Driven from Rust through [`Running::faults`](crate::Running::faults) or over HTTP on the OSS
//! port (`POST /-/faults` with a [`FaultSpec`] JSON body, `GET` to read, `DELETE` to clear), which
//! answers loopback peers only.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// One fault to arm, as the admin route takes it (`"action"` names the variant).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FaultSpec {
    /// Fail the next `count` requests whose operation matches with `status` and OSS error `code`.
    Fail {
        /// Operation name (`PutObject`, `UploadPart`, `AssumeRole`, ...) or `*`.
        operation: String,
        /// How many requests to fail.
        count: u32,
        /// HTTP status to answer.
        status: u16,
        /// OSS error code in the XML body (or STS `Code`).
        code: String,
    },
    /// Drop the connection after `after_bytes` bytes of the request body (of the response body
    /// for GetObject), for the next `count` matching requests.
    Cut {
        /// Operation name or `*`.
        operation: String,
        /// Body bytes to read before dropping the connection.
        after_bytes: u64,
        /// How many requests to cut.
        count: u32,
    },
    /// Delay the next `count` matching requests (all of them when `count` is absent).
    Latency {
        /// Operation name or `*`.
        operation: String,
        /// Delay in milliseconds.
        millis: u64,
        /// How many requests to delay.
        #[serde(default)]
        count: Option<u32>,
    },
    /// Issue tokens valid for `seconds` whatever `DurationSeconds` says (`null` to reset).
    TokenLifetime {
        /// Lifetime in seconds.
        seconds: Option<u64>,
    },
    /// Remove every armed fault.
    Clear,
}

/// What to do to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Planned {
    pub fail: Option<(u16, String)>,
    pub cut_after: Option<u64>,
    pub delay: Option<Duration>,
}

/// The armed faults of a running server.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

#[derive(Debug, Default, Clone, Serialize)]
struct State {
    rules: Vec<FaultSpec>,
    token_lifetime: Option<u64>,
}

fn matches(pattern: &str, operation: &str) -> bool {
    pattern == "*" || pattern.eq_ignore_ascii_case(operation)
}

impl Faults {
    /// Arms a fault described by a [`FaultSpec`].
    pub fn apply(&self, spec: FaultSpec) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match spec {
            FaultSpec::Clear => *s = State::default(),
            FaultSpec::TokenLifetime { seconds } => s.token_lifetime = seconds,
            other => s.rules.push(other),
        }
    }

    /// Fails the next `count` requests of `operation` with `status` and `code`.
    pub fn fail_next(&self, operation: &str, count: u32, status: u16, code: &str) {
        self.apply(FaultSpec::Fail {
            operation: operation.into(),
            count,
            status,
            code: code.into(),
        });
    }

    /// Drops the connection of the next `count` requests of `operation` after `after_bytes`
    /// body bytes.
    pub fn cut_after(&self, operation: &str, after_bytes: u64, count: u32) {
        self.apply(FaultSpec::Cut {
            operation: operation.into(),
            after_bytes,
            count,
        });
    }

    /// Delays requests of `operation` (the next `count`, or all when `None`).
    pub fn add_latency(&self, operation: &str, delay: Duration, count: Option<u32>) {
        self.apply(FaultSpec::Latency {
            operation: operation.into(),
            millis: delay.as_millis() as u64,
            count,
        });
    }

    /// Issues tokens valid for `lifetime` regardless of `DurationSeconds` (`None` resets).
    pub fn set_token_lifetime(&self, lifetime: Option<Duration>) {
        self.apply(FaultSpec::TokenLifetime {
            seconds: lifetime.map(|d| d.as_secs().max(1)),
        });
    }

    /// Removes every armed fault.
    pub fn clear(&self) {
        self.apply(FaultSpec::Clear);
    }

    /// The token lifetime override, if any.
    pub fn token_lifetime(&self) -> Option<Duration> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.token_lifetime.map(Duration::from_secs)
    }

    /// The armed faults as JSON (for `GET /-/faults`).
    pub fn snapshot(&self) -> serde_json::Value {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::to_value(&*s).unwrap_or_default()
    }

    /// Takes what applies to one request of `operation`, counting it down.
    pub(crate) fn plan(&self, operation: &str) -> Planned {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut planned = Planned::default();
        for rule in s.rules.iter_mut() {
            match rule {
                FaultSpec::Fail {
                    operation: op,
                    count,
                    status,
                    code,
                } if planned.fail.is_none() && *count > 0 && matches(op, operation) => {
                    *count -= 1;
                    planned.fail = Some((*status, code.clone()));
                }
                FaultSpec::Cut {
                    operation: op,
                    after_bytes,
                    count,
                } if planned.cut_after.is_none() && *count > 0 && matches(op, operation) => {
                    *count -= 1;
                    planned.cut_after = Some(*after_bytes);
                }
                FaultSpec::Latency {
                    operation: op,
                    millis,
                    count,
                } if planned.delay.is_none()
                    && !matches!(count, Some(0))
                    && matches(op, operation) =>
                {
                    if let Some(c) = count {
                        *c -= 1;
                    }
                    planned.delay = Some(Duration::from_millis(*millis));
                }
                _ => {}
            }
        }
        s.rules.retain(|r| match r {
            FaultSpec::Fail { count, .. } | FaultSpec::Cut { count, .. } => *count > 0,
            FaultSpec::Latency { count, .. } => !matches!(count, Some(0)),
            _ => true,
        });
        planned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_matches_operation() {
        let f = Faults::default();
        f.fail_next("UploadPart", 2, 503, "ServiceUnavailable");
        f.cut_after("*", 10, 1);
        assert_eq!(f.plan("PutObject").fail, None);
        assert_eq!(f.plan("PutObject").cut_after, None, "cut already used");
        let p = f.plan("uploadpart");
        assert_eq!(p.fail, Some((503, "ServiceUnavailable".into())));
        assert!(f.plan("UploadPart").fail.is_some());
        assert!(f.plan("UploadPart").fail.is_none());
        f.add_latency("GetObject", Duration::from_millis(5), None);
        assert_eq!(f.plan("GetObject").delay, Some(Duration::from_millis(5)));
        assert_eq!(f.plan("GetObject").delay, Some(Duration::from_millis(5)));
        f.set_token_lifetime(Some(Duration::from_secs(5)));
        assert_eq!(f.token_lifetime(), Some(Duration::from_secs(5)));
        f.clear();
        assert_eq!(f.plan("GetObject"), Planned::default());
        assert_eq!(f.token_lifetime(), None);
    }

    #[test]
    fn spec_json() {
        let s: FaultSpec = serde_json::from_str(
            r#"{"action":"fail","operation":"UploadPart","count":1,"status":500,"code":"InternalError"}"#,
        )
        .unwrap();
        assert!(matches!(s, FaultSpec::Fail { count: 1, .. }));
        let s: FaultSpec =
            serde_json::from_str(r#"{"action":"token_lifetime","seconds":5}"#).unwrap();
        assert_eq!(s, FaultSpec::TokenLifetime { seconds: Some(5) });
    }
}
