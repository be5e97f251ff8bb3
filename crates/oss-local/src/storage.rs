//! Objects on disk.
//!
//! Layout under the data dir: `buckets/<bucket>/objects/<sha256(key)>.json` (metadata, the commit
//! point) and `<sha256(key)>.<random>.data` (bytes). Names are hashes, so no key can reach outside
//! the folder. Every file is written to a temporary file, synced, then renamed into place.

use crate::body::RequestBody;
use crate::xml::OssError;
use md5::{Digest, Md5};
use oss_direct::crc64::Crc64Hasher;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

/// Metadata of a stored object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Upper-case hex, no quotes (`<md5>-<parts>` for multipart objects).
    pub etag: String,
    pub crc64: u64,
    pub content_type: String,
    /// base64 MD5 of the content (simple uploads only).
    pub content_md5: Option<String>,
    /// Seconds since the epoch.
    pub last_modified: i64,
    pub user_meta: Vec<(String, String)>,
    /// `Normal` or `Multipart`.
    pub object_type: String,
    pub data_file: String,
}

/// A body written to a temporary file, with its digests.
pub(crate) struct Written {
    pub temp: NamedTempFile,
    pub size: u64,
    pub md5: [u8; 16],
    pub crc64: u64,
}

/// The on-disk store.
pub(crate) struct Storage {
    root: PathBuf,
    commit_lock: Mutex<()>,
}

/// Writes `bytes` to `path` through a synced temporary file in `tmp_dir` (same filesystem).
pub(crate) fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(tmp_dir)?;
    let mut t = NamedTempFile::new_in(tmp_dir)?;
    t.write_all(bytes)?;
    t.as_file().sync_data()?;
    t.persist(path).map_err(|e| e.error)?;
    Ok(())
}

pub(crate) fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A random lower-case hex string of `n` bytes.
pub(crate) fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

impl Storage {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("tmp"))?;
        std::fs::create_dir_all(root.join("buckets"))?;
        // Temporary files left by a crash are garbage.
        if let Ok(entries) = std::fs::read_dir(root.join("tmp")) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            commit_lock: Mutex::new(()),
        })
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join("buckets").join(bucket)
    }

    fn objects_dir(&self, bucket: &str) -> PathBuf {
        self.bucket_dir(bucket).join("objects")
    }

    pub fn ensure_bucket(&self, bucket: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(self.objects_dir(bucket))?;
        std::fs::create_dir_all(self.bucket_dir(bucket).join("uploads"))
    }

    fn object_id(key: &str) -> String {
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    }

    fn meta_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.objects_dir(bucket)
            .join(format!("{}.json", Self::object_id(key)))
    }

    /// The object's metadata, if it exists.
    pub fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, OssError> {
        read_json(&self.meta_path(bucket, key))
    }

    /// Opens the object's bytes. Retries once if an overwrite replaced the data in between.
    pub fn open_data(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectMeta, std::fs::File)>, OssError> {
        for _ in 0..3 {
            let Some(meta) = self.head(bucket, key)? else {
                return Ok(None);
            };
            match std::fs::File::open(self.objects_dir(bucket).join(&meta.data_file)) {
                Ok(f) => return Ok(Some((meta, f))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(OssError::internal("object data kept disappearing"))
    }

    /// Streams a body into a synced temporary file, computing MD5 and CRC-64.
    pub async fn write_temp(&self, body: &mut RequestBody) -> Result<Written, OssError> {
        let temp = NamedTempFile::new_in(self.tmp_dir())?;
        // Large writes: fewer hops to the blocking pool than one per network chunk.
        let mut file = tokio::io::BufWriter::with_capacity(
            1024 * 1024,
            tokio::fs::File::from_std(temp.reopen()?),
        );
        let mut md5 = Md5::new();
        let mut crc = Crc64Hasher::new();
        let mut size = 0u64;
        while let Some(chunk) = body.chunk().await? {
            md5.update(&chunk);
            crc.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.get_ref().sync_data().await?;
        Ok(Written {
            temp,
            size,
            md5: md5.finalize().into(),
            crc64: crc.finish(),
        })
    }

    /// Moves a written temporary file into place as `meta.key` and records its metadata.
    pub fn commit(
        &self,
        bucket: &str,
        mut meta: ObjectMeta,
        temp: NamedTempFile,
    ) -> Result<ObjectMeta, OssError> {
        let dir = self.objects_dir(bucket);
        let id = Self::object_id(&meta.key);
        meta.data_file = format!("{id}.{}.data", random_hex(8));
        temp.persist(dir.join(&meta.data_file))
            .map_err(|e| OssError::from(e.error))?;
        let _guard = self.commit_lock.lock().unwrap_or_else(|e| e.into_inner());
        let previous: Option<ObjectMeta> = read_json(&self.meta_path(bucket, &meta.key))?;
        let json = serde_json::to_vec(&meta).map_err(OssError::internal)?;
        write_atomic(&self.tmp_dir(), &self.meta_path(bucket, &meta.key), &json)?;
        if let Some(p) = previous {
            let _ = std::fs::remove_file(dir.join(p.data_file));
        }
        Ok(meta)
    }

    /// Deletes an object (no error if it does not exist).
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), OssError> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.meta_path(bucket, key);
        if let Some(meta) = read_json::<ObjectMeta>(&path)? {
            std::fs::remove_file(&path)?;
            let _ = std::fs::remove_file(self.objects_dir(bucket).join(meta.data_file));
        }
        Ok(())
    }

    /// All objects of a bucket, sorted by key.
    pub fn list(&self, bucket: &str) -> Result<Vec<ObjectMeta>, OssError> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.objects_dir(bucket))?.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) == Some("json") {
                if let Some(m) = read_json::<ObjectMeta>(&path)? {
                    out.push(m);
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

/// Reads a JSON file; `None` if it does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, OssError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| OssError::internal(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A content type from the key's extension, as OSS does when none is given.
pub(crate) fn guess_content_type(key: &str) -> &'static str {
    let ext = key.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}
