//! Per-client rate limiting (GCRA through `governor`), answered with 429 JSON.
//!
//! A client is the authenticated user when the request carries a valid bearer token, else its IP
//! address (from the socket, or from `X-Forwarded-For` when the config trusts a proxy). Failed
//! logins therefore count against the address, so guessing tokens is throttled too.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitConfig;
use crate::error::AppError;

/// Above this many tracked clients, idle ones are forgotten on the next check.
const SHRINK_ABOVE: usize = 10_000;

/// The limiter, shared by all requests.
pub struct ClientRateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for ClientRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRateLimit")
            .field("clients", &self.limiter.len())
            .finish()
    }
}

impl ClientRateLimit {
    /// A limiter allowing `requests_per_minute` per client with bursts of `burst`.
    pub fn new(config: RateLimitConfig) -> Self {
        let per_minute = NonZeroU32::new(config.requests_per_minute.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(config.burst.max(1)).expect("at least 1");
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// Counts one request for `client`; a 429 error when it is over its quota.
    pub fn check(&self, client: &str) -> Result<(), AppError> {
        if self.limiter.len() > SHRINK_ABOVE {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&client.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                AppError::throttled(wait.as_secs_f64().ceil() as u64)
            })
    }
}

/// Refusals counted per client: a client whose refused requests exceed the quota is turned
/// away before any work is done for it, until the quota allows again. Requests that succeed
/// cost nothing, so a busy legitimate sender (OSS posting callbacks for many uploads from a few
/// addresses) is never slowed, while one that keeps sending forged or broken requests is.
pub struct RefusalLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    blocked: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for RefusalLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusalLimit").finish_non_exhaustive()
    }
}

impl RefusalLimit {
    /// Allows `requests_per_minute` refusals per client, with bursts of `burst`.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            limiter: ClientRateLimit::new(config).limiter,
            blocked: Mutex::default(),
        }
    }

    /// A 429 when `client` is over its refusal quota.
    pub fn check(&self, client: &str) -> Result<(), AppError> {
        let now = Instant::now();
        match self.blocked.lock().unwrap().get(client) {
            Some(until) if *until > now => Err(AppError::throttled(
                (*until - now).as_secs_f64().ceil() as u64,
            )),
            _ => Ok(()),
        }
    }

    /// Counts one refusal for `client`.
    pub fn refused(&self, client: &str) {
        let Err(not_until) = self.limiter.check_key(&client.to_string()) else {
            return;
        };
        let wait = not_until.wait_time_from(self.limiter.clock().now());
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap();
        if blocked.len() > SHRINK_ABOVE {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(client.to_string(), now + wait.max(Duration::from_secs(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_over_the_quota_turn_the_client_away() {
        let rl = RefusalLimit::new(RateLimitConfig {
            requests_per_minute: 1,
            burst: 2,
        });
        for _ in 0..2 {
            rl.refused("1.2.3.4");
            assert!(rl.check("1.2.3.4").is_ok(), "within the burst");
        }
        rl.refused("1.2.3.4");
        let e = rl.check("1.2.3.4").unwrap_err();
        assert_eq!(e.status, http::StatusCode::TOO_MANY_REQUESTS);
        assert!(
            rl.check("5.6.7.8").is_ok(),
            "another client is not affected"
        );
    }

    #[test]
    fn burst_then_429_per_client() {
        let rl = ClientRateLimit::new(RateLimitConfig {
            requests_per_minute: 1,
            burst: 2,
        });
        assert!(rl.check("ip:1.2.3.4").is_ok());
        assert!(rl.check("ip:1.2.3.4").is_ok());
        let e = rl.check("ip:1.2.3.4").unwrap_err();
        assert_eq!(e.status, http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code, "Throttling");
        // One request per minute: the next one is allowed within a minute.
        assert!((1..=60).contains(&e.retry_after.unwrap()));
        // Another client is not affected.
        assert!(rl.check("user:bob").is_ok());
    }
}
