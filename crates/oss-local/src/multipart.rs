//! Multipart upload: Initiate, UploadPart, ListParts, Complete, Abort, ListMultipartUploads.
//!
//! An upload is a folder `buckets/<bucket>/uploads/<UPLOAD_ID>/` holding `upload.json` and, per
//! part, `part-<n>.json` (the commit point) and its data file. Parts are written to temporary
//! files and renamed, so concurrent UploadPart calls never see each other's half-written data.

use crate::auth::iso8601_secs;
use crate::body::RequestBody;
use crate::context::{Call, Target};
use crate::context::{Resp, State};
use crate::list::{encode_name, CommonPrefixes};
use crate::object::{check_length, check_md5, content_type, header, stored_headers, user_meta};
use crate::storage::{now_secs, random_hex, read_json, write_atomic, ObjectMeta};
use crate::xml::{parse_complete, quoted, OssError};
use axum::body::Body;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Smallest size of every part but the last (100 KB).
pub const MIN_PART_SIZE: u64 = 100 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Upload {
    key: String,
    initiated: i64,
    content_type: String,
    user_meta: Vec<(String, String)>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// The object's ACL, from `x-oss-object-acl` at Initiate.
    #[serde(default)]
    acl: Option<crate::context::Acl>,
    /// From `x-oss-storage-class` at Initiate.
    #[serde(default)]
    storage_class: Option<String>,
    /// From `x-oss-tagging` at Initiate.
    #[serde(default)]
    tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Part {
    number: u32,
    etag: String,
    size: u64,
    crc64: u64,
    md5: String,
    last_modified: i64,
    data_file: String,
}

fn upload_dir(state: &State, bucket: &str, upload_id: &str) -> PathBuf {
    state
        .storage
        .bucket_dir(bucket)
        .join("uploads")
        .join(upload_id)
}

/// Finds the upload, refusing ids that are not ours (so no id can name another path).
pub(crate) fn load_upload(c: &Call<'_>) -> Result<(String, PathBuf, Upload), OssError> {
    let (state, target, bucket, key) = (c.state, c.target, c.bucket, c.key);
    let id = target.param("uploadId").unwrap_or("").to_string();
    let well_formed = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(OssError::no_such_upload(&id));
    }
    let dir = upload_dir(state, bucket, &id);
    match read_json::<Upload>(&dir.join("upload.json"))? {
        Some(u) if u.key == key => Ok((id, dir, u)),
        _ => Err(OssError::no_such_upload(&id)),
    }
}

fn read_parts(dir: &std::path::Path) -> Result<Vec<Part>, OssError> {
    let mut parts = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("part-") && name.ends_with(".json") {
            if let Some(p) = read_json::<Part>(&e.path())? {
                parts.push(p);
            }
        }
    }
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

/// InitiateMultipartUpload.
pub(crate) fn initiate(c: &Call<'_>) -> Result<Resp, OssError> {
    let (state, parts, target, bucket, key) = (c.state, c.parts, c.target, c.bucket, c.key);
    let options = crate::object::WriteOptions::of(c)?;
    crate::object::check_forbid_overwrite(state, parts, bucket, key)?;
    let id = random_hex(16).to_ascii_uppercase();
    let dir = upload_dir(state, bucket, &id);
    std::fs::create_dir_all(&dir)?;
    let upload = Upload {
        key: key.to_string(),
        initiated: now_secs(),
        content_type: content_type(&parts.headers),
        user_meta: user_meta(&parts.headers),
        headers: stored_headers(&parts.headers),
        acl: options.acl,
        storage_class: options.storage_class,
        tags: options.tags,
    };
    let json = serde_json::to_vec(&upload).map_err(OssError::internal)?;
    write_atomic(&state.storage.tmp_dir(), &dir.join("upload.json"), &json)?;
    let url = target.param("encoding-type") == Some("url");
    let doc = InitiateMultipartUploadResult {
        bucket,
        key: encode_name(key, url),
        upload_id: &id,
        encoding_type: url.then_some("url"),
    };
    crate::xml::respond("InitiateMultipartUploadResult", &doc)
}

/// The InitiateMultipartUpload answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateMultipartUploadResult<'a> {
    bucket: &'a str,
    key: String,
    upload_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_type: Option<&'a str>,
}

/// UploadPart.
pub(crate) async fn upload_part(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, target) = (c.state, c.parts, c.target);
    let number = part_number(target)?;
    let max = state.opts.max_object_size;
    check_length(&parts.headers, max)?;
    body.limit(max);
    let (id, dir, _) = load_upload(c)?;
    let written = state.storage.write_temp(body).await?;
    check_md5(&parts.headers, &written.md5)?;
    let part = store_part(state, &id, &dir, number, written).await?;
    Ok(http::Response::builder()
        .status(200)
        .header("etag", format!("\"{}\"", part.etag))
        .header("x-oss-hash-crc64ecma", part.crc64.to_string())
        .header("content-md5", part.md5)
        .header("content-length", "0")
        .body(Body::empty())
        .expect("valid response"))
}

/// The part number of an UploadPart / UploadPartCopy (1..=10000).
pub(crate) fn part_number(target: &Target) -> Result<u32, OssError> {
    target
        .param("partNumber")
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=10000).contains(n))
        .ok_or_else(|| {
            OssError::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
        })
}

/// What a stored part answers with: its ETag (upper-case hex), CRC-64 and base64 MD5.
pub(crate) struct StoredPart {
    pub etag: String,
    pub crc64: u64,
    pub md5: String,
    pub last_modified: i64,
}

/// Commits a written part as part `number` of upload `id` (replacing an earlier one).
pub(crate) async fn store_part(
    state: &State,
    id: &str,
    dir: &std::path::Path,
    number: u32,
    written: crate::storage::Written,
) -> Result<StoredPart, OssError> {
    let part = Part {
        number,
        etag: hex::encode_upper(written.md5),
        size: written.size,
        crc64: written.crc64,
        md5: STANDARD.encode(written.md5),
        last_modified: now_secs(),
        data_file: format!("part-{number}.{}.data", random_hex(8)),
    };
    let lock = state.upload_lock(id);
    let _guard = lock.lock().await;
    if !dir.join("upload.json").exists() {
        return Err(OssError::no_such_upload(id));
    }
    written
        .temp
        .persist(dir.join(&part.data_file))
        .map_err(|_| OssError::no_such_upload(id))?;
    let meta_path = dir.join(format!("part-{number}.json"));
    let previous: Option<Part> = read_json(&meta_path)?;
    let json = serde_json::to_vec(&part).map_err(OssError::internal)?;
    write_atomic(&state.storage.tmp_dir(), &meta_path, &json)?;
    if let Some(p) = previous {
        let _ = std::fs::remove_file(dir.join(p.data_file));
    }
    Ok(StoredPart {
        etag: part.etag,
        crc64: part.crc64,
        md5: part.md5,
        last_modified: part.last_modified,
    })
}

/// ListParts.
pub(crate) fn list_parts(c: &Call<'_>) -> Result<Resp, OssError> {
    let (target, bucket, key) = (c.target, c.bucket, c.key);
    let (id, dir, _) = load_upload(c)?;
    let max_parts: usize = match target.param("max-parts") {
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| OssError::invalid_argument("max-parts must be between 1 and 1000."))?,
        None => 1000,
    };
    // oss2's list_parts() sends an empty marker on the first page.
    let marker: u32 = match target.param("part-number-marker").filter(|v| !v.is_empty()) {
        Some(v) => v
            .parse()
            .map_err(|_| OssError::invalid_argument("part-number-marker must be an integer."))?,
        None => 0,
    };
    let all: Vec<Part> = read_parts(&dir)?
        .into_iter()
        .filter(|p| p.number > marker)
        .collect();
    let truncated = all.len() > max_parts;
    let page = &all[..all.len().min(max_parts)];
    let url = target.param("encoding-type") == Some("url");
    let part = page.iter().map(|p| ListedPart {
        part_number: p.number,
        last_modified: iso8601_secs(p.last_modified),
        etag: quoted(&p.etag),
        hash_crc64ecma: p.crc64,
        size: p.size,
    });
    let doc = ListPartsResult {
        bucket,
        encoding_type: url.then_some("url"),
        key: encode_name(key, url),
        upload_id: &id,
        part_number_marker: marker,
        next_part_number_marker: page.last().map_or(marker, |p| p.number),
        max_parts,
        is_truncated: truncated,
        part: part.collect(),
    };
    crate::xml::respond("ListPartsResult", &doc)
}

/// The ListParts answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListPartsResult<'a> {
    bucket: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_type: Option<&'a str>,
    key: String,
    upload_id: &'a str,
    part_number_marker: u32,
    next_part_number_marker: u32,
    max_parts: usize,
    is_truncated: bool,
    part: Vec<ListedPart>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListedPart {
    part_number: u32,
    last_modified: String,
    #[serde(rename = "ETag")]
    etag: String,
    hash_crc64ecma: u64,
    size: u64,
}

/// CompleteMultipartUpload.
pub(crate) async fn complete(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, bucket, key) = (c.state, c.parts, c.bucket, c.key);
    let callback = crate::callback::parse_request(c)?;
    let (id, dir, upload) = load_upload(c)?;
    let complete_all = header(&parts.headers, "x-oss-complete-all") == Some("yes");
    let body = body.collect(4 * 1024 * 1024).await?;
    let lock = state.upload_lock(&id);
    let _guard = lock.lock().await;
    let stored = read_parts(&dir)?;
    if !dir.join("upload.json").exists() {
        return Err(OssError::no_such_upload(&id));
    }
    let chosen = choose_parts(stored, complete_all, &body)?;
    crate::object::check_forbid_overwrite(state, parts, bucket, key)?;
    let mut upload = upload;
    if let Some(acl) = crate::acl::object_acl(&parts.headers)? {
        upload.acl = acl;
    }
    let meta = assemble(state, bucket, key, &dir, &chosen, upload).await?;
    std::fs::remove_dir_all(&dir)?;
    state.forget_upload_lock(&id);
    complete_answer(c, &meta, callback).await
}

/// The parts a Complete names (or all of them with `x-oss-complete-all`), checked.
fn choose_parts(stored: Vec<Part>, complete_all: bool, body: &[u8]) -> Result<Vec<Part>, OssError> {
    let chosen: Vec<Part> = if complete_all {
        if !body.is_empty() {
            return Err(OssError::invalid_argument(
                "The request body must be empty when x-oss-complete-all is yes.",
            ));
        }
        stored
    } else {
        let listed = parse_complete(body)?;
        if listed.is_empty() {
            return Err(OssError::new(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema.",
            ));
        }
        if listed
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
        {
            return Err(OssError::new(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
            ));
        }
        let mut chosen = Vec::new();
        for l in &listed {
            let etag = l.etag.trim().trim_matches('"');
            match stored.iter().find(|p| p.number == l.part_number) {
                Some(p) if p.etag.eq_ignore_ascii_case(etag) => chosen.push(p.clone()),
                _ => {
                    return Err(OssError::new(
                        400,
                        "InvalidPart",
                        "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
                    )
                    .with("PartNumber", l.part_number.to_string())
                    .with("ETag", l.etag.clone()))
                }
            }
        }
        chosen
    };
    if chosen.is_empty() {
        return Err(OssError::invalid_argument("The upload has no parts."));
    }
    if let Some(small) = chosen[..chosen.len() - 1]
        .iter()
        .find(|p| p.size < MIN_PART_SIZE)
    {
        return Err(OssError::new(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size.",
        )
        .with("PartNumber", small.number.to_string())
        .with("MinSizeAllowed", MIN_PART_SIZE.to_string()));
    }
    Ok(chosen)
}

/// Commits the parts as the object: moved into place as its segments, not copied (they were
/// synced when uploaded); the object's bytes are their concatenation.
async fn assemble(
    state: &State,
    bucket: &str,
    key: &str,
    dir: &std::path::Path,
    chosen: &[Part],
    upload: Upload,
) -> Result<ObjectMeta, OssError> {
    let files: Vec<PathBuf> = chosen.iter().map(|p| dir.join(&p.data_file)).collect();
    let crc = oss_direct::crc64::combine_all(chosen.iter().map(|p| (p.crc64, p.size)));
    let mut md5s = Md5::new();
    let mut size = 0u64;
    for p in chosen {
        size += p.size;
        md5s.update(hex::decode(&p.etag).map_err(OssError::internal)?);
    }
    let etag = format!("{}-{}", hex::encode_upper(md5s.finalize()), chosen.len());
    let meta = ObjectMeta {
        key: key.to_string(),
        size,
        etag,
        crc64: crc,
        content_type: upload.content_type,
        content_md5: None,
        last_modified: now_secs(),
        user_meta: upload.user_meta,
        headers: upload.headers,
        object_type: "Multipart".into(),
        acl: upload.acl,
        storage_class: upload.storage_class,
        tags: upload.tags,
        data_file: String::new(),
        segments: Vec::new(),
    };
    state.storage.commit_segments(bucket, meta, &files)
}

/// The CompleteMultipartUpload document.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CompleteMultipartUploadResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_type: Option<&'a str>,
    location: String,
    bucket: &'a str,
    key: String,
    #[serde(rename = "ETag")]
    etag: String,
}

/// The CompleteMultipartUpload answer (or the callback's).
async fn complete_answer(
    c: &Call<'_>,
    meta: &ObjectMeta,
    callback: Option<crate::callback::Callback>,
) -> Result<Resp, OssError> {
    let (target, bucket, key) = (c.target, c.bucket, c.key);

    let url = target.param("encoding-type") == Some("url");
    let doc = CompleteMultipartUploadResult {
        encoding_type: url.then_some("url"),
        location: format!("http://{}/{bucket}/{}", target.host, encode_name(key, true)),
        bucket,
        key: encode_name(key, url),
        etag: quoted(&meta.etag),
    };
    let mut resp = crate::xml::respond("CompleteMultipartUploadResult", &doc)?;
    let h = resp.headers_mut();
    h.insert(
        "etag",
        http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)).expect("hex"),
    );
    h.insert(
        "x-oss-hash-crc64ecma",
        http::HeaderValue::from_str(&meta.crc64.to_string()).expect("digits"),
    );
    match callback {
        Some(cb) => crate::callback::run(c, &cb, meta, resp).await,
        None => Ok(resp),
    }
}

/// AbortMultipartUpload.
pub(crate) async fn abort(c: &Call<'_>) -> Result<Resp, OssError> {
    let state = c.state;
    let (id, dir, _) = load_upload(c)?;
    let lock = state.upload_lock(&id);
    let _guard = lock.lock().await;
    if !dir.join("upload.json").exists() {
        return Err(OssError::no_such_upload(&id));
    }
    std::fs::remove_dir_all(&dir)?;
    state.forget_upload_lock(&id);
    Ok(http::Response::builder()
        .status(204)
        .body(Body::empty())
        .expect("valid response"))
}

/// Whether an upload comes after the markers: OSS lists keys after `key-marker`, and with
/// `upload-id-marker` also the uploads of that very key whose ids come after it.
fn after_markers(key: &str, id: &str, key_marker: &str, id_marker: &str) -> bool {
    if key_marker.is_empty() {
        return true;
    }
    key > key_marker || (key == key_marker && !id_marker.is_empty() && id > id_marker)
}

/// One page of ListMultipartUploads: uploads (key, id, initiated) and common prefixes.
#[derive(Default)]
struct UploadsPage {
    uploads: Vec<(String, String, i64)>,
    prefixes: Vec<String>,
    truncated: bool,
}

/// What ListMultipartUploads asks for.
struct UploadsQuery<'a> {
    prefix: &'a str,
    delimiter: &'a str,
    key_marker: &'a str,
    id_marker: &'a str,
    max: usize,
}

impl<'a> UploadsQuery<'a> {
    fn parse(target: &'a Target) -> Result<Self, OssError> {
        let param = |n: &str| target.param(n).unwrap_or("");
        let max: usize = match target.param("max-uploads").filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    OssError::invalid_argument("max-uploads must be between 1 and 1000.")
                })?,
            None => 1000,
        };
        Ok(Self {
            prefix: param("prefix"),
            delimiter: param("delimiter"),
            key_marker: param("key-marker"),
            id_marker: param("upload-id-marker"),
            max,
        })
    }
}

/// The uploads of `bucket` after the markers, in key order, one page of them.
fn uploads_page(
    state: &State,
    bucket: &str,
    q: &UploadsQuery<'_>,
) -> Result<UploadsPage, OssError> {
    let (prefix, delimiter, key_marker) = (q.prefix, q.delimiter, q.key_marker);
    let mut all: Vec<(String, String, i64)> = Vec::new();
    for e in std::fs::read_dir(state.storage.bucket_dir(bucket).join("uploads"))?.flatten() {
        let id = e.file_name().to_string_lossy().to_string();
        if let Some(u) = read_json::<Upload>(&e.path().join("upload.json"))? {
            if u.key.starts_with(prefix) && after_markers(&u.key, &id, key_marker, q.id_marker) {
                all.push((u.key, id, u.initiated));
            }
        }
    }
    all.sort();
    // With a delimiter, keys with it after the prefix roll up into one common prefix each.
    let mut page = UploadsPage::default();
    for (k, id, initiated) in all {
        let common = (!delimiter.is_empty())
            .then(|| k[prefix.len()..].find(delimiter))
            .flatten()
            .map(|i| k[..prefix.len() + i + delimiter.len()].to_string());
        // A common prefix counts once, and one used as the marker skips all keys under it.
        if let Some(cp) = &common {
            if page.prefixes.last() == Some(cp)
                || (!key_marker.is_empty() && cp.as_str() <= key_marker)
            {
                continue;
            }
        }
        if page.uploads.len() + page.prefixes.len() == q.max {
            page.truncated = true;
            break;
        }
        match common {
            Some(cp) => page.prefixes.push(cp),
            None => page.uploads.push((k, id, initiated)),
        }
    }
    Ok(page)
}

/// ListMultipartUploads.
pub(crate) fn list_uploads(c: &Call<'_>) -> Result<Resp, OssError> {
    let q = UploadsQuery::parse(c.target)?;
    let page = uploads_page(c.state, c.bucket, &q)?;
    let url = c.target.param("encoding-type") == Some("url");
    let (next_key, next_id) = match (page.uploads.last(), page.prefixes.last()) {
        (Some((k, i, _)), p) if p.is_none_or(|p| p < k) => (k.clone(), i.clone()),
        (_, Some(p)) => (p.clone(), String::new()),
        _ => (String::new(), String::new()),
    };
    let upload = page.uploads.iter().map(|(k, id, initiated)| ListedUpload {
        key: encode_name(k, url),
        upload_id: id,
        initiated: iso8601_secs(*initiated),
    });
    let prefixes = page.prefixes.iter().map(|p| CommonPrefixes {
        prefix: encode_name(p, url),
    });
    let doc = ListMultipartUploadsResult {
        bucket: c.bucket,
        encoding_type: url.then_some("url"),
        key_marker: encode_name(q.key_marker, url),
        upload_id_marker: q.id_marker,
        next_key_marker: encode_name(&next_key, url),
        next_upload_id_marker: next_id,
        delimiter: encode_name(q.delimiter, url),
        prefix: encode_name(q.prefix, url),
        max_uploads: q.max,
        is_truncated: page.truncated,
        upload: upload.collect(),
        common_prefixes: prefixes.collect(),
    };
    crate::xml::respond("ListMultipartUploadsResult", &doc)
}

/// The ListMultipartUploads answer.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListMultipartUploadsResult<'a> {
    bucket: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_type: Option<&'a str>,
    key_marker: String,
    upload_id_marker: &'a str,
    next_key_marker: String,
    next_upload_id_marker: String,
    delimiter: String,
    prefix: String,
    max_uploads: usize,
    is_truncated: bool,
    upload: Vec<ListedUpload<'a>>,
    common_prefixes: Vec<CommonPrefixes>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListedUpload<'a> {
    key: String,
    upload_id: &'a str,
    initiated: String,
}
