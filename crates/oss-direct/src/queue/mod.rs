//! The upload queue: many files, over a network that comes and goes, with nothing lost.
//!
//! Files are added with [`Queue::add`] and kept in an SQLite database ([`QueueConfig::db_path`]);
//! [`Queue::run`] uploads up to [`QueueConfig::jobs`] files at once through one [`Client`], whose
//! cap on requests in flight (5 by default, the seed's `MaxConcurrentRequest`) holds whatever the
//! number of files. Each file goes `queued` → (`preparing`) → `uploading` → `done`, or `failed`
//! with a reason a user can act on; `paused` and `cancelled` are the user's.
//!
//! **Network loss is a wait, not a failure.** A connection error, a timeout, a 5xx or an
//! unreachable token server after the client's own retries moves the file to `waiting`; the
//! queue tries again with capped exponential backoff (a TCP probe of the endpoint first, so a
//! dead network costs no requests) and resumes from the checkpoint when the network is back,
//! with no tap however long the outage ([`QueueConfig::max_wait`] bounds it for tools). Errors
//! no retry can fix (AccessDenied, the file gone or changed) fail that file only.
//!
//! **Nothing is lost across restarts**: every state change is one SQLite statement, so a kill
//! at any moment leaves the database consistent; [`Queue::open`] puts files that were being
//! worked on back in the queue, and their checkpoints make them resume.
//!
//! ```no_run
//! # async fn run(client: oss_direct::Client) -> oss_direct::Result<()> {
//! use oss_direct::queue::{Queue, QueueConfig};
//! let queue = Queue::open(client, QueueConfig::new("/data/app/queue.sqlite"))?;
//! queue.add("/photos/a.jpg".as_ref(), "uploads/a.jpg")?;
//! queue.add("/photos/b.jpg".as_ref(), "uploads/b.jpg")?;
//! let summary = queue.run(true).await?; // until every file is done, failed or paused
//! assert_eq!(summary.done, 2);
//! # Ok(()) }
//! ```

mod store;
mod worker;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::prepare::PrepareOptions;
use crate::resumable::UploadOptions;
use store::Store;
pub use worker::is_transient;

/// A file's id in its queue.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct FileId(pub i64);

/// Where a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FileState {
    /// Waiting for a free slot.
    Queued,
    /// The photo is being prepared (metadata removed, scaled).
    Preparing,
    /// Bytes are going out.
    Uploading,
    /// Paused by the user; resumes only when asked.
    Paused,
    /// The network (or the app server) is away; tried again by itself.
    Waiting,
    /// Failed for a reason no retry fixes; `reason` says what to do.
    Failed,
    /// Stored, and OSS's CRC-64 matched.
    Done,
    /// Cancelled by the user; the partial upload was aborted.
    Cancelled,
}

impl FileState {
    /// The name stored in the database and sent to UIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Preparing => "preparing",
            Self::Uploading => "uploading",
            Self::Paused => "paused",
            Self::Waiting => "waiting",
            Self::Failed => "failed",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Preparing,
            Self::Uploading,
            Self::Paused,
            Self::Waiting,
            Self::Failed,
            Self::Done,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the queue is still working on a file in this state.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Self::Queued | Self::Preparing | Self::Uploading | Self::Waiting
        )
    }
}

/// One file of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedFile {
    /// Its id.
    pub id: FileId,
    /// The file on this device.
    pub source: PathBuf,
    /// The object name in OSS.
    pub key: String,
    /// Bytes, when added.
    pub size: u64,
    /// Modification time when added (ns since the epoch): with the size, which file this is.
    pub mtime_ns: i64,
    /// Where it is.
    pub state: FileState,
    /// Why it failed or waits, for a person.
    pub reason: Option<String>,
    /// Bytes OSS has (as last reported).
    pub bytes_done: u64,
    /// The object's ETag, once done.
    pub etag: Option<String>,
    /// The object's CRC-64, once done.
    pub crc64: Option<u64>,
    /// What preparing the photo did (e.g. `4.2 MB → 1.1 MB, location removed`).
    pub note: Option<String>,
    /// When it was added (ms since the epoch).
    pub added_at_ms: i64,
    /// When its state last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

/// What happens in a queue, as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum QueueEvent {
    /// A file changed state.
    #[serde(rename_all = "camelCase")]
    File {
        /// The file as it is now.
        file: QueuedFile,
    },
    /// Bytes went out.
    #[serde(rename_all = "camelCase")]
    Progress {
        /// Which file.
        id: FileId,
        /// Bytes OSS has.
        bytes_done: u64,
        /// The file's size.
        bytes_total: u64,
    },
}

/// The whole queue at a glance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Files in the queue.
    pub files: usize,
    /// Queued, preparing or uploading.
    pub active: usize,
    /// Waiting for the network.
    pub waiting: usize,
    /// Paused.
    pub paused: usize,
    /// Failed.
    pub failed: usize,
    /// Done.
    pub done: usize,
    /// Bytes of the files not cancelled.
    pub bytes_total: u64,
    /// Bytes OSS has of them.
    pub bytes_done: u64,
    /// Recent throughput, bytes per second.
    pub bytes_per_second: f64,
    /// Seconds left at that speed, when it is known.
    pub eta_seconds: Option<u64>,
}

/// How a queue runs.
#[derive(Clone)]
pub struct QueueConfig {
    /// The SQLite database (created if missing).
    pub db_path: PathBuf,
    /// Files uploading at once (each with `upload.concurrency` parts; the client caps requests).
    pub jobs: usize,
    /// How each file is uploaded: mode, part size, parts in flight, checkpoint folder, callback.
    /// `cancel` and `progress` are the queue's own.
    pub upload: UploadOptions,
    /// Photos prepared before upload (and the cache folder for the prepared copies).
    pub prepare: Option<(PrepareOptions, PathBuf)>,
    /// First wait after a network failure; doubled each time up to `backoff_max`.
    pub backoff_start: Duration,
    /// Longest wait between tries.
    pub backoff_max: Duration,
    /// Give up on a file after the network has been away this long (`None`: never).
    pub max_wait: Option<Duration>,
}

impl QueueConfig {
    /// Defaults: 3 files at once, resumable uploads chosen by size, 1 s to 60 s backoff, no
    /// limit on waiting.
    pub fn new(db_path: impl Into<PathBuf>) -> Self {
        Self {
            db_path: db_path.into(),
            jobs: 3,
            upload: UploadOptions::default(),
            prepare: None,
            backoff_start: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            max_wait: None,
        }
    }
}

/// An upload queue. Cheap to clone; clones share the queue.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    client: Client,
    config: QueueConfig,
    /// Files being worked on, with the token that pauses or cancels them.
    running: Mutex<HashMap<FileId, CancellationToken>>,
    /// Bytes done of running files, fresher than the database.
    live: Mutex<HashMap<FileId, u64>>,
    events: broadcast::Sender<QueueEvent>,
    /// Wakes the scheduler (a file was added or finished).
    wake: Notify,
    /// Wakes waiting files (the network may be back).
    wake_network: Notify,
    /// (when, bytes done in all) samples for the speed.
    samples: Mutex<VecDeque<(Instant, u64)>>,
    /// What happened to files settled by this process (the database keeps the state).
    results: Mutex<HashMap<FileId, FileResult>>,
}

/// The details of a file settled by this process, beyond its row: what OSS and the app server
/// said, what preparing the photo did, or what kind of error failed it.
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    /// The upload, when done.
    pub upload: Option<crate::resumable::ResumableOutput>,
    /// What preparing the photo did, when it was prepared.
    pub prepared: Option<crate::prepare::PrepareReport>,
    /// Why it failed, when it did.
    pub error: Option<ErrorKind>,
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Queue {
    /// Opens the queue's database; files that were being worked on when the process stopped are
    /// queued again (call [`Queue::pause_all`] next if they should wait for the user).
    pub fn open(client: Client, config: QueueConfig) -> Result<Self> {
        let store = Store::open(&config.db_path)?;
        store.requeue_interrupted()?;
        let (events, _) = broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                client,
                config,
                running: Mutex::default(),
                live: Mutex::default(),
                events,
                wake: Notify::new(),
                wake_network: Notify::new(),
                samples: Mutex::default(),
                results: Mutex::default(),
            }),
        })
    }

    /// Adds a file to upload as `key`. The same file (path, key, size and modification time)
    /// added again is not added twice: it keeps its state, and a failed or cancelled one is
    /// queued again.
    pub fn add(&self, source: &Path, key: &str) -> Result<QueuedFile> {
        let what = || format!("cannot read {}", source.display());
        let meta = std::fs::metadata(source).map_err(|e| Error::io("UploadQueue", &what(), e))?;
        if !meta.is_file() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "UploadQueue",
                format!("{} is not a file", source.display()),
            ));
        }
        let source =
            std::path::absolute(source).map_err(|e| Error::io("UploadQueue", &what(), e))?;
        let file = self
            .inner
            .store
            .add(&source, key, meta.len(), mtime_ns(&meta))?;
        self.emit_file(file.id);
        self.inner.wake.notify_one();
        Ok(file)
    }

    /// Every file, oldest first, with the freshest byte counts.
    pub fn files(&self) -> Result<Vec<QueuedFile>> {
        let mut files = self.inner.store.list()?;
        let live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        for f in &mut files {
            if let Some(b) = live.get(&f.id) {
                f.bytes_done = *b;
            }
        }
        Ok(files)
    }

    /// One file.
    pub fn file(&self, id: FileId) -> Result<Option<QueuedFile>> {
        self.inner.store.get(id)
    }

    /// The queue at a glance: counts, bytes, speed and time left.
    pub fn summary(&self) -> Result<Summary> {
        let files = self.files()?;
        let mut s = Summary {
            files: files.len(),
            ..Summary::default()
        };
        for f in files.iter().filter(|f| f.state != FileState::Cancelled) {
            s.bytes_total += f.size;
            s.bytes_done += f.bytes_done.min(f.size);
            match f.state {
                FileState::Waiting => s.waiting += 1,
                FileState::Paused => s.paused += 1,
                FileState::Failed => s.failed += 1,
                FileState::Done => s.done += 1,
                _ => s.active += 1,
            }
        }
        s.bytes_per_second = self.speed(s.bytes_done);
        let left = s.bytes_total - s.bytes_done;
        s.eta_seconds = (s.bytes_per_second > 0.0 && s.active + s.waiting > 0)
            .then(|| (left as f64 / s.bytes_per_second).ceil() as u64);
        Ok(s)
    }

    /// Bytes per second over the last 10 s of samples.
    fn speed(&self, bytes_done: u64) -> f64 {
        let mut samples = self.inner.samples.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        samples.push_back((now, bytes_done));
        while samples.len() > 2 && now.duration_since(samples[0].0) > Duration::from_secs(10) {
            samples.pop_front();
        }
        let (t0, b0) = samples[0];
        let dt = now.duration_since(t0).as_secs_f64();
        if dt < 0.5 {
            return 0.0;
        }
        bytes_done.saturating_sub(b0) as f64 / dt
    }

    /// What happened to a file this process settled (done or failed), beyond its row.
    pub fn result(&self, id: FileId) -> Option<FileResult> {
        let results = self.inner.results.lock().unwrap_or_else(|e| e.into_inner());
        results.get(&id).cloned()
    }

    fn record_result(&self, id: FileId, f: impl FnOnce(&mut FileResult)) {
        let mut results = self.inner.results.lock().unwrap_or_else(|e| e.into_inner());
        f(results.entry(id).or_default());
    }

    /// Events as they happen (a slow receiver misses some; [`Queue::files`] is the truth).
    pub fn subscribe(&self) -> broadcast::Receiver<QueueEvent> {
        self.inner.events.subscribe()
    }

    /// Pauses a file: a running upload stops (its checkpoint stays), a queued or waiting one
    /// stays put until resumed.
    pub fn pause(&self, id: FileId) -> Result<()> {
        let active = [
            FileState::Queued,
            FileState::Preparing,
            FileState::Uploading,
            FileState::Waiting,
        ];
        self.inner
            .store
            .set_state(id, FileState::Paused, None, &active)?;
        self.stop(id);
        self.emit_file(id);
        Ok(())
    }

    /// Queues a paused or failed file again.
    pub fn resume(&self, id: FileId) -> Result<()> {
        let from = [FileState::Paused, FileState::Failed];
        self.inner
            .store
            .set_state(id, FileState::Queued, None, &from)?;
        self.emit_file(id);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Cancels a file: a running upload stops and its partial upload is aborted in OSS.
    pub async fn cancel(&self, id: FileId) -> Result<()> {
        let not_done = [
            FileState::Queued,
            FileState::Preparing,
            FileState::Uploading,
            FileState::Waiting,
            FileState::Paused,
            FileState::Failed,
        ];
        let changed = self
            .inner
            .store
            .set_state(id, FileState::Cancelled, None, &not_done)?;
        let was_running = self.stop(id);
        if changed && !was_running {
            // Nothing is running to clean up after itself.
            if let Some(f) = self.inner.store.get(id)? {
                self.abort_upload(&f).await;
            }
        }
        self.emit_file(id);
        Ok(())
    }

    /// Pauses every file the queue is working on.
    pub fn pause_all(&self) -> Result<()> {
        for f in self.inner.store.list()? {
            if f.state.is_active() {
                self.pause(f.id)?;
            }
        }
        Ok(())
    }

    /// Queues every paused and failed file again.
    pub fn resume_all(&self) -> Result<()> {
        for f in self.inner.store.list()? {
            if matches!(f.state, FileState::Paused | FileState::Failed) {
                self.resume(f.id)?;
            }
        }
        Ok(())
    }

    /// Forgets done and cancelled files. How many.
    pub fn clear_finished(&self) -> Result<usize> {
        self.inner.store.clear_finished()
    }

    /// Tells waiting files to try now (e.g. the OS says the network is back).
    pub fn network_changed(&self) {
        self.inner.wake_network.notify_waiters();
    }

    fn stop(&self, id: FileId) -> bool {
        let running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn emit_file(&self, id: FileId) {
        if let Ok(Some(file)) = self.inner.store.get(id) {
            let _ = self.inner.events.send(QueueEvent::File { file });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_by_name() {
        for s in [
            FileState::Queued,
            FileState::Preparing,
            FileState::Uploading,
            FileState::Paused,
            FileState::Waiting,
            FileState::Failed,
            FileState::Done,
            FileState::Cancelled,
        ] {
            assert_eq!(FileState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(FileState::parse("lost"), None);
    }

    #[test]
    fn the_database_keeps_one_row_per_file_and_requeues_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.sqlite");
        let store = Store::open(&db).unwrap();
        let a = store.add(Path::new("/p/a.jpg"), "u/a.jpg", 10, 1).unwrap();
        let again = store.add(Path::new("/p/a.jpg"), "u/a.jpg", 10, 1).unwrap();
        assert_eq!(a.id, again.id);
        // A changed file (another mtime) is another upload.
        let changed = store.add(Path::new("/p/a.jpg"), "u/a.jpg", 10, 2).unwrap();
        assert_ne!(changed.id, a.id);
        store
            .set_state(a.id, FileState::Uploading, None, &[])
            .unwrap();
        store.set_done(changed.id, "E", 7, 10).unwrap();
        drop(store);
        let store = Store::open(&db).unwrap();
        assert_eq!(store.requeue_interrupted().unwrap(), 1);
        let files = store.list().unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].state, FileState::Queued);
        assert_eq!((files[1].state, files[1].crc64), (FileState::Done, Some(7)));
        // A done file added again stays done; a failed one is queued again.
        assert_eq!(
            store
                .add(Path::new("/p/a.jpg"), "u/a.jpg", 10, 2)
                .unwrap()
                .state,
            FileState::Done
        );
        store
            .set_state(a.id, FileState::Failed, Some("x"), &[])
            .unwrap();
        let requeued = store.add(Path::new("/p/a.jpg"), "u/a.jpg", 10, 1).unwrap();
        assert_eq!((requeued.state, requeued.reason), (FileState::Queued, None));
        // Conditional changes only from the states given.
        assert!(!store
            .set_state(a.id, FileState::Uploading, None, &[FileState::Paused])
            .unwrap());
    }
}
