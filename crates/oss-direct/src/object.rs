//! Single-request object operations: PutObject (streamed), GetObject, HeadObject, DeleteObject,
//! ListObjectsV2, and presigned URLs.

use crate::client::{Body, Client, Request};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::{ProgressFn, Tracker};
use bytes::Bytes;
use futures_util::StreamExt;
use http::Method;
use oss_direct_wire::sign::{self, SignatureVersion};
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The longest object name OSS takes, in bytes.
pub const MAX_KEY_BYTES: usize = 1023;

/// Checks an object name the way OSS will, so the user hears it before uploading.
pub fn validate_key(op: &'static str, key: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            op,
            format!("the object name {key:?} {why}"),
        )
    };
    if key.is_empty() {
        return Err(bad("is empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(bad(&format!("is longer than {MAX_KEY_BYTES} bytes")));
    }
    if key.starts_with('/') || key.starts_with('\\') {
        return Err(bad("must not start with / or \\"));
    }
    if key.chars().any(|c| c.is_control()) {
        return Err(bad("contains a control character"));
    }
    Ok(())
}

/// Guesses a Content-Type from a file name (`application/octet-stream` when unknown).
pub fn content_type_for(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

/// Options of a simple (single-request) upload.
#[derive(Clone, Default)]
pub struct PutOptions {
    /// Content-Type; guessed from the file name when `None`.
    pub content_type: Option<String>,
    /// Progress reports while the body is sent.
    pub progress: Option<ProgressFn>,
    /// An upload callback to the app server.
    pub callback: Option<crate::Callback>,
}

/// What a completed upload returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UploadOutput {
    /// Object name.
    pub key: String,
    /// ETag OSS gave the object.
    pub etag: String,
    /// CRC-64/XZ of the object, checked equal on both sides.
    pub crc64: u64,
    /// Object size.
    pub bytes: u64,
    /// OSS request id of the final request.
    pub request_id: String,
    /// Parts that an earlier run had already uploaded (resumable uploads).
    pub resumed_parts: u32,
    /// Parts sent by this run (1 for a simple upload).
    pub uploaded_parts: u32,
    /// What the app server said, when the upload carried a callback.
    pub callback: Option<crate::CallbackOutcome>,
}

/// An object's metadata (HeadObject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Bytes.
    pub size: u64,
    /// ETag.
    pub etag: String,
    /// CRC-64/XZ, when OSS reports it.
    pub crc64: Option<u64>,
    /// Content-Type.
    pub content_type: String,
    /// Last-Modified, as sent.
    pub last_modified: String,
}

/// Options of a GetObject.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// Byte range, inclusive: `(first, Some(last))` or `(first, None)` for the rest.
    pub range: Option<(u64, Option<u64>)>,
    /// An `x-oss-process` value, e.g. from [`crate::process::ImageProcess`].
    pub process: Option<String>,
}

impl GetOptions {
    fn apply(&self, mut req: Request) -> Result<Request> {
        if let Some(p) = &self.process {
            req = req.query("x-oss-process", p.clone());
        }
        if let Some((first, last)) = self.range {
            let v = match last {
                Some(l) => format!("bytes={first}-{l}"),
                None => format!("bytes={first}-"),
            };
            req = req.header("range", &v)?;
        }
        Ok(req)
    }
    fn is_whole_object(&self) -> bool {
        self.range.is_none() && self.process.is_none()
    }
}

pub(crate) fn check_crc(op: &'static str, local: u64, remote: Option<u64>) -> Result<u64> {
    match remote {
        Some(r) if r == local => Ok(local),
        Some(r) => Err(Error::new(
            ErrorKind::Integrity,
            op,
            format!("CRC-64 mismatch: local {local}, OSS {r}: the stored object is not the file that was sent"),
        )),
        None => Err(Error::new(
            ErrorKind::Integrity,
            op,
            "OSS did not return x-oss-hash-crc64ecma, so the upload cannot be verified",
        )),
    }
}

impl Client {
    /// Uploads a file with one PutObject, streamed from disk (never whole in memory), and
    /// checks OSS's CRC-64 against the bytes sent.
    pub async fn put_object_from_file(
        &self,
        key: &str,
        path: &Path,
        options: PutOptions,
    ) -> Result<UploadOutput> {
        const OP: &str = "PutObject";
        validate_key(OP, key)?;
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| Error::io(OP, &format!("cannot read {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OP,
                format!("{} is not a file", path.display()),
            ));
        }
        let content_type = options
            .content_type
            .clone()
            .unwrap_or_else(|| content_type_for(path));
        let tracker = Tracker::new(meta.len(), 1, options.progress.clone());
        let mut req = Request::new(OP, Method::PUT, Some(key))
            .header("content-type", &content_type)?
            .body(Body::File {
                path: path.to_path_buf(),
                offset: 0,
                len: meta.len(),
            });
        req.tracker = Some(tracker.clone());
        if let Some(cb) = &options.callback {
            req = crate::callback::apply(cb, req)?;
        }
        let resp = self.send(req).await?;
        let local = resp.sent_crc.unwrap_or(0);
        let (etag, request_id) = (resp.etag(), resp.request_id());
        let (remote, callback) = self
            .finish_callback(OP, key, resp, options.callback.is_some())
            .await?;
        let crc64 = check_crc(OP, local, remote)?;
        tracker.part_done();
        Ok(UploadOutput {
            key: key.to_string(),
            etag,
            crc64,
            bytes: meta.len(),
            request_id,
            resumed_parts: 0,
            uploaded_parts: 1,
            callback,
        })
    }

    /// Uploads bytes with one PutObject and checks the CRC-64.
    pub async fn put_object(
        &self,
        key: &str,
        data: Bytes,
        content_type: Option<&str>,
    ) -> Result<UploadOutput> {
        const OP: &str = "PutObject";
        validate_key(OP, key)?;
        let len = data.len() as u64;
        let req = Request::new(OP, Method::PUT, Some(key))
            .header(
                "content-type",
                content_type.unwrap_or("application/octet-stream"),
            )?
            .body(Body::Bytes(data));
        let resp = self.send(req).await?;
        let crc64 = check_crc(OP, resp.sent_crc.unwrap_or(0), resp.crc64())?;
        Ok(UploadOutput {
            key: key.to_string(),
            etag: resp.etag(),
            crc64,
            bytes: len,
            request_id: resp.request_id(),
            resumed_parts: 0,
            uploaded_parts: 1,
            callback: None,
        })
    }

    /// After an upload that carried a callback: what the app server said, and the CRC-64 (from
    /// the answer's header, or a HeadObject when the relayed answer did not carry it).
    pub(crate) async fn finish_callback(
        &self,
        op: &'static str,
        key: &str,
        resp: crate::client::Response,
        had_callback: bool,
    ) -> Result<(Option<u64>, Option<crate::CallbackOutcome>)> {
        let remote = resp.crc64();
        if !had_callback {
            return Ok((remote, None));
        }
        let status = resp.status;
        let body = resp.bytes(op).await?;
        let outcome = crate::callback::outcome(status, &body);
        let remote = match remote {
            Some(c) => Some(c),
            None => self.head_object(key).await?.crc64,
        };
        Ok((remote, Some(outcome)))
    }

    /// HeadObject.
    pub async fn head_object(&self, key: &str) -> Result<ObjectMeta> {
        const OP: &str = "HeadObject";
        validate_key(OP, key)?;
        let resp = self.send(Request::new(OP, Method::HEAD, Some(key))).await?;
        Ok(ObjectMeta {
            size: resp
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            etag: resp.etag(),
            crc64: resp.crc64(),
            content_type: resp.header("content-type").unwrap_or_default().to_string(),
            last_modified: resp.header("last-modified").unwrap_or_default().to_string(),
        })
    }

    /// GetObject into memory (thumbnails, small objects). A whole object is CRC-checked.
    pub async fn get_object(&self, key: &str, options: &GetOptions) -> Result<Bytes> {
        const OP: &str = "GetObject";
        validate_key(OP, key)?;
        let req = options.apply(Request::new(OP, Method::GET, Some(key)))?;
        let resp = self.send(req).await?;
        let remote = resp.crc64();
        let body = resp.bytes(OP).await?;
        if options.is_whole_object() && remote.is_some() {
            check_crc(OP, crate::crc64::checksum(&body), remote)?;
        }
        Ok(body)
    }

    /// GetObject streamed into a file (written to `path.part`, renamed when complete and
    /// CRC-checked). Returns the bytes written.
    pub async fn get_object_to_file(
        &self,
        key: &str,
        path: &Path,
        options: &GetOptions,
    ) -> Result<u64> {
        const OP: &str = "GetObject";
        validate_key(OP, key)?;
        let req = options.apply(Request::new(OP, Method::GET, Some(key)))?;
        let resp = self.send(req).await?;
        let remote = resp.crc64();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".part");
        let tmp = std::path::PathBuf::from(tmp);
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| Error::io(OP, &format!("cannot create {}", tmp.display()), e))?;
        let mut hasher = crate::crc64::Crc64Hasher::new();
        let mut written = 0u64;
        let mut stream = resp.inner.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::from_reqwest(OP, e))?;
            hasher.update(&chunk);
            written += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io(OP, &format!("cannot write {}", tmp.display()), e))?;
        }
        file.sync_all()
            .await
            .map_err(|e| Error::io(OP, &format!("cannot write {}", tmp.display()), e))?;
        if options.is_whole_object() && remote.is_some() {
            if let Err(e) = check_crc(OP, hasher.finish(), remote) {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        }
        tokio::fs::rename(&tmp, path)
            .await
            .map_err(|e| Error::io(OP, &format!("cannot write {}", path.display()), e))?;
        Ok(written)
    }

    /// DeleteObject.
    pub async fn delete_object(&self, key: &str) -> Result<()> {
        const OP: &str = "DeleteObject";
        validate_key(OP, key)?;
        self.send(Request::new(OP, Method::DELETE, Some(key)))
            .await?;
        Ok(())
    }

    /// One page of ListObjectsV2 under `prefix`.
    pub async fn list_objects_v2(
        &self,
        prefix: &str,
        continuation_token: Option<&str>,
        max_keys: u32,
    ) -> Result<crate::xml::ListObjectsPage> {
        const OP: &str = "ListObjectsV2";
        let mut req = Request::new(OP, Method::GET, None)
            .query("list-type", "2")
            .query("prefix", prefix)
            .query("max-keys", max_keys.clamp(1, 1000).to_string());
        if let Some(t) = continuation_token {
            req = req.query("continuation-token", t);
        }
        let resp = self.send(req).await?;
        crate::xml::from_xml(OP, &resp.bytes(OP).await?)
    }

    /// A presigned GET URL valid for `expires_in`, optionally with an `x-oss-process` value
    /// (thumbnails, watermarks). Signed with the client's signature version and the current
    /// credentials, security token included.
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: Duration,
        process: Option<&str>,
    ) -> Result<String> {
        const OP: &str = "PresignGet";
        validate_key(OP, key)?;
        let creds = self
            .inner
            .credentials
            .credentials()
            .await
            .map_err(|e| e.with_operation(OP))?;
        let query: Vec<(String, String)> = process
            .map(|p| vec![("x-oss-process".to_string(), p.to_string())])
            .unwrap_or_default();
        let now = self.now();
        let headers = http::HeaderMap::new();
        let bucket = Some(self.bucket());
        let signed = match self.config().signature_version {
            SignatureVersion::V1 => sign::presign_v1(
                "GET",
                bucket,
                Some(key),
                &query,
                &headers,
                creds.signing(),
                now.unix_timestamp() + expires_in.as_secs() as i64,
            ),
            SignatureVersion::V4 => sign::presign_v4(
                "GET",
                bucket,
                Some(key),
                &query,
                &headers,
                creds.signing(),
                self.region(),
                &crate::client::v4_timestamp(now),
                expires_in.as_secs().clamp(1, 7 * 24 * 3600),
            ),
        };
        Ok(self.url(Some(key), &signed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_like_oss_does() {
        assert!(validate_key("PutObject", "uploads/a.jpg").is_ok());
        for bad in ["", "/abs", "\\x", "a\u{7}b"] {
            assert!(validate_key("PutObject", bad).is_err(), "{bad:?}");
        }
        assert!(validate_key("PutObject", &"k".repeat(1023)).is_ok());
        let e = validate_key("PutObject", &"k".repeat(1024)).unwrap_err();
        assert!(e.message().contains("1023"));
    }

    #[test]
    fn crc_mismatch_and_absence_are_errors() {
        assert_eq!(check_crc("PutObject", 5, Some(5)).unwrap(), 5);
        assert_eq!(
            check_crc("PutObject", 5, Some(6)).unwrap_err().kind(),
            ErrorKind::Integrity
        );
        assert_eq!(
            check_crc("PutObject", 5, None).unwrap_err().kind(),
            ErrorKind::Integrity
        );
    }

    #[test]
    fn content_types_from_names() {
        assert_eq!(content_type_for(Path::new("a/b.JPG")), "image/jpeg");
        assert_eq!(content_type_for(Path::new("x.png")), "image/png");
        assert_eq!(
            content_type_for(Path::new("noext")),
            "application/octet-stream"
        );
    }
}
