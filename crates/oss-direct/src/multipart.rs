//! Multipart upload, one request each: Initiate, UploadPart, ListParts (all pages), Complete,
//! Abort. [`crate::resumable`] builds the checkpointed upload on top of these.

use crate::client::{Body, Client, Request};
use crate::error::{Error, ErrorKind, Result};
use crate::object::validate_key;
use crate::progress::Tracker;
use crate::xml::{self, CompletePart, CompleteRequest, ListedPart};
use bytes::Bytes;
use http::Method;
use std::sync::Arc;

/// Most parts one upload may have.
pub const MAX_PARTS: u32 = 10_000;
/// Smallest size of every part but the last.
pub const MIN_PART_SIZE: u64 = 100 * 1024;

/// A part OSS has accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedPart {
    /// 1..=10000.
    pub part_number: u32,
    /// ETag OSS returned.
    pub etag: String,
    /// Bytes.
    pub size: u64,
    /// CRC-64/XZ of the part.
    pub crc64: u64,
}

/// What CompleteMultipartUpload returns.
#[derive(Debug, Clone)]
pub struct CompleteOutput {
    /// The object's ETag.
    pub etag: String,
    /// The object's CRC-64 as OSS reports it.
    pub crc64: Option<u64>,
    /// Request id.
    pub request_id: String,
    /// What the app server said, when the upload carried a callback.
    pub callback: Option<crate::CallbackOutcome>,
}

impl Client {
    /// InitiateMultipartUpload; returns the upload id.
    pub async fn initiate_multipart_upload(
        &self,
        key: &str,
        content_type: Option<&str>,
    ) -> Result<String> {
        const OP: &str = "InitiateMultipartUpload";
        validate_key(OP, key)?;
        let mut req = Request::new(OP, Method::POST, Some(key)).query("uploads", "");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct)?;
        }
        let resp = self.send(req).await?;
        let r: xml::InitiateResult = xml::from_xml(OP, &resp.bytes(OP).await?)?;
        if r.upload_id.is_empty() {
            return Err(Error::new(
                ErrorKind::Unexpected,
                OP,
                "OSS returned an empty UploadId",
            ));
        }
        Ok(r.upload_id)
    }

    /// UploadPart; the part's CRC-64 is checked against OSS's.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        data: Bytes,
    ) -> Result<UploadedPart> {
        self.upload_part_body(key, upload_id, part_number, Body::Bytes(data), None)
            .await
    }

    /// UploadPart of `len` bytes of a file from `offset`, streamed from the file (read again
    /// for each attempt), its progress counted by `tracker`.
    pub(crate) async fn upload_part_from_file(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        (path, offset, len): (&std::path::Path, u64, u64),
        tracker: Option<Arc<Tracker>>,
    ) -> Result<UploadedPart> {
        let body = Body::File {
            path: path.to_path_buf(),
            offset,
            len,
        };
        self.upload_part_body(key, upload_id, part_number, body, tracker)
            .await
    }

    async fn upload_part_body(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Body,
        tracker: Option<Arc<Tracker>>,
    ) -> Result<UploadedPart> {
        const OP: &str = "UploadPart";
        if !(1..=MAX_PARTS).contains(&part_number) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                OP,
                format!("part number {part_number} is outside 1..={MAX_PARTS}"),
            ));
        }
        let size = body.len();
        let mut req = Request::new(OP, Method::PUT, Some(key))
            .query("partNumber", part_number.to_string())
            .query("uploadId", upload_id)
            .body(body);
        req.tracker = tracker;
        let resp = self.send(req).await?;
        // The CRC of what was sent is taken while streaming the body: one pass over the bytes.
        let local = resp.sent_crc.unwrap_or(0);
        let crc64 = crate::object::check_crc(OP, local, resp.crc64())?;
        Ok(UploadedPart {
            part_number,
            etag: resp.etag(),
            size,
            crc64,
        })
    }

    /// ListParts, following `NextPartNumberMarker` through every page.
    pub async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<ListedPart>> {
        const OP: &str = "ListParts";
        validate_key(OP, key)?;
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = Request::new(OP, Method::GET, Some(key))
                .query("uploadId", upload_id)
                .query("max-parts", "1000");
            if let Some(m) = &marker {
                req = req.query("part-number-marker", m.clone());
            }
            let resp = self.send(req).await?;
            let page: xml::ListPartsResult = xml::from_xml(OP, &resp.bytes(OP).await?)?;
            parts.extend(page.parts);
            match page.next_part_number_marker {
                Some(next) if page.is_truncated && Some(&next) != marker.as_ref() => {
                    marker = Some(next)
                }
                _ if page.is_truncated => {
                    return Err(Error::new(
                        ErrorKind::Unexpected,
                        OP,
                        "OSS said more parts follow but gave no new NextPartNumberMarker",
                    ))
                }
                _ => break,
            }
        }
        Ok(parts)
    }

    /// CompleteMultipartUpload with the given parts (sorted by part number here).
    pub async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<CompleteOutput> {
        self.complete_multipart_upload_with_callback(key, upload_id, parts, None)
            .await
    }

    /// CompleteMultipartUpload carrying an upload callback: OSS calls the app server once the
    /// object is assembled, and relays its answer (or 203 `CallbackFailed`).
    pub async fn complete_multipart_upload_with_callback(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
        callback: Option<&crate::Callback>,
    ) -> Result<CompleteOutput> {
        const OP: &str = "CompleteMultipartUpload";
        validate_key(OP, key)?;
        let mut list: Vec<CompletePart> = parts
            .iter()
            .map(|p| CompletePart {
                part_number: p.part_number,
                etag: p.etag.clone(),
            })
            .collect();
        list.sort_by_key(|p| p.part_number);
        let body = quick_xml::se::to_string(&CompleteRequest { parts: list })
            .map_err(|e| Error::new(ErrorKind::Unexpected, OP, e.to_string()))?;
        let mut req = Request::new(OP, Method::POST, Some(key))
            .query("uploadId", upload_id)
            .header("content-type", "application/xml")?
            .body(Body::Bytes(Bytes::from(body)));
        if let Some(cb) = callback {
            req = crate::callback::apply(cb, req)?;
        }
        let resp = self.send(req).await?;
        if callback.is_some() {
            let request_id = resp.request_id();
            let etag = resp.etag();
            let (crc64, outcome) = self.finish_callback(OP, key, resp, true).await?;
            return Ok(CompleteOutput {
                etag,
                crc64,
                request_id,
                callback: outcome,
            });
        }
        let crc64 = resp.crc64();
        let request_id = resp.request_id();
        let header_etag = resp.etag();
        let r: xml::CompleteResult = xml::from_xml(OP, &resp.bytes(OP).await?)?;
        Ok(CompleteOutput {
            etag: if r.etag.is_empty() {
                header_etag
            } else {
                r.etag
            },
            crc64,
            request_id,
            callback: None,
        })
    }

    /// AbortMultipartUpload.
    pub async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<()> {
        const OP: &str = "AbortMultipartUpload";
        validate_key(OP, key)?;
        let req = Request::new(OP, Method::DELETE, Some(key)).query("uploadId", upload_id);
        self.send(req).await?;
        Ok(())
    }
}

/// The part size to use for a file: the requested size, at least [`MIN_PART_SIZE`], raised so
/// the file fits in [`MAX_PARTS`] parts.
///
/// ```
/// use oss_direct::multipart::{part_size_for, MAX_PARTS};
/// assert_eq!(part_size_for(10 << 20, 1 << 20), 1 << 20);
/// let big = 20u64 << 30; // 20 GiB with 1 MiB parts would be 20480 parts
/// let size = part_size_for(big, 1 << 20);
/// assert!(big.div_ceil(size) <= MAX_PARTS as u64);
/// ```
pub fn part_size_for(file_size: u64, requested: u64) -> u64 {
    let mut size = requested.max(MIN_PART_SIZE);
    let min_for_count = file_size.div_ceil(MAX_PARTS as u64);
    if size < min_for_count {
        // Round up to a whole KiB so sizes stay readable.
        size = min_for_count.div_ceil(1024) * 1024;
    }
    size
}

/// Number of parts of a file for a part size (1 for an empty file).
pub fn part_count(file_size: u64, part_size: u64) -> u32 {
    file_size.div_ceil(part_size).max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_at_the_10000_part_edge() {
        let p = 1 << 20;
        // Exactly 10,000 parts: unchanged.
        assert_eq!(part_size_for(10_000 * p, p), p);
        // One byte more: raised, and it then fits.
        let s = part_size_for(10_000 * p + 1, p);
        assert!(s > p);
        assert!(part_count(10_000 * p + 1, s) <= MAX_PARTS);
        // Too small a request is raised to the minimum.
        assert_eq!(part_size_for(1000, 1), MIN_PART_SIZE);
        // 48.8 TiB (the OSS object limit) still fits.
        let huge = 48_800u64 << 30;
        assert!(part_count(huge, part_size_for(huge, p)) <= MAX_PARTS);
    }

    #[test]
    fn part_counts() {
        assert_eq!(part_count(0, 100), 1);
        assert_eq!(part_count(100, 100), 1);
        assert_eq!(part_count(101, 100), 2);
    }
}
