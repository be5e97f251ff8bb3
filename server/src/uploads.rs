//! `POST /callback` (OSS upload callbacks, verified and recorded) and `GET /uploads` (the caller's
//! recorded uploads, newest first, paged).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use oss_direct_wire::uploads::{CallbackAnswer, RecordedUpload, UploadsPage};
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::callback::{
    decode_base64, is_trusted, parse_body, string_to_sign, verify_signature, CallbackBodyType,
    CallbackFields, KEY_REFRESH_AFTER,
};
use crate::caller::{client_address, Caller, UploadsQuota};
use crate::db::{Cursor, NewUpload, Upload, UploadStore};
use crate::error::AppError;
use crate::routes::query;
use crate::ticket::TicketClaims;
use crate::AppState;

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

/// One upload in the JSON both `GET /uploads` and the callback answer carry.
fn recorded(u: &Upload) -> RecordedUpload {
    let unsigned = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
    RecordedUpload {
        id: u.id.clone(),
        user: u.upload.user.clone(),
        bucket: u.upload.bucket.clone(),
        key: u.upload.key.clone(),
        etag: u.upload.etag.clone(),
        size: unsigned(u.upload.size),
        content_type: u.upload.content_type.clone(),
        image_width: unsigned(u.upload.image_width),
        image_height: unsigned(u.upload.image_height),
        image_format: u.upload.image_format.clone(),
        uploaded_at: u
            .recorded_at
            .replace_nanosecond(u.recorded_at.nanosecond() / 1000 * 1000)
            .unwrap_or(u.recorded_at)
            .format(&Rfc3339)
            .unwrap_or_default(),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /callback`: verifies OSS's signature and the server's ticket, confirms the object in
/// OSS, records it once for the ticket's user, and answers `{"Status":"OK", ...}` for OSS to
/// relay. A peer whose callbacks keep being refused is throttled before any work is done.
pub(crate) async fn callback(
    State(state): State<AppState>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, AppError> {
    let peer = client_address(&parts, state.inner.config.trust_forwarded_for);
    if let Some(limit) = &state.inner.callback_refusals {
        limit.check(&peer)?;
    }
    let result = handle_callback(&state, &parts, &body).await;
    if let (Err(e), Some(limit)) = (&result, &state.inner.callback_refusals) {
        // Our own trouble (database, STS, OSS unreachable) is not the peer's fault.
        if e.status.is_client_error() {
            limit.refused(&peer);
        }
    }
    result
}

async fn handle_callback(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
) -> Result<Response, AppError> {
    let config = &state.inner.config;
    let Some(callback) = &config.callback else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "CallbackNotConfigured",
            "this server takes no upload callbacks (set Callback in its config.json)",
        ));
    };
    let store = store(state)?;
    verify_oss_signature(state, callback, parts, body).await?;

    // What the uploader says was stored: trusted only as far as the ticket and OSS confirm it.
    let body_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(CallbackBodyType::parse)
        .unwrap_or(callback.body_type);
    let fields = parse_body(body, body_type)
        .map_err(|e| refused(StatusCode::BAD_REQUEST, "InvalidCallbackBody", e))?;
    let claims = check_ticket(state, &fields)?;
    if let Some(u) = &claims.user {
        tracing::Span::current().record("user", tracing::field::display(u));
    }
    let meta = confirm_in_oss(state, &fields).await?;

    let new = NewUpload {
        user: claims.user,
        bucket: fields.bucket,
        key: fields.key,
        etag: fields.etag,
        size: i64::try_from(meta.size).ok(),
        content_type: Some(meta.content_type).filter(|t| !t.is_empty()),
        image_width: fields.image_width,
        image_height: fields.image_height,
        image_format: fields.image_format,
    };
    let upload = record_once(state, store, &new).await?;
    let answer = CallbackAnswer {
        status: "OK".into(),
        upload: recorded(&upload),
    };
    Ok(no_store(Json(answer).into_response()))
}

/// Step 1: OSS's RSA signature over the path and body, with the key from one of the exact
/// trusted key URLs (fetched again once if a cached copy fails: the signer's key may be new).
async fn verify_oss_signature(
    state: &AppState,
    callback: &crate::callback::CallbackConfig,
    parts: &Parts,
    body: &[u8],
) -> Result<(), AppError> {
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
    if !is_trusted(&key_url, &callback.trusted_key_urls) {
        return Err(forbidden(
            "UntrustedCallbackPublicKeyUrl",
            &format!("the public key URL {key_url} is not one of Callback.TrustedKeyUrls"),
        ));
    }
    let message = string_to_sign(parts.uri.path(), parts.uri.query(), body);
    let key_unavailable = |e: crate::callback::KeyFetchError| {
        refused(
            StatusCode::BAD_GATEWAY,
            "CallbackPublicKeyUnavailable",
            format!("the callback public key could not be fetched: {}", e.0),
        )
    };
    let keys = &state.inner.keys;
    let (key, fetched_at) = keys.get(&key_url, None).await.map_err(key_unavailable)?;
    let mut verified = verify_signature(&key, &message, &signature);
    if !verified && fetched_at.elapsed() >= KEY_REFRESH_AFTER {
        let (key, _) = keys
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
    Ok(())
}

/// Step 2: the ticket this server handed out with the uploader's token, and the object inside
/// the bucket and prefix it names. The user comes from the ticket, never from the body.
fn check_ticket(state: &AppState, fields: &CallbackFields) -> Result<TicketClaims, AppError> {
    let forbidden = |code: &str, msg: String| refused(StatusCode::FORBIDDEN, code, msg);
    let ticket = fields.ticket.as_deref().ok_or_else(|| {
        forbidden(
            "MissingCallbackTicket",
            "the body has no ticket: upload with the Callback hint of a token from this server"
                .into(),
        )
    })?;
    let now = (state.inner.clock)().unix_timestamp();
    let claims = state
        .inner
        .tickets
        .verify(ticket, now)
        .map_err(|e| forbidden("InvalidCallbackTicket", e.0))?;
    let config = &state.inner.config;
    if config.bucket.as_deref() != Some(claims.bucket.as_str()) || fields.bucket != claims.bucket {
        return Err(forbidden(
            "CallbackBucketNotAllowed",
            format!("bucket {:?} is not this server's", fields.bucket),
        ));
    }
    let rest = fields
        .key
        .strip_prefix(claims.prefix.as_str())
        .unwrap_or("");
    if rest.is_empty() {
        return Err(forbidden(
            "CallbackKeyOutsidePrefix",
            format!(
                "object {:?} is not under {:?}, the prefix of the token that uploaded it",
                fields.key, claims.prefix
            ),
        ));
    }
    Ok(claims)
}

/// Step 3: the object is in OSS with the ETag (and size) the body claims.
async fn confirm_in_oss(
    state: &AppState,
    fields: &CallbackFields,
) -> Result<oss_direct::ObjectMeta, AppError> {
    let meta = crate::confirm::head_object(state, &fields.bucket, &fields.key).await?;
    let etag = meta.etag.trim_matches('"');
    let size_differs = fields
        .size
        .is_some_and(|s| u64::try_from(s).ok() != Some(meta.size));
    if !etag.eq_ignore_ascii_case(&fields.etag) || size_differs {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "CallbackObjectMismatch",
            format!(
                "{}/{} in OSS has ETag {etag} and {} bytes, not what the callback says",
                fields.bucket, fields.key, meta.size
            ),
        ));
    }
    Ok(meta)
}

/// Step 4: one record per (bucket, key, ETag). The same bytes uploaded to the same key again
/// (or a callback sent again) find the record already there and answer it.
async fn record_once(
    state: &AppState,
    store: &UploadStore,
    new: &NewUpload,
) -> Result<Upload, AppError> {
    let db_failed = |e: String| {
        tracing::error!(error = %e, "recording an upload failed");
        database_error()
    };
    if let Some(upload) = store
        .record(new, (state.inner.clock)())
        .await
        .map_err(db_failed)?
    {
        tracing::info!(
            bucket = %upload.upload.bucket,
            key = %upload.upload.key,
            etag = %upload.upload.etag,
            size = ?upload.upload.size,
            "upload recorded"
        );
        return Ok(upload);
    }
    let existing = store
        .find(&new.bucket, &new.key, &new.etag)
        .await
        .map_err(db_failed)?
        .ok_or_else(|| db_failed("a conflicting record vanished".into()))?;
    if existing.upload.user != new.user {
        // Cannot happen while keys are per user; never hand one user's record to another.
        return Err(refused(
            StatusCode::CONFLICT,
            "CallbackRecordedForAnotherUser",
            format!("{}/{} is recorded for another user", new.bucket, new.key),
        ));
    }
    tracing::info!(key = %new.key, etag = %new.etag, "upload already recorded");
    Ok(existing)
}

/// `?limit=&after=` of `GET /uploads`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// `GET /uploads?limit=&after=`: the caller's uploads (all when authentication is off), newest
/// first; `NextAfter` is the `after` of the next page, `null` on the last.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller<UploadsQuota>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let store = store(&state)?;
    let q = query(q)?;
    let invalid = |msg: String| AppError::new(StatusCode::BAD_REQUEST, "InvalidParameter", msg);
    let limit = match q.limit.filter(|s| !s.is_empty()) {
        None => DEFAULT_LIST_LIMIT,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIST_LIMIT).contains(n))
            .ok_or_else(|| invalid(format!("limit must be 1-{MAX_LIST_LIMIT}, got {s:?}")))?,
    };
    let after = match q.after.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Cursor::parse(&s).ok_or_else(|| {
            invalid("after is not a NextAfter value from a previous page".to_string())
        })?),
    };
    let (uploads, next) = store
        .list(caller.user.as_deref(), limit, after.as_ref())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing uploads failed");
            database_error()
        })?;
    let answer = UploadsPage {
        uploads: uploads.iter().map(recorded).collect(),
        next_after: next.map(|c| c.token()),
    };
    Ok(no_store(Json(answer).into_response()))
}
