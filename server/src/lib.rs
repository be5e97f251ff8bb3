//! The app token server: hands apps short-lived STS credentials scoped by a policy template.
//!
//! A drop-in for Alibaba's `app-token-server.jar`: read `config.json`, fill a policy template
//! (`$BUCKET_NAME`, `$OBJECT_PREFIX`), call STS `AssumeRole`, answer the token JSON. Beyond the
//! sample it authenticates callers (JWT, one prefix per user), rate-limits them, caches tokens per
//! (user, scope), and never logs a secret. See `server/README.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = app_token_server::Config::load("config.json")?;
//! let router = app_token_server::app(app_token_server::AppState::new(config));
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:7080").await?;
//! axum::serve(
//!     listener,
//!     router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
//! )
//! .await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod auth;
mod cache;
pub mod callback;
mod caller;
mod config;
pub mod confirm;
pub mod db;
mod error;
mod policy;
mod ratelimit;
mod request_log;
mod routes;
mod sts;
pub mod ticket;
mod uploads;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use time::OffsetDateTime;

pub use auth::{check_subject, JwtVerifier, MAX_SUBJECT_LEN};
pub use cache::{CacheKey, CacheOutcome, TokenCache, REFRESH_MARGIN};
pub use config::{
    check_role_session_name, user_prefix, Config, ConfigError, RateLimitConfig,
    DEFAULT_SQLITE_FILE, ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_DATABASE_URL,
    ENV_JWT_HS256_SECRET, MAX_TOKEN_EXPIRE_SECONDS, MIN_TOKEN_EXPIRE_SECONDS,
};
pub use error::AppError;
pub use policy::{
    check_bucket_name, check_object_prefix, validate_policy, PolicyTemplate, Scope,
    STS_POLICY_MAX_LEN,
};
pub use ratelimit::{ClientRateLimit, RefusalLimit};
pub use request_log::REQUEST_ID_HEADER;
pub use sts::{
    sts_timestamp, AccessKey, AssumeRoleRequest, StsClient, StsCredentials, StsError,
    DEFAULT_STS_ENDPOINT,
};

/// The time source the token cache judges expiry by (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Everything a request needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    sts: StsClient,
    cache: TokenCache,
    rate_limit: Option<ClientRateLimit>,
    clock: Clock,
    /// The uploads database, when `Callback` or `DatabaseUrl` is configured (or why it cannot
    /// be used).
    uploads: Option<Result<db::UploadStore, String>>,
    /// Callback public keys fetched so far.
    keys: callback::PublicKeys,
    /// Signs and checks the callback tickets handed out with tokens.
    tickets: ticket::TicketKey,
    /// Refused callbacks per peer (when rate limiting is on).
    callback_refusals: Option<RefusalLimit>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for a loaded configuration, with the system clock.
    pub fn new(config: Config) -> Self {
        Self::with_clock(config, Arc::new(OffsetDateTime::now_utc))
    }

    /// State for a loaded configuration, with the uploads database (if any) connected and its
    /// table created, so that a database that cannot be used stops start-up.
    pub async fn open(config: Config) -> Result<Self, ConfigError> {
        let state = Self::new(config);
        if let Some(store) = &state.inner.uploads {
            let config = &state.inner.config;
            let url = config
                .database_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default();
            let fail = |e: &str| ConfigError {
                file: config.file.clone(),
                key: Some("DatabaseUrl".into()),
                problem: format!("cannot use {url}: {e}"),
            };
            match store {
                Ok(store) => {
                    store.check_connection().await.map_err(|e| fail(&e))?;
                    store.init().await.map_err(|e| fail(&e))?;
                }
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(state)
    }

    /// State with a given clock for the token cache and upload times.
    ///
    /// With an uploads database configured this must run inside a Tokio runtime; the database
    /// is connected on first use (see [`AppState::open`] to connect at once).
    pub fn with_clock(config: Config, clock: Clock) -> Self {
        let sts = StsClient::new(
            config.sts_endpoint.clone(),
            config.access_key.clone(),
            config.sts_timeout,
        );
        let cache = TokenCache::new(config.token_cache);
        let rate_limit = config.rate_limit.map(ClientRateLimit::new);
        let callback_refusals = config.rate_limit.map(RefusalLimit::new);
        let uploads = config.database_url.as_ref().map(db::UploadStore::new);
        let key_urls = config
            .callback
            .as_ref()
            .map(|c| c.trusted_key_urls.clone())
            .unwrap_or_default();
        let tickets = ticket::TicketKey::derive(&config.access_key.secret);
        Self {
            inner: Arc::new(Inner {
                config,
                sts,
                cache,
                rate_limit,
                clock,
                uploads,
                keys: callback::PublicKeys::new(&key_urls),
                tickets,
                callback_refusals,
            }),
        }
    }

    /// The configuration being served.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The callback ticket for a caller whose token covers `prefix` (see [`ticket`]).
    fn callback_ticket(&self, user: Option<&str>, prefix: &str) -> String {
        let now = (self.inner.clock)().unix_timestamp();
        self.inner.tickets.sign(&ticket::TicketClaims {
            bucket: self.inner.config.bucket.clone().unwrap_or_default(),
            prefix: prefix.to_string(),
            user: user.map(str::to_string),
            expires: now + ticket::TICKET_LIFETIME_SECS,
        })
    }

    /// The STS client the server assumes its role with.
    pub fn sts(&self) -> &StsClient {
        &self.inner.sts
    }

    fn rate_limit(&self, client: &str) -> Result<(), AppError> {
        match &self.inner.rate_limit {
            Some(rl) => rl.check(client),
            None => Ok(()),
        }
    }
}

/// The router: `GET /` (token), `GET /healthz`, `POST /callback` (OSS upload callbacks),
/// `GET /uploads` (the caller's recorded uploads), JSON 404/405 for the rest.
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the rate limit can
/// tell clients apart by address.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(routes::token))
        .route("/healthz", get(routes::healthz))
        .route("/callback", post(uploads::callback))
        .route("/uploads", get(uploads::list))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn(request_log::log_requests))
        .with_state(state)
}
