//! The upload queue in the engine: one `oss_direct::queue::Queue` over the client of the
//! current connection, its database in the data folder (`queue.sqlite`), running in the
//! background. Settings that change how files upload (connection, part size, jobs, photo
//! preparation, …) open it again over the new client: running files are paused, the old
//! scheduler stops, the new queue resumes them.
//!
//! At start the queue is opened at once (offline, when the settings name a bucket and region)
//! so the history is there before the network is, and the old `history.json` is moved in;
//! then a background task connects, with capped backoff while the App server is away, and
//! starts the queue, so unfinished files resume by themselves (unless `autoResume` is off:
//! then they are paused on open and wait for Resume).

use super::records::{Record, Records};
use super::{now, OssDirect};
use crate::error::{Error, Result};
use crate::models::{AppSettings, QueueItem, QueueMessage, QueueSummary};
use oss_direct::queue::{FileId, FileState, Queue, QueueConfig, QueueEvent, QueuedFile};
use oss_direct::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::async_runtime::JoinHandle;
use tokio::sync::broadcast;

/// Progress messages per file at most this often (the last one always goes).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The queue the engine hosts, and what follows it.
pub struct QueueHost {
    hosted: tokio::sync::Mutex<Option<Hosted>>,
    /// The current queue, for calls that need no connection.
    current: Mutex<Option<Queue>>,
    records: Mutex<Option<Arc<Records>>>,
    hub: broadcast::Sender<QueueMessage>,
    /// Bytes done of files, as last reported (fresher than the database after a pause).
    progress: Arc<Mutex<HashMap<i64, u64>>>,
    /// Whether a queue was opened in this process (auto-resume is decided once, on start).
    opened: AtomicBool,
    /// Files settled before this are history, not the queue's view.
    session_start_ms: i64,
    /// Tasks to stop with the engine (runner, relay, start-up connector).
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

struct Hosted {
    /// The settings the queue was opened with (only those that change uploads).
    settings: AppSettings,
    queue: Queue,
    /// Running: the scheduler and the relay of its events. None: opened offline, not started.
    tasks: Option<(JoinHandle<()>, JoinHandle<()>)>,
}

impl Default for QueueHost {
    fn default() -> Self {
        Self {
            hosted: tokio::sync::Mutex::new(None),
            current: Mutex::new(None),
            records: Mutex::new(None),
            hub: broadcast::channel(1024).0,
            progress: Arc::default(),
            opened: AtomicBool::new(false),
            session_start_ms: now() * 1000 - 1000,
            tasks: Mutex::default(),
        }
    }
}

impl Drop for QueueHost {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

impl QueueHost {
    fn stop_tasks(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
        if let Ok(h) = self.hosted.try_lock() {
            if let Some((runner, relay)) = h.as_ref().and_then(|h| h.tasks.as_ref()) {
                runner.abort();
                relay.abort();
            }
        }
    }
}

/// The settings that make a queue: everything but the watermark text and auto-resume.
fn queue_settings(s: &AppSettings) -> AppSettings {
    AppSettings {
        watermark_text: String::new(),
        auto_resume: true,
        ..s.clone()
    }
}

impl OssDirect {
    /// The queue's database.
    pub fn queue_db(&self) -> PathBuf {
        self.dirs.data.join("queue.sqlite")
    }

    /// Messages of the queue (files changing state, progress), whichever queue is current.
    pub fn subscribe_queue(&self) -> broadcast::Receiver<QueueMessage> {
        self.queue.hub.subscribe()
    }

    /// Stops the queue's background work (the scheduler, the relay, the start-up connector);
    /// files keep their state in the database. For tests that start the engine again in one
    /// process; an app simply exits.
    pub fn shutdown(&self) {
        self.queue.stop_tasks();
    }

    /// The plugin's table beside the queue's, once a queue was opened.
    pub(crate) fn records_now(&self) -> Option<Arc<Records>> {
        self.queue
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The current queue without connecting (none before the first connection when the
    /// settings name no bucket yet).
    pub fn queue_now(&self) -> Option<Queue> {
        self.queue
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn queue_or_err(&self) -> Result<Queue> {
        self.queue_now().ok_or_else(|| {
            Error::Invalid(
                "the upload queue is not open yet: set the App server in Settings".into(),
            )
        })
    }

    /// Opens the queue at start, before any network: over a client built from the saved
    /// settings (its token is fetched when first needed), so the history and the unfinished
    /// files are there at once. Nothing runs until [`OssDirect::running_queue`].
    pub(crate) fn open_offline(&self) {
        let s = self.settings();
        if s.oss.server_url.trim().is_empty()
            || s.oss.bucket.trim().is_empty()
            || s.oss.region.trim().is_empty()
        {
            return;
        }
        let client = match offline_client(&s) {
            Ok(c) => c,
            Err(e) => return tracing::warn!(error = %e, "the upload queue stays closed"),
        };
        let config = self.queue_config(&s, None);
        match Queue::open(client, config) {
            Ok(queue) => {
                if let Err(e) = self.after_open(&queue, &s) {
                    tracing::warn!(error = %e, "the upload history could not be moved in");
                }
                *self.queue.hosted.try_lock().expect("no one else yet") = Some(Hosted {
                    settings: queue_settings(&s),
                    queue,
                    tasks: None,
                });
            }
            Err(e) => tracing::warn!(error = %e, "the upload queue could not be opened"),
        }
    }

    /// Keeps a background task to stop with the engine.
    pub(crate) fn keep_task(&self, task: JoinHandle<()>) {
        self.queue
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Whether a queue is running (connected).
    pub fn queue_running(&self) -> bool {
        self.queue
            .hosted
            .try_lock()
            .map(|h| h.as_ref().is_some_and(|h| h.tasks.is_some()))
            .unwrap_or(true)
    }

    /// After the settings changed: the running queue is opened again over the new settings
    /// (nothing happens when none runs yet, or when nothing that matters to uploads changed).
    pub async fn refresh_queue(&self) {
        if self.queue_running() {
            if let Err(e) = self.running_queue().await {
                tracing::warn!(error = %e, "the upload queue could not follow the new settings");
            }
        }
    }
    /// The running queue over the current connection: opened (or opened again, when the
    /// settings changed) and started as needed.
    pub async fn running_queue(&self) -> Result<Queue> {
        let conn = self.connect().await?;
        let settings = self.settings();
        let mut hosted = self.queue.hosted.lock().await;
        if let Some(h) = hosted.as_ref() {
            if h.tasks.is_some() && h.settings == queue_settings(&settings) {
                return Ok(h.queue.clone());
            }
        }
        let to_resume = match hosted.take() {
            Some(old) => stop(old).await,
            None => Vec::new(),
        };
        let queue = Queue::open(
            conn.client.clone(),
            self.queue_config(&settings, Some(&conn)),
        )?;
        self.after_open(&queue, &settings)?;
        for id in to_resume {
            let _ = queue.resume(id);
        }
        let runner = {
            let q = queue.clone();
            // On the engine's own thread: every upload the scheduler starts runs there.
            super::runtime::spawn(async move {
                if let Err(e) = q.run(false).await {
                    tracing::error!(error = %e, "the upload queue stopped");
                }
            })
        };
        let relay = tauri::async_runtime::spawn(relay(
            queue.clone(),
            self.queue.hub.clone(),
            self.records_now(),
            self.queue.progress.clone(),
            self.dirs.cache.clone(),
        ));
        *hosted = Some(Hosted {
            settings: queue_settings(&settings),
            queue: queue.clone(),
            tasks: Some((runner, relay)),
        });
        let _ = self.queue.hub.send(QueueMessage::Reset);
        Ok(queue)
    }

    /// After a queue is opened: it becomes current, the plugin's table is there, the old
    /// history is moved in, and on the first open of this process files wait for the user
    /// when auto-resume is off.
    fn after_open(&self, queue: &Queue, s: &AppSettings) -> Result<()> {
        *self.queue.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(queue.clone());
        if self.records_now().is_none() {
            let records = Arc::new(Records::open(&self.queue_db())?);
            *self.queue.records.lock().unwrap_or_else(|e| e.into_inner()) = Some(records);
        }
        if let Some(r) = self.records_now() {
            let n = r.migrate_history(&self.dirs.data.join("history.json"))?;
            if n > 0 {
                tracing::info!(entries = n, "history.json moved into the upload database");
            }
        }
        if !self.queue.opened.swap(true, Ordering::SeqCst) && !s.auto_resume {
            queue.pause_all()?;
        }
        Ok(())
    }

    fn queue_config(&self, s: &AppSettings, conn: Option<&Connection>) -> QueueConfig {
        let mut c = QueueConfig::new(self.queue_db());
        c.jobs = s.jobs.clamp(1, 10);
        c.upload.mode = s.upload_mode;
        c.upload.part_size = s.part_size;
        c.upload.concurrency = s.concurrency;
        c.upload.checkpoint_dir = Some(self.checkpoint_dir());
        c.upload.callback = conn.and_then(super::upload::callback_from);
        c.prepare = s
            .prepare_options()
            .map(|o| (o, self.dirs.cache.join("prepared")));
        c
    }

    /// Adds picked files (handles from the picker) to the queue, each under its key (default:
    /// the suggested one). Every handle and key is checked before any file is added.
    /// While the App server cannot be reached (the app started offline), the files are added to
    /// the queue opened at start and upload once the background connection succeeds.
    pub async fn enqueue(&self, files: Vec<crate::models::EnqueueFile>) -> Result<Vec<QueueItem>> {
        let queue = match self.running_queue().await {
            Ok(q) => q,
            Err(Error::Oss(e)) if oss_direct::queue::is_transient(&e) => {
                let Some(q) = self.queue_now() else {
                    return Err(Error::Oss(e));
                };
                tracing::info!(error = %e, "files queued until the App server answers");
                q
            }
            Err(e) => return Err(e),
        };
        let settings = self.settings();
        let mut checked = Vec::new();
        for f in files {
            let pick = self.picks.get(&f.file)?;
            let key = f.key.unwrap_or_else(|| settings.oss.key_for(&pick.name));
            settings.oss.check_key(&key)?;
            super::pick_size(&pick).await?;
            checked.push((pick, key));
        }
        let mut out = Vec::new();
        for (pick, key) in checked {
            let file = self.add_to_queue(&queue, &pick, &key, None)?;
            out.push(self.item(file));
        }
        Ok(out)
    }

    /// Adds one picked file to the queue and records its details.
    pub(crate) fn add_to_queue(
        &self,
        queue: &Queue,
        pick: &crate::picks::Pick,
        key: &str,
        ui_id: Option<&str>,
    ) -> Result<QueuedFile> {
        let file = queue.add(&pick.local, key)?;
        if let Some(r) = self.records_now() {
            let record = Record {
                ui_id: None,
                name: pick.name.clone(),
                source: pick.source.clone(),
                bucket: self.settings().oss.bucket,
            };
            r.record(file.id.0, ui_id, &record)?;
        }
        Ok(file)
    }

    /// A queue row as the UI sees it.
    pub(crate) fn item(&self, f: QueuedFile) -> QueueItem {
        let name = self
            .records_now()
            .and_then(|r| r.get(f.id.0).ok().flatten())
            .map(|r| r.name);
        self.item_named(f, name)
    }

    pub(crate) fn item_named(&self, f: QueuedFile, name: Option<String>) -> QueueItem {
        let live = self.live_bytes(f.id.0);
        to_item(f, name, live, self.queue_now().as_ref())
    }

    fn live_bytes(&self, id: i64) -> u64 {
        let p = self
            .queue
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        p.get(&id).copied().unwrap_or(0)
    }

    /// The queue as the upload screen shows it: files added in this run of the app, and every
    /// file not finished yet (oldest first).
    pub fn queue_items(&self) -> Result<Vec<QueueItem>> {
        let Some(queue) = self.queue_now() else {
            return Ok(Vec::new());
        };
        let names = self
            .records_now()
            .map(|r| r.all())
            .transpose()?
            .unwrap_or_default();
        let since = self.queue.session_start_ms;
        Ok(queue
            .files()?
            .into_iter()
            .filter(|f| {
                !matches!(f.state, FileState::Done | FileState::Cancelled)
                    || f.updated_at_ms >= since
            })
            .map(|f| {
                let name = names.get(&f.id.0).map(|r| r.name.clone());
                self.item_named(f, name)
            })
            .collect())
    }

    /// The queue's files, counts, bytes, speed and time left (over [`OssDirect::queue_items`]).
    pub fn queue_summary(&self) -> Result<QueueSummary> {
        let items = self.queue_items()?;
        let mut s = QueueSummary {
            files: items.len(),
            ..Default::default()
        };
        for f in items.iter().filter(|f| f.state != FileState::Cancelled) {
            s.bytes_total += f.size;
            s.bytes_done += match f.state {
                FileState::Done => f.size,
                _ => f.bytes_done.min(f.size),
            };
            match f.state {
                FileState::Waiting => s.waiting += 1,
                FileState::Paused => s.paused += 1,
                FileState::Failed => s.failed += 1,
                FileState::Done => s.done += 1,
                _ => s.active += 1,
            }
        }
        if let Some(q) = self.queue_now() {
            s.bytes_per_second = q.summary().map(|x| x.bytes_per_second).unwrap_or(0.0);
        }
        let left = s.bytes_total.saturating_sub(s.bytes_done);
        s.eta_seconds = (s.bytes_per_second > 0.0 && s.active + s.waiting > 0)
            .then(|| (left as f64 / s.bytes_per_second).ceil() as u64);
        s.running = self.queue_running();
        Ok(s)
    }

    /// Pauses one file (a running upload stops; its checkpoint stays).
    pub fn queue_pause(&self, id: i64) -> Result<()> {
        Ok(self.queue_or_err()?.pause(FileId(id))?)
    }

    /// Resumes a paused file, or retries a failed one.
    pub fn queue_resume(&self, id: i64) -> Result<()> {
        Ok(self.queue_or_err()?.resume(FileId(id))?)
    }

    /// Cancels a file: stops it and aborts its partial upload in OSS.
    pub async fn queue_cancel(&self, id: i64) -> Result<()> {
        let queue = match self.running_queue().await {
            Ok(q) => q,
            Err(_) => self.queue_or_err()?,
        };
        Ok(queue.cancel(FileId(id)).await?)
    }

    /// Pauses every file the queue is working on.
    pub fn queue_pause_all(&self) -> Result<()> {
        Ok(self.queue_or_err()?.pause_all()?)
    }

    /// Resumes every paused file and retries every failed one.
    pub fn queue_resume_all(&self) -> Result<()> {
        Ok(self.queue_or_err()?.resume_all()?)
    }

    /// Tells files waiting for the network to try now (e.g. the system says it is back).
    pub fn network_changed(&self) {
        if let Some(q) = self.queue_now() {
            q.network_changed();
        }
    }
}

/// A queue row for the UI: its name (the picked file's, else the file name), and the freshest
/// byte count.
fn to_item(f: QueuedFile, name: Option<String>, live: u64, queue: Option<&Queue>) -> QueueItem {
    let out = queue.and_then(|q| q.result(f.id)).and_then(|r| r.upload);
    let name = name.unwrap_or_else(|| {
        f.source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let bytes_done = match f.state {
        FileState::Done => f.bytes_done,
        _ => f.bytes_done.max(live),
    };
    // What preparing did, for photos (other files are never changed: nothing to say).
    let is_photo = oss_direct::object::content_type_for(Path::new(&f.key)).starts_with("image/");
    let note = f.note.filter(|_| is_photo);
    QueueItem {
        id: f.id.0,
        name,
        key: f.key,
        size: f.size,
        state: f.state,
        reason: f.reason,
        bytes_done,
        etag: f.etag,
        crc64: f.crc64.map(|c| c.to_string()),
        note,
        added_at_ms: f.added_at_ms,
        updated_at_ms: f.updated_at_ms,
        resumed_parts: out.as_ref().map_or(0, |o| o.upload.resumed_parts),
        callback: out.and_then(|o| o.upload.callback),
    }
}

/// A client for the saved settings without asking the App server now (its token is fetched
/// on the first request).
fn offline_client(s: &AppSettings) -> oss_direct::Result<oss_direct::Client> {
    let mut provider = oss_direct::AuthServerCredentials::new(s.oss.server_url.trim())?;
    if !s.user_token.is_empty() {
        provider = provider.with_bearer(&s.user_token);
    }
    let mut config = oss_direct::ClientConfig::new(s.oss.bucket.trim(), s.oss.region.trim())
        .with_signature_version(s.oss.signature_version);
    if !s.oss.endpoint.trim().is_empty() {
        config = config.with_endpoint(s.oss.endpoint.trim());
    }
    oss_direct::Client::new(config, Arc::new(provider))
}

/// Stops a queue that is being replaced: the files it works on are paused (their checkpoints
/// stay) and returned, to be resumed by the next queue; its scheduler stops, and the call
/// returns once its uploads have wound down (no event for 300 ms, at most 5 s).
async fn stop(old: Hosted) -> Vec<FileId> {
    let Some((runner, relay)) = old.tasks else {
        return Vec::new();
    };
    let active: Vec<FileId> = old
        .queue
        .files()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.state.is_active())
        .map(|f| f.id)
        .collect();
    let mut events = old.queue.subscribe();
    runner.abort();
    for id in &active {
        let _ = old.queue.pause(*id);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        match tokio::time::timeout(Duration::from_millis(300), events.recv()).await {
            Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => break,
            Ok(_) => {}
        }
    }
    relay.abort();
    active
}

/// Forwards a queue's events to the engine's subscribers as UI messages: names looked up,
/// progress at most ten times a second per file, and a done file's cache copy (an Android
/// `content://` pick) removed.
async fn relay(
    queue: Queue,
    hub: broadcast::Sender<QueueMessage>,
    records: Option<Arc<Records>>,
    progress: Arc<Mutex<HashMap<i64, u64>>>,
    cache: PathBuf,
) {
    let mut events = queue.subscribe();
    let mut sent: HashMap<FileId, Instant> = HashMap::new();
    loop {
        let event = match events.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match event {
            QueueEvent::File { file } => {
                if matches!(file.state, FileState::Done | FileState::Cancelled) {
                    drop_cache_copy(&file.source, &cache);
                }
                let name = records
                    .as_ref()
                    .and_then(|r| r.get(file.id.0).ok().flatten())
                    .map(|r| r.name);
                let live = progress
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&file.id.0)
                    .copied();
                let item = to_item(file, name, live.unwrap_or(0), Some(&queue));
                let _ = hub.send(QueueMessage::File { file: item });
            }
            QueueEvent::Progress {
                id,
                bytes_done,
                bytes_total,
            } => {
                progress
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.0, bytes_done);
                let due = sent.get(&id).is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
                if due || bytes_done >= bytes_total {
                    sent.insert(id, Instant::now());
                    let _ = hub.send(QueueMessage::Progress {
                        id: id.0,
                        bytes_done,
                        bytes_total,
                    });
                }
            }
        }
    }
}

/// Removes the cache copy of a picked file once it is stored or cancelled (only files in the cache's
/// `picked/` folder: an original is never touched).
fn drop_cache_copy(source: &Path, cache: &Path) {
    if source.starts_with(cache.join("picked")) {
        let _ = std::fs::remove_file(source);
    }
}

/// Starts the queue in the background as soon as the App server answers, trying again with
/// capped backoff (1 s doubling to 60 s) while it does not; so files left unfinished resume
/// without a tap. Called once, when the plugin is set up.
pub(crate) fn start_in_background<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    use tauri::Manager;
    let engine = app.state::<OssDirect>();
    if engine.settings().oss.server_url.trim().is_empty() {
        return;
    }
    let app = app.clone();
    let task = tauri::async_runtime::spawn(async move {
        let mut delay = Duration::from_secs(1);
        loop {
            let engine = app.state::<OssDirect>();
            match engine.running_queue().await {
                Ok(_) => return,
                Err(e) => tracing::info!(error = %e, "the upload queue waits for the App server"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(60));
        }
    });
    engine.keep_task(task);
}
