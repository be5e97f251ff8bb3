//! `POST /callback` (OSS upload callbacks, verified and recorded) and `GET /uploads` (the caller's
//! recorded uploads, newest first, paged).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::auth::{bearer_token, check_subject};
use crate::callback::{
    decode_base64, is_trusted, parse_body, string_to_sign, verify_signature, CallbackBodyType,
    CallbackFields, KEY_REFRESH_AFTER,
};
use crate::config::user_prefix;
use crate::db::{Cursor, NewUpload, Upload, UploadStore};
use crate::error::AppError;
use crate::routes::{client_address, query_param};
use crate::{AppState, Config};

/// The header holding the base64 URL of OSS's public key.
pub const PUB_KEY_URL_HEADER: &str = "x-oss-pub-key-url";

/// Default and largest `?limit=` of `GET /uploads`.
pub const DEFAULT_LIST_LIMIT: u32 = 50;
/// The largest `?limit=`.
pub const MAX_LIST_LIMIT: u32 = 1000;

fn refused(status: StatusCode, code: &str, message: impl Into<String>) -> AppError {
    let e = AppError::new(status, code, message);
    tracing::warn!(code = %e.code, reason = %e.message, "callback refused");
    e
}

fn store(state: &AppState) -> Result<&UploadStore, AppError> {
    match &state.inner.uploads {
        None => Err(AppError::new(
            StatusCode::NOT_FOUND,
            "UploadsNotConfigured",
            "this server records no uploads (set Callback in its config.json)",
        )),
        Some(Err(e)) => {
            tracing::error!(error = %e, "the uploads database cannot be used");
            Err(database_error())
        }
        Some(Ok(store)) => Ok(store),
    }
}

fn database_error() -> AppError {
    AppError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "DatabaseError",
        "the uploads database failed; see the server log",
    )
}

/// The body of a recorded callback, relayed by OSS to the uploading client.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CallbackAnswer<'a> {
    status: &'static str,
    #[serde(flatten)]
    upload: UploadJson<'a>,
}

/// One upload in JSON.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UploadJson<'a> {
    id: &'a str,
    user: Option<&'a str>,
    bucket: &'a str,
    key: &'a str,
    #[serde(rename = "ETag")]
    etag: &'a str,
    size: Option<i64>,
    content_type: Option<&'a str>,
    image_width: Option<i64>,
    image_height: Option<i64>,
    image_format: Option<&'a str>,
    uploaded_at: String,
}

impl<'a> From<&'a Upload> for UploadJson<'a> {
    fn from(u: &'a Upload) -> Self {
        Self {
            id: &u.id,
            user: u.upload.user.as_deref(),
            bucket: &u.upload.bucket,
            key: &u.upload.key,
            etag: &u.upload.etag,
            size: u.upload.size,
            content_type: u.upload.content_type.as_deref(),
            image_width: u.upload.image_width,
            image_height: u.upload.image_height,
            image_format: u.upload.image_format.as_deref(),
            uploaded_at: u
                .recorded_at
                .replace_nanosecond(u.recorded_at.nanosecond() / 1000 * 1000)
                .unwrap_or(u.recorded_at)
                .format(&Rfc3339)
                .unwrap_or_default(),
        }
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /callback`: verifies OSS's signature, checks that the object is in this server's bucket
/// and prefix, records it once, and answers `{"Status":"OK", ...}` for OSS to relay.
pub(crate) async fn callback(
    State(state): State<AppState>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, AppError> {
    let config = &state.inner.config;
    let Some(callback) = &config.callback else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "CallbackNotConfigured",
            "this server takes no upload callbacks (set Callback in its config.json)",
        ));
    };
    let store = store(&state)?;

    // 1. The signature and the key URL, both base64 in headers.
    let forbidden = |code: &str, msg: &str| refused(StatusCode::FORBIDDEN, code, msg);
    let signature = match parts.headers.get(header::AUTHORIZATION) {
        None => {
            return Err(forbidden(
                "MissingCallbackSignature",
                "no Authorization header: only signed OSS callbacks are accepted",
            ))
        }
        Some(v) => v
            .to_str()
            .ok()
            .and_then(decode_base64)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                forbidden(
                    "InvalidCallbackSignature",
                    "the Authorization header is not a base64 signature",
                )
            })?,
    };
    let key_url = parts
        .headers
        .get(PUB_KEY_URL_HEADER)
        .ok_or_else(|| {
            forbidden(
                "MissingCallbackPublicKeyUrl",
                "no x-oss-pub-key-url header: only signed OSS callbacks are accepted",
            )
        })?
        .to_str()
        .ok()
        .and_then(decode_base64)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| Url::parse(s.trim()).ok())
        .ok_or_else(|| {
            forbidden(
                "InvalidCallbackPublicKeyUrl",
                "x-oss-pub-key-url is not a base64 URL",
            )
        })?;
    if !is_trusted(&key_url, &callback.trusted_key_url_prefixes) {
        return Err(forbidden(
            "UntrustedCallbackPublicKeyUrl",
            &format!(
                "the public key URL {key_url} is not under a trusted prefix (Callback.TrustedKeyUrlPrefixes)"
            ),
        ));
    }

    // 2. Verify, fetching the key again once if a cached copy fails (the signer's key may be new).
    let message = string_to_sign(parts.uri.path(), parts.uri.query(), &body);
    let key_unavailable = |e: crate::callback::KeyFetchError| {
        refused(
            StatusCode::BAD_GATEWAY,
            "CallbackPublicKeyUnavailable",
            format!("the callback public key could not be fetched: {}", e.0),
        )
    };
    let (key, fetched_at) = state
        .inner
        .keys
        .get(&key_url, None)
        .await
        .map_err(key_unavailable)?;
    let mut verified = verify_signature(&key, &message, &signature);
    if !verified && fetched_at.elapsed() >= KEY_REFRESH_AFTER {
        let (key, _) = state
            .inner
            .keys
            .get(&key_url, Some(KEY_REFRESH_AFTER))
            .await
            .map_err(key_unavailable)?;
        verified = verify_signature(&key, &message, &signature);
    }
    if !verified {
        return Err(forbidden(
            "InvalidCallbackSignature",
            "the signature does not match the callback's path and body",
        ));
    }

    // 3. What was stored, and whether it is ours.
    let body_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(CallbackBodyType::parse)
        .unwrap_or(callback.body_type);
    let fields = parse_body(&body, body_type)
        .map_err(|e| refused(StatusCode::BAD_REQUEST, "InvalidCallbackBody", e))?;
    let user = owner(config, &fields)?;
    if let Some(u) = &user {
        tracing::Span::current().record("user", tracing::field::display(u));
    }

    // 4. Record it once.
    let new = NewUpload {
        user,
        bucket: fields.bucket,
        key: fields.key,
        etag: fields.etag,
        size: fields.size,
        content_type: fields.mime_type,
        image_width: fields.image_width,
        image_height: fields.image_height,
        image_format: fields.image_format,
    };
    let recorded = store
        .record(&new, (state.inner.clock)())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "recording an upload failed");
            database_error()
        })?;
    let Some(upload) = recorded else {
        return Err(refused(
            StatusCode::CONFLICT,
            "CallbackReplayed",
            format!(
                "{}/{} with ETag {} is already recorded",
                new.bucket, new.key, new.etag
            ),
        ));
    };
    tracing::info!(
        bucket = %upload.upload.bucket,
        key = %upload.upload.key,
        etag = %upload.upload.etag,
        size = ?upload.upload.size,
        "upload recorded"
    );
    let answer = CallbackAnswer {
        status: "OK",
        upload: UploadJson::from(&upload),
    };
    Ok(no_store(Json(answer).into_response()))
}

/// The user an object belongs to, from its key: `<ObjectPrefix>users/<sub>/...` when caller
/// authentication is on (never from a client-chosen `x:` variable), nobody when it is off. The
/// bucket must be this server's, and the key under its prefix: OSS signs callbacks for anyone's
/// bucket, so a valid signature alone proves nothing about whose upload it is.
fn owner(config: &Config, fields: &CallbackFields) -> Result<Option<String>, AppError> {
    if let Some(bucket) = &config.bucket {
        if &fields.bucket != bucket {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "CallbackBucketNotAllowed",
                format!("bucket {:?} is not this server's", fields.bucket),
            ));
        }
    }
    let outside = |why: &str| {
        refused(
            StatusCode::FORBIDDEN,
            "CallbackKeyOutsidePrefix",
            format!("object {:?} {why}", fields.key),
        )
    };
    if config.auth.is_none() {
        if !fields.key.starts_with(&config.object_prefix) {
            return Err(outside(&format!(
                "is not under ObjectPrefix {:?}",
                config.object_prefix
            )));
        }
        return Ok(None);
    }
    let sample = user_prefix(&config.object_prefix, "_");
    let users = &sample[..sample.len() - 2];
    let (sub, rest) = fields
        .key
        .strip_prefix(users)
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| outside(&format!("is not under a user prefix {users}<user>/")))?;
    if check_subject(sub).is_err() || rest.is_empty() {
        return Err(outside(&format!(
            "is not under a user prefix {users}<user>/"
        )));
    }
    Ok(Some(sub.to_string()))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAnswer<'a> {
    uploads: Vec<UploadJson<'a>>,
    next_after: Option<String>,
}

/// `GET /uploads?limit=&after=`: the caller's uploads (all when authentication is off), newest
/// first; `NextAfter` is the `after` of the next page, `null` on the last.
pub(crate) async fn list(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Response, AppError> {
    let config = &state.inner.config;
    let store = store(&state)?;
    let client = client_address(&parts, config.trust_forwarded_for);
    let user = match &config.auth {
        None => None,
        Some(verifier) => {
            let verified = bearer_token(&parts.headers).and_then(|token| match token {
                None => Err(AppError::missing_token()),
                Some(token) => verifier.verify(token),
            });
            match verified {
                Ok(sub) => Some(sub),
                Err(e) => {
                    state.rate_limit(&format!("ip:{client}"))?;
                    return Err(e);
                }
            }
        }
    };
    match &user {
        Some(sub) => {
            tracing::Span::current().record("user", tracing::field::display(sub));
            state.rate_limit(&format!("uploads:user:{sub}"))?;
        }
        None => state.rate_limit(&format!("uploads:ip:{client}"))?,
    }

    let query = parts.uri.query();
    let invalid = |msg: String| AppError::new(StatusCode::BAD_REQUEST, "InvalidParameter", msg);
    let limit = match query_param(query, "limit").filter(|s| !s.is_empty()) {
        None => DEFAULT_LIST_LIMIT,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| invalid(format!("limit must be 1-{MAX_LIST_LIMIT}, got {s:?}")))?,
    };
    let after = match query_param(query, "after").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Cursor::parse(&s).ok_or_else(|| {
            invalid("after is not a NextAfter value from a previous page".to_string())
        })?),
    };
    let (uploads, next) = store
        .list(user.as_deref(), limit, after.as_ref())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing uploads failed");
            database_error()
        })?;
    let answer = ListAnswer {
        uploads: uploads.iter().map(UploadJson::from).collect(),
        next_after: next.map(|c| c.token()),
    };
    Ok(no_store(Json(answer).into_response()))
}
