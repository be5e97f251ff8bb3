//! Token reuse: one STS call per (user, scope) until shortly before the credentials expire.
//!
//! STS throttles `AssumeRole` per account, and a burst of app launches all asking for the same
//! user's token should cost one call. Each key has its own async lock, held across the STS call, so
//! concurrent requests for the same key wait for the first one's answer (single flight) while
//! other keys proceed. Failures are not cached: the next request tries STS again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex as AsyncMutex;

use crate::policy::Scope;
use crate::sts::{StsCredentials, StsError};

/// A cached token is handed out only while it has at least this long left to live, so an app
/// that refreshes 5 minutes early (as the Alibaba SDKs do) never gets one it must refresh at once.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// Above this many keys, entries whose token has expired are dropped on the next insert.
const PRUNE_ABOVE: usize = 1024;

/// Who a token is for and what it allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The authenticated subject, or `None` for anonymous callers.
    pub user: Option<String>,
    /// The scope asked for, or `None` for the default `PolicyFile`.
    pub scope: Option<Scope>,
}

/// Whether an answer came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Served from the cache.
    Hit,
    /// Fetched from STS (and cached if it lives long enough).
    Miss,
    /// The cache is turned off.
    Disabled,
}

impl CacheOutcome {
    /// `hit`, `miss` or `off`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::Hit => "hit",
            CacheOutcome::Miss => "miss",
            CacheOutcome::Disabled => "off",
        }
    }
}

type Slot = Arc<AsyncMutex<Option<StsCredentials>>>;

/// The token cache.
#[derive(Debug, Default)]
pub struct TokenCache {
    enabled: bool,
    slots: Mutex<HashMap<CacheKey, Slot>>,
}

impl TokenCache {
    /// A cache; `enabled = false` makes every request call STS.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cached credentials for `key` if they still have [`REFRESH_MARGIN`] to live at `now()`,
    /// else the result of `fetch`, which is cached when it lives that long.
    pub async fn get_or_fetch<F, Fut>(
        &self,
        key: CacheKey,
        now: impl Fn() -> OffsetDateTime,
        fetch: F,
    ) -> Result<(StsCredentials, CacheOutcome), StsError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<StsCredentials, StsError>>,
    {
        if !self.enabled {
            return fetch().await.map(|c| (c, CacheOutcome::Disabled));
        }
        let slot = self.slot(key, &now);
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref() {
            if fresh(c, now()) {
                return Ok((c.clone(), CacheOutcome::Hit));
            }
        }
        *cached = None;
        let creds = fetch().await?;
        if fresh(&creds, now()) {
            *cached = Some(creds.clone());
        }
        Ok((creds, CacheOutcome::Miss))
    }

    /// How many (user, scope) keys are held.
    pub fn len(&self) -> usize {
        self.slots.lock().expect("cache lock").len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slot(&self, key: CacheKey, now: &impl Fn() -> OffsetDateTime) -> Slot {
        let mut slots = self.slots.lock().expect("cache lock");
        if let Some(slot) = slots.get(&key) {
            return slot.clone();
        }
        if slots.len() >= PRUNE_ABOVE {
            let t = now();
            // Keep slots in use (someone holds the Arc or the lock) and slots still fresh.
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .map(|c| c.as_ref().is_some_and(|c| fresh(c, t)))
                        .unwrap_or(true)
            });
        }
        slots.entry(key).or_default().clone()
    }
}

fn fresh(c: &StsCredentials, now: OffsetDateTime) -> bool {
    c.expires_at - now >= REFRESH_MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn creds(n: usize, expires_at: OffsetDateTime) -> StsCredentials {
        StsCredentials {
            access_key_id: format!("STS.{n}"),
            access_key_secret: "s".into(),
            security_token: "t".into(),
            expiration: String::new(),
            expires_at,
        }
    }

    fn key(user: &str, scope: Option<Scope>) -> CacheKey {
        CacheKey {
            user: Some(user.into()),
            scope,
        }
    }

    const T0: i64 = 1_767_225_600;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(T0 + secs).unwrap()
    }

    #[tokio::test]
    async fn reuses_until_the_refresh_margin_then_refetches() {
        let cache = TokenCache::new(true);
        let calls = AtomicUsize::new(0);
        let fetch = |now: i64| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok(creds(n, at(now + 900))) }
        };
        let (a, o) = cache
            .get_or_fetch(key("u", None), || at(0), || fetch(0))
            .await
            .unwrap();
        assert_eq!(o, CacheOutcome::Miss);
        // 600 s later exactly 300 s are left: still served.
        let (b, o) = cache
            .get_or_fetch(key("u", None), || at(600), || fetch(600))
            .await
            .unwrap();
        assert_eq!((o, &b.access_key_id), (CacheOutcome::Hit, &a.access_key_id));
        // One second later less than the margin is left: a new token.
        let (c, o) = cache
            .get_or_fetch(key("u", None), || at(601), || fetch(601))
            .await
            .unwrap();
        assert_eq!(o, CacheOutcome::Miss);
        assert_ne!(c.access_key_id, a.access_key_id);
        assert!(c.expires_at - at(601) >= REFRESH_MARGIN);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn keys_are_separate_per_user_and_scope() {
        let cache = TokenCache::new(true);
        let calls = AtomicUsize::new(0);
        for k in [
            key("a", None),
            key("b", None),
            key("a", Some(Scope::Read)),
            key("a", Some(Scope::Write)),
            CacheKey {
                user: None,
                scope: None,
            },
        ] {
            let (_, o) = cache
                .get_or_fetch(
                    k,
                    || at(0),
                    || async { Ok(creds(calls.fetch_add(1, Ordering::SeqCst), at(900))) },
                )
                .await
                .unwrap();
            assert_eq!(o, CacheOutcome::Miss);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        assert_eq!(cache.len(), 5);
    }

    #[tokio::test]
    async fn a_burst_makes_one_call() {
        let cache = Arc::new(TokenCache::new(true));
        let calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, calls, gate) = (cache.clone(), calls.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(
                        key("u", None),
                        || at(0),
                        || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            // Hold the flight open until every task has queued behind it.
                            gate.notified().await;
                            Ok(creds(0, at(900)))
                        },
                    )
                    .await
                    .unwrap()
            }));
        }
        // Let all tasks reach the lock, then release the one fetch.
        while Arc::strong_count(&cache.slot(key("u", None), &|| at(0))) < 22 {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        let mut hits = 0;
        for t in tasks {
            let (c, o) = t.await.unwrap();
            assert_eq!(c.access_key_id, "STS.0");
            hits += usize::from(o == CacheOutcome::Hit);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(hits, 19);
    }

    #[tokio::test]
    async fn errors_and_short_lived_tokens_are_not_cached() {
        let cache = TokenCache::new(true);
        let err = cache
            .get_or_fetch(
                key("u", None),
                || at(0),
                || async {
                    Err(StsError::Unreachable {
                        endpoint: "e".into(),
                        reason: "r".into(),
                    })
                },
            )
            .await;
        assert!(err.is_err());
        // A token with less than the margin left is handed out once (it is fresh from STS) but
        // not kept.
        let (_, o) = cache
            .get_or_fetch(key("u", None), || at(0), || async { Ok(creds(1, at(200))) })
            .await
            .unwrap();
        assert_eq!(o, CacheOutcome::Miss);
        let (c, o) = cache
            .get_or_fetch(key("u", None), || at(0), || async { Ok(creds(2, at(900))) })
            .await
            .unwrap();
        assert_eq!((o, c.access_key_id.as_str()), (CacheOutcome::Miss, "STS.2"));
    }

    #[tokio::test]
    async fn disabled_cache_always_fetches() {
        let cache = TokenCache::new(false);
        for n in 0..3 {
            let (c, o) = cache
                .get_or_fetch(
                    key("u", None),
                    || at(0),
                    || async move { Ok(creds(n, at(900))) },
                )
                .await
                .unwrap();
            assert_eq!(
                (o, c.access_key_id),
                (CacheOutcome::Disabled, format!("STS.{n}"))
            );
        }
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn expired_entries_are_pruned_when_the_map_is_large() {
        let cache = TokenCache::new(true);
        for i in 0..PRUNE_ABOVE {
            cache
                .get_or_fetch(
                    key(&format!("u{i}"), None),
                    || at(0),
                    || async { Ok(creds(0, at(900))) },
                )
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), PRUNE_ABOVE);
        // An hour later all of them are stale: adding one more key drops them.
        cache
            .get_or_fetch(
                key("new", None),
                || at(3600),
                || async { Ok(creds(1, at(4500))) },
            )
            .await
            .unwrap();
        assert_eq!(cache.len(), 1);
    }
}
