//! PutObject, GetObject (with Range and `x-oss-process`), HeadObject, DeleteObject.

use crate::body::RequestBody;
use crate::context::Principal;
use crate::context::{Call, Target};
use crate::context::{Resp, State};
use crate::storage::{now_secs, ObjectMeta, DEFAULT_CONTENT_TYPE};
use crate::xml::OssError;
use axum::body::Body;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{HeaderMap, Response, StatusCode};
use std::io::SeekFrom;
use std::time::{Duration, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A header value as text: UTF-8 where it is (user metadata may be), else Latin-1.
fn header_text(v: &http::HeaderValue) -> String {
    match std::str::from_utf8(v.as_bytes()) {
        Ok(s) => s.to_string(),
        Err(_) => v.as_bytes().iter().map(|&b| b as char).collect(),
    }
}

/// `x-oss-meta-*` headers to keep with an object (UTF-8 values included).
pub(crate) fn user_meta(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut m: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-oss-meta-"))
        .map(|(n, v)| (n.as_str().to_string(), header_text(v)))
        .collect();
    m.sort();
    m
}

/// Standard headers an upload may set and GET/HEAD answer with.
const STORED_HEADERS: &[&str] = &[
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
];

/// The [`STORED_HEADERS`] of an upload request.
pub(crate) fn stored_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    STORED_HEADERS
        .iter()
        .filter_map(|n| Some((n.to_string(), header_text(headers.get(*n)?))))
        .collect()
}

/// The content type of an upload: as given, else what OSS stores.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    header(headers, "content-type")
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_string()
}

/// Checks the body framing of an upload: a PUT needs Content-Length (or chunked encoding).
pub(crate) fn check_length(headers: &HeaderMap, max: u64) -> Result<(), OssError> {
    match header(headers, "content-length") {
        Some(v) => {
            let n: u64 = v
                .parse()
                .map_err(|_| OssError::invalid_argument("Invalid Content-Length."))?;
            if n > max {
                return Err(OssError::new(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed object size.",
                ));
            }
            Ok(())
        }
        None if header(headers, "transfer-encoding").is_some() => Ok(()),
        None => Err(OssError::new(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )),
    }
}

/// Verifies `Content-MD5` against what was received.
pub(crate) fn check_md5(headers: &HeaderMap, md5: &[u8; 16]) -> Result<(), OssError> {
    if let Some(given) = header(headers, "content-md5") {
        let ok = STANDARD
            .decode(given.trim())
            .map(|g| g == md5)
            .unwrap_or(false);
        if !ok {
            return Err(OssError::new(
                400,
                "InvalidDigest",
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    Ok(())
}

/// `x-oss-forbid-overwrite: true` and the object exists: 409 `FileAlreadyExists`.
pub(crate) fn check_forbid_overwrite(
    state: &State,
    parts: &http::request::Parts,
    bucket: &str,
    key: &str,
) -> Result<(), OssError> {
    let forbid = header(&parts.headers, "x-oss-forbid-overwrite")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if forbid && state.storage.head(bucket, key)?.is_some() {
        return Err(OssError::new(
            409,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        ));
    }
    Ok(())
}

/// The storage class of `x-oss-storage-class`: `Standard` (`None`) or `IA`, which read the
/// same; the archive classes need RestoreObject, which oss-local does not implement.
pub(crate) fn storage_class(headers: &HeaderMap) -> Result<Option<String>, OssError> {
    match header(headers, "x-oss-storage-class") {
        None | Some("Standard") => Ok(None),
        Some("IA") => Ok(Some("IA".into())),
        Some(c @ ("Archive" | "ColdArchive" | "DeepColdArchive")) => Err(OssError::new(
            501,
            "NotImplemented",
            format!("oss-local does not implement the {c} storage class (no RestoreObject); nothing was changed."),
        )
        .with("Header", "x-oss-storage-class")),
        Some(_) => Err(OssError::invalid_argument("Invalid storage class.")
            .with("ArgumentName", "x-oss-storage-class")),
    }
}

/// What an upload request says about the object besides its bytes: ACL, storage class and
/// tags (`x-oss-tagging` also needs `oss:PutObjectTagging`).
pub(crate) struct WriteOptions {
    pub acl: Option<crate::context::Acl>,
    pub storage_class: Option<String>,
    pub tags: Vec<(String, String)>,
}

impl WriteOptions {
    /// Reads and checks the headers of `c`'s request.
    pub fn of(c: &Call<'_>) -> Result<Self, OssError> {
        let headers = &c.parts.headers;
        let tags = crate::tagging::from_header(headers)?;
        if tags.is_some() {
            let resource = crate::oss::resource(c.state, Some(c.bucket), Some(c.key));
            if !c.principal.allows("oss:PutObjectTagging", &resource, c.ctx)
                && !matches!(c.principal, Principal::Anonymous)
            {
                return Err(
                    OssError::access_denied("Access denied by authorizer's policy.")
                        .with("Action", "oss:PutObjectTagging")
                        .with("Resource", resource),
                );
            }
        }
        Ok(Self {
            acl: crate::acl::object_acl(headers)?.flatten(),
            storage_class: storage_class(headers)?,
            tags: tags.unwrap_or_default(),
        })
    }

    /// Puts these options into an object's metadata.
    pub fn apply(self, meta: &mut ObjectMeta) {
        meta.acl = self.acl;
        meta.storage_class = self.storage_class;
        meta.tags = self.tags;
    }
}

/// PutObject.
pub(crate) async fn put(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, bucket, key) = (c.state, c.parts, c.bucket, c.key);
    let max = state.opts.max_object_size;
    check_length(&parts.headers, max)?;
    body.limit(max);
    let callback = crate::callback::parse_request(c)?;
    let options = WriteOptions::of(c)?;
    check_forbid_overwrite(state, parts, bucket, key)?;
    let written = state.storage.write_temp(body).await?;
    check_md5(&parts.headers, &written.md5)?;
    let mut meta = ObjectMeta {
        key: key.to_string(),
        size: written.size,
        etag: hex::encode_upper(written.md5),
        crc64: written.crc64,
        content_type: content_type(&parts.headers),
        content_md5: Some(STANDARD.encode(written.md5)),
        last_modified: now_secs(),
        user_meta: user_meta(&parts.headers),
        headers: stored_headers(&parts.headers),
        object_type: "Normal".into(),
        ..ObjectMeta::default()
    };
    options.apply(&mut meta);
    let meta = state.storage.commit(bucket, meta, written.temp)?;
    let resp = Response::builder()
        .status(StatusCode::OK)
        .header("etag", format!("\"{}\"", meta.etag))
        .header("x-oss-hash-crc64ecma", meta.crc64.to_string())
        .header("content-md5", meta.content_md5.clone().unwrap_or_default())
        .header("content-length", "0")
        .body(Body::empty())
        .expect("valid response");
    match callback {
        Some(cb) => crate::callback::run(c, &cb, &meta, resp).await,
        None => Ok(resp),
    }
}

fn http_date(secs: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
}

/// The headers GET and HEAD share.
fn object_response(meta: &ObjectMeta) -> http::response::Builder {
    let mut b = Response::builder()
        .header("etag", format!("\"{}\"", meta.etag))
        .header("last-modified", http_date(meta.last_modified))
        .header("content-type", meta.content_type.as_str())
        .header("accept-ranges", "bytes")
        .header("x-oss-object-type", meta.object_type.as_str())
        .header(
            "x-oss-storage-class",
            meta.storage_class.as_deref().unwrap_or("Standard"),
        )
        .header("x-oss-hash-crc64ecma", meta.crc64.to_string());
    if meta.object_type == "Appendable" {
        b = b.header("x-oss-next-append-position", meta.size.to_string());
    }
    if let Some(n) = crate::tagging::count_header(&meta.tags) {
        b = b.header("x-oss-tagging-count", n);
    }
    if let Some(md5) = &meta.content_md5 {
        b = b.header("content-md5", md5.as_str());
    }
    for (k, v) in meta.user_meta.iter().chain(&meta.headers) {
        if let Ok(v) = http::HeaderValue::from_bytes(v.as_bytes()) {
            b = b.header(k.as_str(), v);
        }
    }
    b
}

/// Answers If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since.
fn preconditions(headers: &HeaderMap, meta: &ObjectMeta) -> Result<Option<Resp>, OssError> {
    let etag_matches = |v: &str| {
        v.split(',')
            .any(|e| e.trim() == "*" || e.trim().trim_matches('"').eq_ignore_ascii_case(&meta.etag))
    };
    let failed = || {
        OssError::new(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
        )
    };
    if let Some(v) = header(headers, "if-match") {
        if !etag_matches(v) {
            return Err(failed());
        }
    }
    if let Some(v) = header(headers, "if-unmodified-since") {
        if let Ok(t) = httpdate::parse_http_date(v) {
            if meta.last_modified
                > t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            {
                return Err(failed());
            }
        }
    }
    let not_modified = || {
        Ok(Some(
            object_response(meta)
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .expect("valid response"),
        ))
    };
    if let Some(v) = header(headers, "if-none-match") {
        if etag_matches(v) {
            return not_modified();
        }
    }
    if let Some(v) = header(headers, "if-modified-since") {
        if let Ok(t) = httpdate::parse_http_date(v) {
            if meta.last_modified
                <= t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            {
                return not_modified();
            }
        }
    }
    Ok(None)
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against `size`. `Ok(None)` means "whole object"
/// (OSS ignores a malformed range unless `x-oss-range-behavior: standard`).
fn parse_range(v: &str, size: u64, standard: bool) -> Result<Option<(u64, u64)>, OssError> {
    let invalid = || {
        OssError::new(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
        )
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), Some(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
        (Some(start), None) if b.is_empty() => Some((start, size.saturating_sub(1))),
        (None, Some(n)) if a.is_empty() && n > 0 => {
            Some((size.saturating_sub(n), size.saturating_sub(1)))
        }
        _ => None,
    };
    match range {
        Some((start, end)) if start < size && start <= end => Ok(Some((start, end))),
        Some(_) if standard => Err(invalid()),
        _ => Ok(None),
    }
}

/// Response-header overrides (`response-content-type=...`) of a GET.
fn response_overrides(target: &Target, mut b: http::response::Builder) -> http::response::Builder {
    for (param, name) in [
        ("response-content-type", "content-type"),
        ("response-content-language", "content-language"),
        ("response-expires", "expires"),
        ("response-cache-control", "cache-control"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
    ] {
        if let Some(v) = target.param(param) {
            if let Some(h) = b.headers_mut() {
                if let Ok(v) = http::HeaderValue::from_str(v) {
                    h.insert(name, v);
                }
            }
        }
    }
    b
}

/// GetObject (with `x-oss-process`, the image answer).
pub(crate) async fn get(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, target, bucket, key) = (c.state, c.parts, c.target, c.bucket, c.key);
    let (meta, file) = state
        .storage
        .open_data(bucket, key)?
        .ok_or_else(|| OssError::no_such_key(key))?;
    if let Some(process) = target.param("x-oss-process") {
        return crate::img::respond(c, &meta, file, process).await;
    }
    if let Some(r) = preconditions(&parts.headers, &meta)? {
        return Ok(r);
    }
    let standard = header(&parts.headers, "x-oss-range-behavior") == Some("standard");
    let range = match header(&parts.headers, "range") {
        Some(v) => parse_range(v, meta.size, standard)?,
        None => None,
    };
    if range.is_none() && crate::gzip::wanted(&parts.headers, &meta) {
        let b = response_overrides(target, object_response(&meta));
        return Ok(b
            .status(StatusCode::OK)
            .header("content-encoding", "gzip")
            .body(crate::gzip::body(file))
            .expect("valid response"));
    }
    let mut file = tokio::fs::File::from_std(file);
    let b = response_overrides(target, object_response(&meta));
    let (b, len) = match range {
        Some((start, end)) => {
            file.seek(SeekFrom::Start(start)).await?;
            (
                b.status(StatusCode::PARTIAL_CONTENT).header(
                    "content-range",
                    format!("bytes {start}-{end}/{}", meta.size),
                ),
                end - start + 1,
            )
        }
        None => (b.status(StatusCode::OK), meta.size),
    };
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
    Ok(b.header("content-length", len.to_string())
        .body(Body::from_stream(stream))
        .expect("valid response"))
}

/// HeadObject and GetObjectMeta.
pub(crate) fn head(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, bucket, key) = (c.state, c.parts, c.bucket, c.key);
    let meta = state
        .storage
        .head(bucket, key)?
        .ok_or_else(|| OssError::no_such_key(key))?;
    if let Some(r) = preconditions(&parts.headers, &meta)? {
        return Ok(r);
    }
    Ok(object_response(&meta)
        .status(StatusCode::OK)
        .header("content-length", meta.size.to_string())
        .body(Body::empty())
        .expect("valid response"))
}

/// DeleteObject.
pub(crate) fn delete(c: &Call<'_>) -> Result<Resp, OssError> {
    c.state.storage.delete(c.bucket, c.key)?;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .expect("valid response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100, false).unwrap(), Some((0, 9)));
        assert_eq!(
            parse_range("bytes=90-", 100, false).unwrap(),
            Some((90, 99))
        );
        assert_eq!(
            parse_range("bytes=-10", 100, false).unwrap(),
            Some((90, 99))
        );
        assert_eq!(
            parse_range("bytes=90-200", 100, false).unwrap(),
            Some((90, 99))
        );
        assert_eq!(parse_range("bytes=100-200", 100, false).unwrap(), None);
        assert_eq!(
            parse_range("bytes=100-200", 100, true).unwrap_err().code,
            "InvalidRange"
        );
        assert_eq!(parse_range("bytes=9-1", 100, false).unwrap(), None);
        assert_eq!(parse_range("items=0-1", 100, false).unwrap(), None);
    }
}
