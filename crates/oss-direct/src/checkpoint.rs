//! The resumable upload's checkpoint: which upload id belongs to which file, saved atomically so
//! a crash, a pause or a new process can carry on where the last one stopped.

use crate::error::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const VERSION: u32 = 1;
const OP: &str = "Checkpoint";

/// What identifies the file's content well enough to trust an earlier upload of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
}

impl FileStamp {
    /// Reads the stamp of a file.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        let mtime_ns = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Ok(Self {
            size: meta.len(),
            mtime_ns,
        })
    }
}

/// One unfinished resumable upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub version: u32,
    /// Bucket.
    pub bucket: String,
    /// Object name.
    pub key: String,
    /// The local file (absolute).
    pub file: PathBuf,
    /// The file as it was when the upload started.
    pub stamp: FileStamp,
    /// Part size the upload was started with.
    pub part_size: u64,
    /// OSS upload id.
    pub upload_id: String,
    /// Content-Type given at initiation.
    pub content_type: String,
    /// When the upload started (Unix seconds).
    pub created_at: i64,
}

impl Checkpoint {
    /// A checkpoint for a new upload.
    pub fn new(
        bucket: &str,
        key: &str,
        file: &Path,
        stamp: FileStamp,
        part_size: u64,
        upload_id: &str,
        content_type: &str,
    ) -> Self {
        Self {
            version: VERSION,
            bucket: bucket.into(),
            key: key.into(),
            file: file.into(),
            stamp,
            part_size,
            upload_id: upload_id.into(),
            content_type: content_type.into(),
            created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// Why this checkpoint cannot be used for the file as it is now, if it cannot.
    pub fn mismatch(&self, stamp: FileStamp, part_size: u64) -> Option<String> {
        if self.stamp.size != stamp.size {
            Some(format!(
                "the file's size changed ({} -> {} bytes) since the upload started",
                self.stamp.size, stamp.size
            ))
        } else if self.stamp.mtime_ns != stamp.mtime_ns {
            Some("the file was modified since the upload started".into())
        } else if self.part_size != part_size {
            Some(format!(
                "the part size changed ({} -> {} bytes)",
                self.part_size, part_size
            ))
        } else {
            None
        }
    }
}

/// What was found where a checkpoint would be.
#[derive(Debug)]
pub enum Loaded {
    /// No checkpoint.
    Missing,
    /// A readable checkpoint for this bucket, key and file.
    Found(Checkpoint),
    /// Something that cannot be trusted, and why.
    Corrupt(String),
}

/// A folder of checkpoints, one JSON file per (bucket, key, file).
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
}

impl CheckpointStore {
    /// Checkpoints kept in `dir` (created when the first one is saved).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The platform's data folder for this library (e.g. `~/.local/share/oss-direct/checkpoints`).
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("com", "oss-direct", "oss-direct")
            .map(|d| d.data_local_dir().join("checkpoints"))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the checkpoint of this bucket, key and file lives.
    pub fn path_for(&self, bucket: &str, key: &str, file: &Path) -> PathBuf {
        let mut h = Sha256::new();
        for part in [
            bucket.as_bytes(),
            key.as_bytes(),
            file.as_os_str().as_encoded_bytes(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        self.dir
            .join(format!("{}.json", &hex::encode(h.finalize())[..40]))
    }

    /// Reads the checkpoint of this bucket, key and file.
    pub fn load(&self, bucket: &str, key: &str, file: &Path) -> Loaded {
        let path = self.path_for(bucket, key, file);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::Missing,
            Err(e) => return Loaded::Corrupt(format!("cannot read {}: {e}", path.display())),
        };
        match serde_json::from_slice::<Checkpoint>(&text) {
            Ok(c) if c.version != VERSION => {
                Loaded::Corrupt(format!("unknown checkpoint version {}", c.version))
            }
            Ok(c) if c.bucket != bucket || c.key != key || c.file != file => {
                Loaded::Corrupt("the checkpoint belongs to another upload".into())
            }
            Ok(c) if c.upload_id.is_empty() => {
                Loaded::Corrupt("the checkpoint has no upload id".into())
            }
            Ok(c) => Loaded::Found(c),
            Err(e) => Loaded::Corrupt(format!("{} is not a valid checkpoint: {e}", path.display())),
        }
    }

    /// Saves atomically: a temporary file in the same folder, synced, then renamed over.
    pub fn save(&self, c: &Checkpoint) -> Result<()> {
        let fail = |e: std::io::Error| {
            Error::new(
                ErrorKind::Checkpoint,
                OP,
                format!(
                    "cannot save the resume checkpoint in {}: {e} — free some space or choose another checkpoint folder",
                    self.dir.display()
                ),
            )
            .with_source(e)
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let path = self.path_for(&c.bucket, &c.key, &c.file);
        let json = serde_json::to_vec_pretty(c).expect("a checkpoint serializes");
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(fail)?;
        tmp.write_all(&json).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(())
    }

    /// Deletes the checkpoint of this bucket, key and file (no error if there is none).
    pub fn remove(&self, bucket: &str, key: &str, file: &Path) -> Result<()> {
        match std::fs::remove_file(self.path_for(bucket, key, file)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(OP, "cannot remove the checkpoint", e)),
        }
    }

    /// Every readable checkpoint in the folder: the unfinished uploads.
    pub fn list(&self) -> Vec<Checkpoint> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Checkpoint> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|t| serde_json::from_slice::<Checkpoint>(&t).ok())
            .filter(|c| c.version == VERSION)
            .collect();
        out.sort_by_key(|c| c.created_at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> (CheckpointStore, Checkpoint) {
        let store = CheckpointStore::new(dir.join("cp"));
        let stamp = FileStamp {
            size: 10,
            mtime_ns: 7,
        };
        let c = Checkpoint::new(
            "b",
            "k",
            Path::new("/f"),
            stamp,
            1 << 20,
            "UP",
            "image/jpeg",
        );
        (store, c)
    }

    #[test]
    fn save_load_remove_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let (store, c) = sample(d.path());
        assert!(matches!(
            store.load("b", "k", Path::new("/f")),
            Loaded::Missing
        ));
        store.save(&c).unwrap();
        match store.load("b", "k", Path::new("/f")) {
            Loaded::Found(got) => assert_eq!(got, c),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.list(), vec![c.clone()]);
        // Saving again replaces, leaving no temporary files behind.
        store.save(&c).unwrap();
        assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 1);
        store.remove("b", "k", Path::new("/f")).unwrap();
        assert!(matches!(
            store.load("b", "k", Path::new("/f")),
            Loaded::Missing
        ));
        store.remove("b", "k", Path::new("/f")).unwrap();
    }

    #[test]
    fn keyed_by_bucket_key_and_file() {
        let d = tempfile::tempdir().unwrap();
        let (store, _) = sample(d.path());
        let a = store.path_for("b", "k", Path::new("/f"));
        assert_ne!(a, store.path_for("b2", "k", Path::new("/f")));
        assert_ne!(a, store.path_for("b", "k2", Path::new("/f")));
        assert_ne!(a, store.path_for("b", "k", Path::new("/g")));
        // No ambiguity from concatenation.
        assert_ne!(
            store.path_for("ab", "c", Path::new("/f")),
            store.path_for("a", "bc", Path::new("/f"))
        );
    }

    #[test]
    fn invalidated_by_size_mtime_or_part_size() {
        let d = tempfile::tempdir().unwrap();
        let (_, c) = sample(d.path());
        assert_eq!(c.mismatch(c.stamp, c.part_size), None);
        assert!(c
            .mismatch(
                FileStamp {
                    size: 11,
                    ..c.stamp
                },
                c.part_size
            )
            .unwrap()
            .contains("size"));
        assert!(c
            .mismatch(
                FileStamp {
                    mtime_ns: 8,
                    ..c.stamp
                },
                c.part_size
            )
            .unwrap()
            .contains("modified"));
        assert!(c.mismatch(c.stamp, 2 << 20).unwrap().contains("part size"));
    }

    #[test]
    fn corrupt_files_are_reported_not_trusted() {
        let d = tempfile::tempdir().unwrap();
        let (store, c) = sample(d.path());
        std::fs::create_dir_all(store.dir()).unwrap();
        let path = store.path_for("b", "k", Path::new("/f"));
        std::fs::write(&path, b"{\"version\":1,").unwrap();
        assert!(matches!(
            store.load("b", "k", Path::new("/f")),
            Loaded::Corrupt(_)
        ));
        // A checkpoint copied under another upload's name is not trusted either.
        let mut other = c.clone();
        other.key = "other".into();
        std::fs::write(&path, serde_json::to_vec(&other).unwrap()).unwrap();
        match store.load("b", "k", Path::new("/f")) {
            Loaded::Corrupt(why) => assert!(why.contains("another upload")),
            x => panic!("{x:?}"),
        }
        assert!(store.list().len() == 1); // listed as its own upload
    }

    #[test]
    fn unwritable_folder_is_a_checkpoint_error() {
        let d = tempfile::tempdir().unwrap();
        let blocker = d.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let store = CheckpointStore::new(blocker.join("sub"));
        let (_, c) = sample(d.path());
        let e = store.save(&c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Checkpoint);
        assert!(e.message().contains("checkpoint"), "{e}");
    }
}
