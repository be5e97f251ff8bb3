//! The one upload path: every upload, started or resumed, runs through [`OssDirect::run`], which
//! records it in the history, reports progress and keeps its cancellation token. A queue of many
//! files calls the same path.

use super::{now, pick_size, OssDirect};
use crate::error::{Error, Result};
use crate::models::*;
use oss_direct::{CancellationToken, Connection, Progress, UploadMode, UploadOptions};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

impl OssDirect {
    /// Starts an upload of a file the user picked: `req.file` must be a handle from
    /// [`OssDirect::add_pick`].
    pub async fn start_upload(
        &self,
        req: UploadRequest,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> Result<UploadResult> {
        if req.id.trim().is_empty() {
            return Err(Error::Invalid("an upload needs an id".into()));
        }
        let pick = self.picks.get(&req.file)?;
        let settings = self.settings();
        let conn = self.connect().await?;
        let settings_now = self.settings();
        settings_now.oss.check_key(&req.key)?;
        let size = pick_size(&pick).await?;
        let mode = req.mode.unwrap_or(settings.upload_mode);
        let resumable = match mode {
            UploadMode::Simple => false,
            UploadMode::Resumable => true,
            UploadMode::Auto => size >= oss_direct::resumable::AUTO_RESUMABLE_THRESHOLD,
        };
        let entry = HistoryEntry {
            id: req.id.clone(),
            key: req.key.clone(),
            bucket: conn.client.bucket().to_string(),
            source: pick.source,
            local_path: pick.local.to_string_lossy().into_owned(),
            name: pick.name,
            size,
            resumable,
            state: UploadState::Uploading,
            bytes_done: 0,
            etag: None,
            crc64: None,
            error: None,
            started_at: now(),
            updated_at: now(),
        };
        {
            let mut h = self.history.lock().expect("history lock");
            h.retain(|e| e.id != req.id);
            h.push(entry);
        }
        self.save_history()?;
        self.run(&req.id, conn, on_event).await
    }

    /// Resumes a paused or failed resumable upload from its checkpoint.
    pub async fn resume_upload(
        &self,
        id: &str,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> Result<UploadResult> {
        let entry = self
            .history()
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        if entry.state == UploadState::Done || entry.state == UploadState::Uploading {
            return Err(Error::Invalid(format!(
                "{} is {:?}, nothing to resume",
                entry.key, entry.state
            )));
        }
        let conn = self.connect().await?;
        self.update(id, |e| {
            e.state = UploadState::Uploading;
            e.error = None;
        })?;
        self.run(id, conn, on_event).await
    }

    /// The upload itself, for an entry already in the history: the library's `upload_file`
    /// with the settings' part size and concurrency, the app server's callback, progress to
    /// `on_event`, and a cancellation token that [`OssDirect::pause_upload`] and
    /// [`OssDirect::cancel_upload`] use.
    async fn run(
        &self,
        id: &str,
        conn: Connection,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> Result<UploadResult> {
        let entry = self
            .history()
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        let settings = self.settings();
        let cancel = CancellationToken::new();
        self.active
            .lock()
            .expect("active lock")
            .insert(id.to_string(), cancel.clone());
        let on_event = Arc::new(on_event);
        on_event(UploadEvent::Started {
            mode: if entry.resumable {
                "resumable"
            } else {
                "simple"
            }
            .into(),
            bytes_total: entry.size,
        });
        let (progress, last_bytes) = throttled_progress(on_event.clone());
        let options = UploadOptions {
            mode: if entry.resumable {
                UploadMode::Resumable
            } else {
                UploadMode::Simple
            },
            part_size: settings.part_size,
            concurrency: settings.concurrency,
            checkpoint_dir: Some(self.checkpoint_dir()),
            content_type: None,
            progress: Some(progress),
            cancel,
            callback: callback_from(&conn),
        };
        let result = conn
            .client
            .upload_file(&entry.key, Path::new(&entry.local_path), options)
            .await;
        self.active.lock().expect("active lock").remove(id);
        let last = last_bytes.load(Ordering::Relaxed);
        self.record_outcome(id, result, last, on_event.as_ref())
    }

    /// Records how an upload ended in the history (done, paused, failed; a cancelled one stays
    /// cancelled) and reports the final progress.
    fn record_outcome(
        &self,
        id: &str,
        result: oss_direct::Result<oss_direct::resumable::ResumableOutput>,
        last: u64,
        on_event: &(impl Fn(UploadEvent) + Send + Sync + 'static),
    ) -> Result<UploadResult> {
        match result {
            Ok(out) => {
                let u = &out.upload;
                on_event(UploadEvent::Progress {
                    bytes_done: u.bytes,
                    bytes_total: u.bytes,
                    parts_done: u.resumed_parts + u.uploaded_parts,
                    parts_total: u.resumed_parts + u.uploaded_parts,
                });
                let entry = self.update(id, |e| {
                    e.state = UploadState::Done;
                    e.bytes_done = u.bytes;
                    e.etag = Some(u.etag.clone());
                    e.crc64 = Some(u.crc64.to_string());
                    e.error = None;
                })?;
                self.drop_cache_copy(&entry);
                Ok(UploadResult {
                    entry,
                    resumed_parts: u.resumed_parts,
                    restarted: out.restarted,
                    callback: u.callback.clone(),
                })
            }
            Err(err) => {
                let paused = err.kind() == oss_direct::ErrorKind::Cancelled;
                let app_err = Error::from(err);
                let msg = app_err.to_string();
                let _ = self.update(id, |e| {
                    if e.state != UploadState::Cancelled {
                        e.state = if paused {
                            UploadState::Paused
                        } else {
                            UploadState::Failed
                        };
                    }
                    e.bytes_done = last;
                    e.error = (!paused).then_some(msg);
                });
                Err(app_err)
            }
        }
    }

    /// Pauses a running upload (the checkpoint stays; Resume carries on).
    pub fn pause_upload(&self, id: &str) -> Result<()> {
        match self.active.lock().expect("active lock").get(id) {
            Some(c) => {
                c.cancel();
                Ok(())
            }
            None => Err(Error::UnknownUpload(id.into())),
        }
    }

    /// Cancels an upload: stops it, aborts it in OSS and removes its checkpoint.
    pub async fn cancel_upload(&self, id: &str) -> Result<HistoryEntry> {
        let entry = self
            .history()
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        self.update(id, |e| e.state = UploadState::Cancelled)?;
        if let Some(c) = self.active.lock().expect("active lock").get(id) {
            c.cancel();
        }
        if entry.resumable {
            let conn = self.connect().await?;
            conn.client
                .abort_resumable_upload(
                    &entry.key,
                    Path::new(&entry.local_path),
                    Some(self.checkpoint_dir()),
                )
                .await?;
        }
        let entry = self.update(id, |e| {
            e.state = UploadState::Cancelled;
            e.error = None;
        })?;
        self.drop_cache_copy(&entry);
        Ok(entry)
    }

    fn drop_cache_copy(&self, entry: &HistoryEntry) {
        let local = Path::new(&entry.local_path);
        if local.starts_with(&self.dirs.cache) {
            let _ = std::fs::remove_file(local);
            self.picks.forget_local(local);
        }
    }
}

/// The upload callback the token server asks for, if any (a broken hint is logged and skipped:
/// the upload itself matters more).
fn callback_from(conn: &Connection) -> Option<oss_direct::Callback> {
    let hint = conn.hints.callback.clone()?;
    match hint.validate() {
        Ok(()) => Some(hint),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring the app server's callback hint");
            None
        }
    }
}

/// Progress to the UI at most every 100 ms (and always the last report), and the latest
/// byte count for the history.
fn throttled_progress(
    on_event: Arc<impl Fn(UploadEvent) + Send + Sync + 'static>,
) -> (oss_direct::ProgressFn, Arc<AtomicU64>) {
    let last_bytes = Arc::new(AtomicU64::new(0));
    let last_sent: Mutex<Option<Instant>> = Mutex::new(None);
    let bytes = last_bytes.clone();
    let f = move |p: Progress| {
        bytes.store(p.bytes_done, Ordering::Relaxed);
        let mut sent = last_sent.lock().expect("progress lock");
        let due = sent.is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if due || p.bytes_done == p.bytes_total {
            *sent = Some(Instant::now());
            // Sent under the lock so reports leave in the order they were taken.
            on_event(UploadEvent::Progress {
                bytes_done: p.bytes_done,
                bytes_total: p.bytes_total,
                parts_done: p.parts_done,
                parts_total: p.parts_total,
            });
        }
    };
    (Arc::new(f), last_bytes)
}
