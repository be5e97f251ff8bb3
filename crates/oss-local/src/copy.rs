//! CopyObject (`PUT` with `x-oss-copy-source`) and UploadPartCopy (the same on
//! `?partNumber&uploadId`, with `x-oss-copy-source-range`): server-side copies within oss-local.
//!
//! The caller needs `oss:GetObject` on the source besides `oss:PutObject` on the destination;
//! a missing source is `NoSuchKey` and nothing is written.

use crate::auth::iso8601_secs;
use crate::context::{Call, Resp};
use crate::object::{content_type, header, stored_headers, user_meta};
use crate::storage::{now_secs, ObjectMeta};
use crate::xml::{quoted, OssError};
use serde::Serialize;

/// Largest object CopyObject copies (OSS: 1 GB; larger ones take UploadPartCopy).
const MAX_COPY_OBJECT: u64 = 1024 * 1024 * 1024;

/// The source object named by `x-oss-copy-source` (`/bucket/key`, URL-encoded), opened, after
/// the caller's `oss:GetObject` on it and the `x-oss-copy-source-if-*` conditions are checked.
fn open_source(c: &Call<'_>) -> Result<(String, ObjectMeta, std::fs::File), OssError> {
    let (state, parts) = (c.state, c.parts);
    let raw = header(&parts.headers, "x-oss-copy-source").unwrap_or("");
    if raw.contains("?versionId=") {
        return Err(OssError::new(
            501,
            "NotImplemented",
            "oss-local has no versioning: a copy source cannot name a version.",
        ));
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| OssError::invalid_argument("The copy source is not valid UTF-8."))?;
    let (bucket, key) = decoded
        .trim_start_matches('/')
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            OssError::invalid_argument(
                "Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.",
            )
        })?;
    crate::oss::check_key(key)?;
    if !state.storage.bucket_exists(bucket) {
        return Err(crate::oss::no_such_bucket(bucket));
    }
    let resource = format!(
        "acs:oss:{}:{}:{bucket}/{key}",
        state.opts.region, state.opts.account_id
    );
    if !c.principal.allows("oss:GetObject", &resource, c.ctx) {
        return Err(
            OssError::access_denied("Access denied by authorizer's policy.")
                .with("Action", "oss:GetObject")
                .with("Resource", resource),
        );
    }
    let (meta, file) = state
        .storage
        .open_data(bucket, key)?
        .ok_or_else(|| OssError::no_such_key(key))?;
    source_conditions(&parts.headers, &meta)?;
    Ok((bucket.to_string(), meta, file))
}

/// `x-oss-copy-source-if-match` / `-if-none-match` / `-if-modified-since` /
/// `-if-unmodified-since`: 412 when the first two kinds fail, 304 for the others.
fn source_conditions(headers: &http::HeaderMap, meta: &ObjectMeta) -> Result<(), OssError> {
    let etag_is = |v: &str| v.trim().trim_matches('"').eq_ignore_ascii_case(&meta.etag);
    let time = |v: &str| {
        httpdate::parse_http_date(v)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    };
    let failed = || {
        OssError::new(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
        )
    };
    let not_modified = || OssError::new(304, "NotModified", "The source was not modified.");
    if header(headers, "x-oss-copy-source-if-match").is_some_and(|v| !etag_is(v)) {
        return Err(failed());
    }
    let unmodified = header(headers, "x-oss-copy-source-if-unmodified-since").and_then(time);
    if unmodified.is_some_and(|t| meta.last_modified > t) {
        return Err(failed());
    }
    if header(headers, "x-oss-copy-source-if-none-match").is_some_and(etag_is) {
        return Err(not_modified());
    }
    let modified = header(headers, "x-oss-copy-source-if-modified-since").and_then(time);
    if modified.is_some_and(|t| meta.last_modified <= t) {
        return Err(not_modified());
    }
    Ok(())
}

/// The CopyObject answer.
#[derive(Serialize)]
struct CopyObjectResult {
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "LastModified")]
    last_modified: String,
}

/// The UploadPartCopy answer.
#[derive(Serialize)]
struct CopyPartResult {
    #[serde(rename = "LastModified")]
    last_modified: String,
    #[serde(rename = "ETag")]
    etag: String,
}

/// CopyObject.
pub(crate) async fn copy_object(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, bucket, key) = (c.state, c.parts, c.bucket, c.key);
    let replace_tags = match header(&parts.headers, "x-oss-tagging-directive") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("COPY") => false,
        Some(v) if v.eq_ignore_ascii_case("REPLACE") => true,
        Some(_) => {
            return Err(OssError::invalid_argument(
                "x-oss-tagging-directive must be COPY or REPLACE.",
            ))
        }
    };
    let options = crate::object::WriteOptions::of(c)?;
    let replace = match header(&parts.headers, "x-oss-metadata-directive") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("COPY") => false,
        Some(v) if v.eq_ignore_ascii_case("REPLACE") => true,
        Some(_) => {
            return Err(OssError::invalid_argument(
                "x-oss-metadata-directive must be COPY or REPLACE.",
            ))
        }
    };
    let (_, src, file) = open_source(c)?;
    if src.size > MAX_COPY_OBJECT {
        return Err(OssError::invalid_argument(
            "CopyObject copies objects up to 1 GB; use UploadPartCopy for larger ones.",
        ));
    }
    crate::object::check_forbid_overwrite(state, parts, bucket, key)?;
    let written = state.storage.copy_to_temp(file, 0, src.size).await?;
    let source_tags = src.tags.clone();
    let mut meta = ObjectMeta {
        key: key.to_string(),
        last_modified: now_secs(),
        data_file: String::new(),
        ..src
    };
    // The ACL and storage class are the request's (else the defaults), the tags the source's
    // unless replaced.
    options.apply(&mut meta);
    if !replace_tags {
        meta.tags = source_tags;
    }
    if replace {
        meta.content_type = content_type(&parts.headers);
        meta.user_meta = user_meta(&parts.headers);
        meta.headers = stored_headers(&parts.headers);
    }
    let meta = state.storage.commit(bucket, meta, written.temp)?;
    let doc = CopyObjectResult {
        etag: quoted(&meta.etag),
        last_modified: iso8601_secs(meta.last_modified),
    };
    let mut resp = crate::xml::respond("CopyObjectResult", &doc)?;
    let h = resp.headers_mut();
    h.insert(
        "etag",
        http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)).expect("hex"),
    );
    h.insert(
        "x-oss-hash-crc64ecma",
        http::HeaderValue::from_str(&meta.crc64.to_string()).expect("digits"),
    );
    Ok(resp)
}

/// `bytes=a-b` of `x-oss-copy-source-range` within `size`, or the whole source.
fn copy_range(headers: &http::HeaderMap, size: u64) -> Result<(u64, u64), OssError> {
    let Some(v) = header(headers, "x-oss-copy-source-range") else {
        return Ok((0, size));
    };
    let bad = || OssError::invalid_argument("The x-oss-copy-source-range is not valid.");
    let (a, b) = v
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let end: u64 = match b.trim() {
        "" => size.saturating_sub(1),
        e => e.parse().map_err(|_| bad())?,
    };
    if start > end || end >= size {
        return Err(OssError::new(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
        ));
    }
    Ok((start, end - start + 1))
}

/// UploadPartCopy.
pub(crate) async fn upload_part_copy(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, target) = (c.state, c.parts, c.target);
    let number = crate::multipart::part_number(target)?;
    let (id, dir, _) = crate::multipart::load_upload(c)?;
    let (_, src, file) = open_source(c)?;
    let (start, len) = copy_range(&parts.headers, src.size)?;
    if len > state.opts.max_object_size {
        return Err(OssError::new(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
        ));
    }
    let written = state.storage.copy_to_temp(file, start, len).await?;
    let part = crate::multipart::store_part(state, &id, &dir, number, written).await?;
    let doc = CopyPartResult {
        last_modified: iso8601_secs(part.last_modified),
        etag: quoted(&part.etag),
    };
    let mut resp = crate::xml::respond("CopyPartResult", &doc)?;
    let h = resp.headers_mut();
    h.insert(
        "etag",
        http::HeaderValue::from_str(&format!("\"{}\"", part.etag)).expect("hex"),
    );
    h.insert(
        "x-oss-hash-crc64ecma",
        http::HeaderValue::from_str(&part.crc64.to_string()).expect("digits"),
    );
    Ok(resp)
}
