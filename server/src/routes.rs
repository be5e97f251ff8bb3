//! The HTTP endpoints: `GET /` (the token), `GET /healthz`, and JSON answers for anything else.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};

use crate::cache::CacheKey;
use crate::caller::{Caller, TokenQuota};
use crate::config::{check_role_session_name, user_prefix};
use crate::error::AppError;
use crate::policy::Scope;
use crate::sts::AssumeRoleRequest;
use crate::AppState;
use oss_direct_wire::token::{Hints, TokenAnswer};

/// `?scope=` of `GET /`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    scope: Option<String>,
}

/// A query string that does not parse is a 400 in the documented JSON, not axum's plain text.
pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    q.map(|Query(t)| t).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!("the query string does not parse: {}", e.body_text()),
        )
    })
}

/// `GET /`: checks the caller, fills the policy, and answers STS credentials (cached per user and
/// scope).
pub(crate) async fn token(
    State(state): State<AppState>,
    caller: Caller<TokenQuota>,
    q: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let config = &state.inner.config;
    let span = tracing::Span::current();
    let user = caller.user;
    let q = query(q)?;

    // What for.
    let scope = match q.scope {
        None => None,
        Some(s) if s.is_empty() => None,
        Some(s) => Some(Scope::parse(&s).ok_or_else(|| AppError::invalid_scope(&s))?),
    };
    span.record(
        "scope",
        tracing::field::display(scope.map_or("default", Scope::as_str)),
    );
    let template = match scope {
        None => &config.default_policy,
        Some(s) => config
            .scopes
            .get(&s)
            .ok_or_else(|| AppError::scope_not_allowed(s.as_str(), &config.scope_names()))?,
    };

    let prefix = match &user {
        Some(sub) => user_prefix(&config.object_prefix, sub),
        None => config.object_prefix.clone(),
    };
    let policy = template
        .fill(config.bucket.as_deref().unwrap_or(""), &prefix)
        .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "InvalidPolicy", e))?;
    // The user shows up in ActionTrail when the subject fits STS's session-name rules.
    let session_name = match &user {
        Some(sub) if check_role_session_name(sub).is_ok() => sub.as_str(),
        _ => config.role_session_name.as_str(),
    };
    let request = AssumeRoleRequest {
        role_arn: &config.role_arn,
        role_session_name: session_name,
        duration_seconds: config.token_expire_seconds,
        policy: &policy,
    };

    let key = CacheKey {
        user: user.clone(),
        scope,
    };
    let clock = &state.inner.clock;
    let result = state
        .inner
        .cache
        .get_or_fetch(key, || clock(), || state.inner.sts.assume_role(&request))
        .await;
    let (creds, outcome) = match result {
        Ok(ok) => ok,
        Err(e) => {
            tracing::warn!(error = %e, retryable = e.is_retryable(), "AssumeRole failed");
            return Err(e.into());
        }
    };
    span.record("cache", tracing::field::display(outcome.as_str()));
    tracing::info!(
        access_key_id = %creds.access_key_id,
        expiration = %creds.expiration,
        "token served"
    );

    let body = TokenAnswer {
        status_code: Some(200),
        access_key_id: Some(creds.access_key_id.clone()),
        access_key_secret: Some(creds.access_key_secret.clone()),
        security_token: Some(creds.security_token.clone()),
        expiration: Some(creds.expiration.clone()),
        error_code: None,
        error_message: None,
        hints: Hints {
            bucket: config.bucket.clone(),
            region: config.region.clone(),
            endpoint: config.oss_endpoint.clone(),
            object_prefix: Some(prefix.clone()).filter(|p| !p.is_empty()),
            callback: config
                .callback
                .as_ref()
                .map(|c| c.hint(&state.callback_ticket(user.as_deref(), &prefix))),
        },
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /healthz`: the process is up and serving.
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({"Status": "ok"})).into_response()
}

/// Any other path.
pub(crate) async fn not_found(parts: Parts) -> AppError {
    AppError::not_found(parts.uri.path())
}

/// A known path with the wrong method.
pub(crate) async fn method_not_allowed(parts: Parts) -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!(
            "{} is not served at {}; use {}",
            parts.method,
            parts.uri.path(),
            if parts.uri.path() == "/callback" {
                "POST"
            } else {
                "GET"
            }
        ),
    )
}
