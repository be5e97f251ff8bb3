//! Objects on disk.
//!
//! Layout under the data dir: `buckets/<bucket>/objects/<sha256(key)>.json` (metadata, the commit
//! point) and `<sha256(key)>.<random>.data` (bytes). Names are hashes, so no key can reach outside
//! the folder. Every file is written to a temporary file, synced, then renamed into place.

use crate::body::RequestBody;
use crate::xml::OssError;
use bytes::Bytes;
use md5::{Digest, Md5};
use oss_direct::crc64::Crc64Hasher;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tempfile::NamedTempFile;

/// Metadata of a stored object.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Standard headers given on upload and answered on GET/HEAD (`cache-control`,
    /// `content-disposition`, `content-encoding`, `content-language`, `expires`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// `Normal`, `Multipart` or `Appendable`.
    pub object_type: String,
    pub data_file: String,
    /// The object's own ACL (`None`: the bucket's).
    #[serde(default)]
    pub acl: Option<crate::acl::Acl>,
    /// `Standard` (`None`) or `IA`.
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Object tags, in the order given.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

/// Where an upload's bytes come from: a request body, or the file field of a PostObject form.
pub(crate) trait ChunkSource {
    /// The next chunk, or `None` at the end.
    fn next_chunk(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, OssError>> + Send;
}

impl ChunkSource for RequestBody {
    fn next_chunk(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, OssError>> + Send {
        self.chunk()
    }
}

/// A body written to a temporary file, with its digests.
pub(crate) struct Written {
    pub temp: NamedTempFile,
    pub size: u64,
    pub md5: [u8; 16],
    pub crc64: u64,
}

/// About this many bytes of a body go to the hashing and writing threads at once.
const BATCH: usize = 512 * 1024;
/// Chunks of a body, shared by the MD5 thread and the CRC-and-write thread.
type Batch = std::sync::Arc<Vec<Bytes>>;

/// Reads `body` to its end, sending its chunks in batches to both threads; returns the read
/// error, if any. Stops early when a thread is gone (the writer's I/O error is reported by it).
async fn feed_batches(
    body: &mut impl ChunkSource,
    md5_tx: &tokio::sync::mpsc::Sender<Batch>,
    write_tx: &tokio::sync::mpsc::Sender<Batch>,
) -> Option<OssError> {
    let mut pending = Vec::new();
    let mut pending_len = 0;
    loop {
        let (end, error) = match body.next_chunk().await {
            Ok(Some(chunk)) => {
                pending_len += chunk.len();
                pending.push(chunk);
                (false, None)
            }
            Ok(None) => (true, None),
            Err(e) => (true, Some(e)),
        };
        if pending_len >= BATCH || (end && !pending.is_empty()) {
            let batch: Batch = std::sync::Arc::new(std::mem::take(&mut pending));
            pending_len = 0;
            if md5_tx.send(batch.clone()).await.is_err() || write_tx.send(batch).await.is_err() {
                return error;
            }
        }
        if end {
            return error;
        }
    }
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
    ///
    /// MD5 runs on one blocking thread, CRC-64 and the file writes on another, while this task
    /// reads the network: on these 2-core machines one hash alone is slower than loopback. The
    /// body's chunks are handed over in batches of about [`BATCH`] bytes (shared, not copied),
    /// so the threads wake once per batch rather than once per chunk, and are written straight
    /// from the chunks (no copy into a write buffer).
    pub async fn write_temp(&self, body: &mut impl ChunkSource) -> Result<Written, OssError> {
        let temp = NamedTempFile::new_in(self.tmp_dir())?;
        let mut file = temp.reopen()?;
        let (md5_tx, mut md5_rx) = tokio::sync::mpsc::channel::<Batch>(4);
        let (write_tx, mut write_rx) = tokio::sync::mpsc::channel::<Batch>(4);
        let md5_job = tokio::task::spawn_blocking(move || {
            let mut h = Md5::new();
            while let Some(batch) = md5_rx.blocking_recv() {
                batch.iter().for_each(|c| h.update(c));
            }
            <[u8; 16]>::from(h.finalize())
        });
        let write_job = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, u64)> {
            let mut crc = Crc64Hasher::new();
            let mut size = 0u64;
            while let Some(batch) = write_rx.blocking_recv() {
                for c in batch.iter() {
                    crc.update(c);
                    file.write_all(c)?;
                    size += c.len() as u64;
                }
            }
            file.sync_data()?;
            Ok((size, crc.finish()))
        });
        let read_error = feed_batches(body, &md5_tx, &write_tx).await;
        drop(md5_tx);
        drop(write_tx);
        let md5 = md5_job.await.map_err(OssError::internal)?;
        let (size, crc64) = write_job.await.map_err(OssError::internal)??;
        if let Some(e) = read_error {
            return Err(e);
        }
        Ok(Written {
            temp,
            size,
            md5,
            crc64,
        })
    }

    /// Copies `len` bytes of `file` from `start` into a synced temporary file, with their
    /// digests (CopyObject, UploadPartCopy), off the async threads.
    pub async fn copy_to_temp(
        &self,
        mut file: std::fs::File,
        start: u64,
        len: u64,
    ) -> Result<Written, OssError> {
        use std::io::{Read, Seek};
        let temp = NamedTempFile::new_in(self.tmp_dir())?;
        tokio::task::spawn_blocking(move || -> Result<Written, OssError> {
            file.seek(std::io::SeekFrom::Start(start))?;
            let mut src = file.take(len);
            let mut out = std::io::BufWriter::with_capacity(1024 * 1024, temp.reopen()?);
            let (mut md5, mut crc) = (Md5::new(), Crc64Hasher::new());
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = src.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                md5.update(&buf[..n]);
                crc.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
            out.flush()?;
            out.get_ref().sync_data()?;
            drop(out);
            Ok(Written {
                temp,
                size,
                md5: md5.finalize().into(),
                crc64: crc.finish(),
            })
        })
        .await
        .map_err(OssError::internal)?
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

    /// Replaces an existing object's metadata (ACL, tags) keeping its bytes; `NoSuchKey` if
    /// it is gone.
    pub fn update_meta(
        &self,
        bucket: &str,
        key: &str,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> Result<ObjectMeta, OssError> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.meta_path(bucket, key);
        let mut meta: ObjectMeta = read_json(&path)?.ok_or_else(|| OssError::no_such_key(key))?;
        change(&mut meta);
        let json = serde_json::to_vec(&meta).map_err(OssError::internal)?;
        write_atomic(&self.tmp_dir(), &path, &json)?;
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

/// What oss-local keeps about a bucket made by PutBucket (`buckets/<bucket>/bucket.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BucketMeta {
    /// Seconds since the epoch.
    pub created: i64,
    /// The bucket's canned ACL.
    pub acl: crate::acl::Acl,
}

impl Storage {
    fn bucket_meta_path(&self, bucket: &str) -> PathBuf {
        self.bucket_dir(bucket).join("bucket.json")
    }

    /// Whether the bucket exists (configured or made by PutBucket, and not deleted).
    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.objects_dir(bucket).is_dir()
    }

    /// The bucket's recorded settings (`None` for a configured bucket never changed).
    pub fn bucket_meta(&self, bucket: &str) -> Result<Option<BucketMeta>, OssError> {
        read_json(&self.bucket_meta_path(bucket))
    }

    /// Records the bucket's settings (creating it if needed).
    pub fn put_bucket_meta(&self, bucket: &str, meta: &BucketMeta) -> Result<(), OssError> {
        self.ensure_bucket(bucket)?;
        let json = serde_json::to_vec(meta).map_err(OssError::internal)?;
        write_atomic(&self.tmp_dir(), &self.bucket_meta_path(bucket), &json)?;
        Ok(())
    }

    /// Deletes an empty bucket; `BucketNotEmpty` while it holds objects or multipart uploads.
    pub fn delete_bucket(&self, bucket: &str) -> Result<(), OssError> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|e| e.into_inner());
        let has_objects = std::fs::read_dir(self.objects_dir(bucket))?
            .flatten()
            .any(|e| e.path().extension().and_then(|x| x.to_str()) == Some("json"));
        let uploads = self.bucket_dir(bucket).join("uploads");
        let has_uploads = std::fs::read_dir(&uploads)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if has_objects || has_uploads {
            return Err(OssError::new(
                409,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty.",
            )
            .with("BucketName", bucket));
        }
        std::fs::remove_dir_all(self.bucket_dir(bucket))?;
        Ok(())
    }

    /// Names of the existing buckets, sorted.
    pub fn bucket_names(&self) -> Result<Vec<String>, OssError> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("buckets"))?
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| self.bucket_exists(n))
            .collect();
        names.sort();
        Ok(names)
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

/// The content type OSS stores when an upload names none.
pub(crate) const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
