//! Objects on disk.
//!
//! Layout under the data dir: `buckets/<bucket>/objects/<sha256(key)>.json` (metadata, the commit
//! point) and `<sha256(key)>.<random>.data` (bytes). Names are hashes, so no key can reach outside
//! the folder. Every file is written to a temporary file, synced, then renamed into place.

use crate::body::RequestBody;
use crate::body_md5::BodyMd5;
use crate::xml::OssError;
use bytes::Bytes;
use oss_direct::crc64::Crc64Hasher;
use serde::{Deserialize, Serialize};
use sha2::Digest;
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
    /// Data files whose concatenation is the object, in order: a completed multipart upload's
    /// parts, moved here rather than copied into one file (issue 15). Empty when `data_file`
    /// holds the bytes; joined into one `data_file` the first time the object is opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// The object's own ACL (`None`: the bucket's).
    #[serde(default)]
    pub acl: Option<crate::context::Acl>,
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
    /// The body's whole length when it is announced (a Content-Length), else `None`.
    fn exact_len(&self) -> Option<u64> {
        None
    }
}

impl ChunkSource for RequestBody {
    fn next_chunk(
        &mut self,
    ) -> impl std::future::Future<Output = Result<Option<Bytes>, OssError>> + Send {
        self.chunk()
    }
    fn exact_len(&self) -> Option<u64> {
        self.announced_len()
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

/// Bodies announced at most this long are hashed and written by one blocking thread (MD5,
/// CRC-64 and the write of each batch in turn); longer ones (and unannounced ones) get a
/// thread for MD5 and one for CRC-64 and the writes. A photo or a 1 MiB part is short: a second
/// thread and its hand-offs cost more than they save (a quarter fewer context switches at
/// 1 MiB parts this way), and several parts arrive at once anyway. A long body is where MD5
/// alone (under 1 GB/s) would hold the upload back.
const ONE_THREAD_MAX: u64 = 4 << 20;

/// Reads `body` to its end, sending its chunks in batches to the threads (the MD5 one, when
/// there is one); returns the read error, if any. Stops early when a thread is gone (the
/// writer's I/O error is reported by it).
async fn feed_batches(
    body: &mut impl ChunkSource,
    md5_tx: Option<&tokio::sync::mpsc::Sender<Batch>>,
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
            let md5_gone = match md5_tx {
                Some(tx) => tx.send(batch.clone()).await.is_err(),
                None => false,
            };
            if md5_gone || write_tx.send(batch).await.is_err() {
                return error;
            }
        }
        if end {
            return error;
        }
    }
}

/// The writing thread of [`Storage::write_temp`]: CRC-64 (and MD5 when `with_md5`) and the
/// write of each chunk, then a sync; the size, the CRC and the MD5 it took.
fn write_batches(
    mut file: std::fs::File,
    mut rx: tokio::sync::mpsc::Receiver<Batch>,
    with_md5: bool,
) -> std::io::Result<(u64, u64, Option<[u8; 16]>)> {
    let mut crc = Crc64Hasher::new();
    let mut md5 = with_md5.then(BodyMd5::new);
    let mut size = 0u64;
    while let Some(batch) = rx.blocking_recv() {
        for c in batch.iter() {
            if let Some(h) = &mut md5 {
                h.update(c);
            }
            crc.update(c);
            file.write_all(c)?;
            size += c.len() as u64;
        }
    }
    file.sync_data()?;
    Ok((size, crc.finish(), md5.map(BodyMd5::finish)))
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

    /// Opens the object's bytes (joining a completed multipart upload's segments into one file
    /// the first time). Retries if an overwrite replaced the data in between.
    pub fn open_data(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectMeta, std::fs::File)>, OssError> {
        for _ in 0..3 {
            let Some(meta) = self.head(bucket, key)? else {
                return Ok(None);
            };
            if !meta.segments.is_empty() {
                self.join_segments(bucket, key)?;
                continue;
            }
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
    /// This task reads the network while blocking threads hash and write: one thread for a body
    /// announced at most [`ONE_THREAD_MAX`] long; for a longer one MD5 runs on a thread of its
    /// own (on these 2-core machines one hash alone is slower than loopback). The body's chunks
    /// are handed over in batches of about [`BATCH`] bytes (shared, not copied), so the threads
    /// wake once per batch rather than once per chunk, and are written straight from the chunks
    /// (no copy into a write buffer).
    pub async fn write_temp(&self, body: &mut impl ChunkSource) -> Result<Written, OssError> {
        let temp = NamedTempFile::new_in(self.tmp_dir())?;
        let file = temp.reopen()?;
        let one_thread = body.exact_len().is_some_and(|n| n <= ONE_THREAD_MAX);
        let (md5_tx, md5_job) = if one_thread {
            (None, None)
        } else {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
            let job = tokio::task::spawn_blocking(move || {
                let mut h = BodyMd5::new();
                while let Some(batch) = rx.blocking_recv() {
                    batch.iter().for_each(|c| h.update(c));
                }
                h.finish()
            });
            (Some(tx), Some(job))
        };
        let (write_tx, write_rx) = tokio::sync::mpsc::channel::<Batch>(4);
        let write_job =
            tokio::task::spawn_blocking(move || write_batches(file, write_rx, one_thread));
        let read_error = feed_batches(body, md5_tx.as_ref(), &write_tx).await;
        drop(md5_tx);
        drop(write_tx);
        let md5 = match md5_job {
            Some(job) => Some(job.await.map_err(OssError::internal)?),
            None => None,
        };
        let (size, crc64, own_md5) = write_job.await.map_err(OssError::internal)??;
        if let Some(e) = read_error {
            return Err(e);
        }
        Ok(Written {
            temp,
            size,
            md5: md5
                .or(own_md5)
                .ok_or_else(|| OssError::internal("no MD5"))?,
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
            let (mut md5, mut crc) = (BodyMd5::new(), Crc64Hasher::new());
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
                md5: md5.finish(),
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
        meta.segments.clear();
        temp.persist(dir.join(&meta.data_file))
            .map_err(|e| OssError::from(e.error))?;
        self.write_meta_replacing(bucket, meta)
    }

    /// Commits `meta.key` as the concatenation of `files` (synced files on the same filesystem,
    /// a multipart upload's parts), moved into place as the object's segments: no copy of the
    /// bytes. If a move fails, the files already moved are moved back.
    pub fn commit_segments(
        &self,
        bucket: &str,
        mut meta: ObjectMeta,
        files: &[PathBuf],
    ) -> Result<ObjectMeta, OssError> {
        let dir = self.objects_dir(bucket);
        let base = format!("{}.{}", Self::object_id(&meta.key), random_hex(8));
        meta.data_file = String::new();
        meta.segments = (1..=files.len())
            .map(|i| format!("{base}.{i}.data"))
            .collect();
        for (i, (from, name)) in files.iter().zip(&meta.segments).enumerate() {
            if let Err(e) = std::fs::rename(from, dir.join(name)) {
                for (back, name) in files.iter().zip(&meta.segments).take(i) {
                    let _ = std::fs::rename(dir.join(name), back);
                }
                return Err(e.into());
            }
        }
        self.write_meta_replacing(bucket, meta)
    }

    /// Writes `meta` as the object's metadata (the commit point), then removes the bytes of the
    /// object it replaced.
    fn write_meta_replacing(&self, bucket: &str, meta: ObjectMeta) -> Result<ObjectMeta, OssError> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|e| e.into_inner());
        let previous: Option<ObjectMeta> = read_json(&self.meta_path(bucket, &meta.key))?;
        let json = serde_json::to_vec(&meta).map_err(OssError::internal)?;
        write_atomic(&self.tmp_dir(), &self.meta_path(bucket, &meta.key), &json)?;
        if let Some(p) = previous {
            self.remove_data(bucket, &p);
        }
        Ok(meta)
    }

    /// Removes an object's data file or segments (best effort: the metadata is gone already).
    fn remove_data(&self, bucket: &str, meta: &ObjectMeta) {
        let dir = self.objects_dir(bucket);
        for name in std::iter::once(&meta.data_file).chain(&meta.segments) {
            if !name.is_empty() {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
    }

    /// Joins a segmented object's segments into one synced data file and records it (the copy
    /// a CompleteMultipartUpload no longer makes, paid once, by the first read). Nothing to do
    /// if the object is gone or already one file.
    fn join_segments(&self, bucket: &str, key: &str) -> Result<(), OssError> {
        let _guard = self.commit_lock.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.meta_path(bucket, key);
        let Some(mut meta) = read_json::<ObjectMeta>(&path)? else {
            return Ok(());
        };
        if meta.segments.is_empty() {
            return Ok(());
        }
        let dir = self.objects_dir(bucket);
        let mut out = NamedTempFile::new_in(self.tmp_dir())?;
        for name in &meta.segments {
            // File to file: the kernel copies (copy_file_range), not this process.
            std::io::copy(&mut std::fs::File::open(dir.join(name))?, out.as_file_mut())?;
        }
        out.as_file().sync_data()?;
        let segments = std::mem::take(&mut meta.segments);
        meta.data_file = format!("{}.{}.data", Self::object_id(key), random_hex(8));
        out.persist(dir.join(&meta.data_file))
            .map_err(|e| OssError::from(e.error))?;
        let json = serde_json::to_vec(&meta).map_err(OssError::internal)?;
        write_atomic(&self.tmp_dir(), &path, &json)?;
        for name in segments {
            let _ = std::fs::remove_file(dir.join(name));
        }
        Ok(())
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
            self.remove_data(bucket, &meta);
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
    pub acl: crate::context::Acl,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A body of the given chunks, announcing its length or not.
    struct Chunks(std::collections::VecDeque<Bytes>, Option<u64>);

    impl ChunkSource for Chunks {
        async fn next_chunk(&mut self) -> Result<Option<Bytes>, OssError> {
            Ok(self.0.pop_front())
        }
        fn exact_len(&self) -> Option<u64> {
            self.1
        }
    }

    #[tokio::test]
    async fn one_thread_and_two_threads_write_and_hash_the_same() {
        use md5::Digest;
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        // Over a batch and a half, in uneven chunks.
        let data: Vec<u8> = (0..(BATCH * 3 / 2 + 12_345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let chunks = || data.chunks(70_001).map(Bytes::copy_from_slice).collect();
        for announced in [Some(data.len() as u64), None, Some(ONE_THREAD_MAX + 1)] {
            let w = s
                .write_temp(&mut Chunks(chunks(), announced))
                .await
                .unwrap();
            assert_eq!(w.size, data.len() as u64, "{announced:?}");
            assert_eq!(
                w.md5,
                <[u8; 16]>::from(md5::Md5::digest(&data)),
                "{announced:?}"
            );
            assert_eq!(w.crc64, oss_direct::crc64::checksum(&data), "{announced:?}");
            assert_eq!(std::fs::read(w.temp.path()).unwrap(), data, "{announced:?}");
        }
    }

    fn data_files(s: &Storage) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(s.objects_dir("b"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".data"))
            .collect();
        names.sort();
        names
    }

    /// Two "parts" in the upload area of the same filesystem, as UploadPart leaves them.
    fn parts(s: &Storage, tag: &str) -> Vec<PathBuf> {
        let dir = s.bucket_dir("b").join("uploads").join(tag);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("part-1.data"), dir.join("part-2.data"));
        std::fs::write(&a, b"hello ").unwrap();
        std::fs::write(&b, b"segments").unwrap();
        vec![a, b]
    }

    fn meta(key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size: 14,
            ..ObjectMeta::default()
        }
    }

    fn read_all(s: &Storage, key: &str) -> (ObjectMeta, Vec<u8>) {
        let (m, mut f) = s.open_data("b", key).unwrap().expect("the object exists");
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        (m, bytes)
    }

    #[test]
    fn parts_become_segments_without_a_copy_and_join_on_first_open() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        s.ensure_bucket("b").unwrap();
        let files = parts(&s, "u1");
        let committed = s.commit_segments("b", meta("k"), &files).unwrap();
        assert_eq!(committed.segments.len(), 2);
        assert!(files.iter().all(|f| !f.exists()), "moved, not copied");
        assert_eq!(data_files(&s).len(), 2);

        // Durable as committed: a fresh Storage on the same folder (a restart) reads it.
        let s = Storage::open(dir.path()).unwrap();
        let (m, bytes) = read_all(&s, "k");
        assert_eq!(bytes, b"hello segments");
        assert!(m.segments.is_empty() && !m.data_file.is_empty());
        assert_eq!(data_files(&s), vec![m.data_file.clone()], "segments gone");
        assert_eq!(read_all(&s, "k").1, b"hello segments", "and again");
    }

    #[test]
    fn overwriting_or_deleting_a_segmented_object_removes_its_segments() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        s.ensure_bucket("b").unwrap();
        s.commit_segments("b", meta("k"), &parts(&s, "u1")).unwrap();
        let mut t = NamedTempFile::new_in(s.tmp_dir()).unwrap();
        t.write_all(b"one file").unwrap();
        let m = s.commit("b", meta("k"), t).unwrap();
        assert_eq!(data_files(&s), vec![m.data_file]);
        assert_eq!(read_all(&s, "k").1, b"one file");

        s.commit_segments("b", meta("k2"), &parts(&s, "u2"))
            .unwrap();
        assert_eq!(data_files(&s).len(), 3);
        s.delete("b", "k2").unwrap();
        assert_eq!(data_files(&s).len(), 1);
        assert!(s.open_data("b", "k2").unwrap().is_none());
    }

    #[test]
    fn a_failed_move_puts_the_moved_parts_back_and_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        s.ensure_bucket("b").unwrap();
        let mut files = parts(&s, "u1");
        files.insert(1, s.bucket_dir("b").join("uploads/u1/missing.data"));
        assert!(s.commit_segments("b", meta("k"), &files).is_err());
        assert!(
            files[0].exists() && files[2].exists(),
            "the upload keeps its parts"
        );
        assert!(data_files(&s).is_empty());
        assert!(s.head("b", "k").unwrap().is_none());
    }
}
