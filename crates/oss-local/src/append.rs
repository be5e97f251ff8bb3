//! AppendObject (`POST /bucket/key?append&position=N`): an Appendable object grows by each
//! request whose `position` is its current length. Headers (type, metadata, ACL, storage class,
//! tags) count on the first append only, as on OSS. Each append rewrites the object's data file
//! (oss-local keeps one file per object), so an append costs the object's size in disk writes.

use crate::body::RequestBody;
use crate::context::Call;
use crate::context::Resp;
use crate::object::{
    check_length, check_md5, content_type, stored_headers, user_meta, WriteOptions,
};
use crate::storage::{now_secs, ObjectMeta};
use crate::xml::OssError;
use axum::body::Body;
use md5::{Digest, Md5};

fn position_error(next: u64) -> OssError {
    OssError::new(
        409,
        "PositionNotEqualToLength",
        "Position is not equal to file length.",
    )
    .with("NextAppendPosition", next.to_string())
    .with_header("x-oss-next-append-position", next.to_string())
}

/// AppendObject.
pub(crate) async fn append(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let lock_key = format!("append:{}/{}", c.bucket, c.key);
    let lock = c.state.upload_lock(&lock_key);
    let guard = lock.clone().lock_owned().await;
    let result = append_locked(c, body).await;
    drop(guard);
    c.state.release_lock(&lock_key, lock);
    result
}

/// AppendObject, with the object's append lock held.
async fn append_locked(c: &Call<'_>, body: &mut RequestBody) -> Result<Resp, OssError> {
    let (state, parts, bucket, key) = (c.state, c.parts, c.bucket, c.key);
    let position: u64 = c
        .target
        .param("position")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| OssError::invalid_argument("The position is missing or not a number."))?;
    let max = state.opts.max_object_size;
    check_length(&parts.headers, max)?;
    let existing = state.storage.open_data(bucket, key)?;
    let (size, object_type) = existing
        .as_ref()
        .map_or((0, "Appendable"), |(m, _)| (m.size, m.object_type.as_str()));
    if object_type != "Appendable" {
        return Err(OssError::new(
            409,
            "ObjectNotAppendable",
            "The object is not appendable.",
        ));
    }
    if position != size {
        return Err(position_error(size));
    }
    // As on OSS, the headers of later appends are ignored (not even checked).
    let options = existing
        .is_none()
        .then(|| WriteOptions::of(c))
        .transpose()?;
    body.limit(max.saturating_sub(size));
    let written = state.storage.write_temp(body).await?;
    check_md5(&parts.headers, &written.md5)?;
    let (meta, temp) = match existing {
        Some((old, file)) => grow(c, old, file, written).await?,
        None => {
            let mut meta = ObjectMeta {
                key: key.to_string(),
                content_type: content_type(&parts.headers),
                user_meta: user_meta(&parts.headers),
                headers: stored_headers(&parts.headers),
                object_type: "Appendable".into(),
                ..ObjectMeta::default()
            };
            if let Some(o) = options {
                o.apply(&mut meta);
            }
            meta.size = written.size;
            meta.crc64 = written.crc64;
            meta.etag = chain_etag("", &written.md5);
            (meta, written.temp)
        }
    };
    let meta = ObjectMeta {
        last_modified: now_secs(),
        ..meta
    };
    let meta = state.storage.commit(bucket, meta, temp)?;
    Ok(http::Response::builder()
        .status(200)
        .header("etag", format!("\"{}\"", meta.etag))
        .header("x-oss-next-append-position", meta.size.to_string())
        .header("x-oss-hash-crc64ecma", meta.crc64.to_string())
        .header("content-length", "0")
        .body(Body::empty())
        .expect("valid response"))
}

/// An appendable object's ETag (OSS's is not the content's MD5 either): MD5 over the previous
/// ETag and the appended bytes' MD5, so it changes with every append.
fn chain_etag(previous: &str, appended_md5: &[u8; 16]) -> String {
    let mut h = Md5::new();
    h.update(previous.as_bytes());
    h.update(appended_md5);
    hex::encode_upper(h.finalize())
}

/// The old bytes followed by the appended ones, in a new temporary file.
async fn grow(
    c: &Call<'_>,
    old: ObjectMeta,
    mut file: std::fs::File,
    appended: crate::storage::Written,
) -> Result<(ObjectMeta, tempfile::NamedTempFile), OssError> {
    let tmp_dir = c.state.storage.tmp_dir();
    let added = appended.temp;
    let temp = tokio::task::spawn_blocking(move || -> std::io::Result<tempfile::NamedTempFile> {
        let mut out = tempfile::NamedTempFile::new_in(tmp_dir)?;
        std::io::copy(&mut file, out.as_file_mut())?;
        std::io::copy(&mut added.reopen()?, out.as_file_mut())?;
        out.as_file().sync_data()?;
        Ok(out)
    })
    .await
    .map_err(OssError::internal)??;
    let meta = ObjectMeta {
        size: old.size + appended.size,
        crc64: oss_direct::crc64::combine(old.crc64, appended.crc64, appended.size),
        etag: chain_etag(&old.etag, &appended.md5),
        content_md5: None,
        ..old
    };
    Ok((meta, temp))
}
