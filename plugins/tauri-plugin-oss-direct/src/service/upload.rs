//! Single uploads and the history, on the queue: `start_upload` adds the picked file to the
//! queue and follows it until it is stored (or paused, cancelled, failed), so one path uploads
//! everything; the history is the queue's database (done files, and the others with their
//! state). An upload is named by the id the UI gave it, or by its queue id.

use super::{pick_size, OssDirect};
use crate::error::{Error, Result};
use crate::models::*;
use oss_direct::queue::{FileId, FileState, Queue, QueuedFile};
use oss_direct::{Connection, UploadMode};
use tokio::sync::broadcast;

impl OssDirect {
    /// Uploads a file the user picked (`req.file` must be a handle from
    /// [`OssDirect::add_pick`]) through the queue, reporting `started` and `progress` to
    /// `on_event`, and answers when it is stored. The queue's settings decide the mode
    /// (`req.mode` is no longer used). A file already stored under that key answers at once.
    pub async fn start_upload(
        &self,
        req: UploadRequest,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> Result<UploadResult> {
        if req.id.trim().is_empty() {
            return Err(Error::Invalid("an upload needs an id".into()));
        }
        let pick = self.picks.get(&req.file)?;
        let queue = self.running_queue().await?;
        self.settings().oss.check_key(&req.key)?;
        pick_size(&pick).await?;
        let messages = self.subscribe_queue();
        let file = self.add_to_queue(&queue, &pick, &req.key, Some(&req.id))?;
        self.follow(&queue, file, messages, on_event).await
    }

    /// Resumes a paused or failed upload from its checkpoint (also after a restart), by the id
    /// the UI gave it or its queue id, and answers when it is stored.
    pub async fn resume_upload(
        &self,
        id: &str,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> Result<UploadResult> {
        let file_id = self.resolve(id)?;
        let queue = self.running_queue().await?;
        let file = queue
            .file(file_id)?
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        if matches!(file.state, FileState::Done | FileState::Cancelled) {
            return Err(Error::Invalid(format!(
                "{} is {}, nothing to resume",
                file.key,
                file.state.as_str()
            )));
        }
        let messages = self.subscribe_queue();
        if matches!(file.state, FileState::Paused | FileState::Failed) {
            queue.resume(file_id)?;
        }
        self.follow(&queue, file, messages, on_event).await
    }

    /// The queue file an upload id names.
    fn resolve(&self, id: &str) -> Result<FileId> {
        let records = self
            .records_now()
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        records
            .resolve(id)?
            .map(FileId)
            .ok_or_else(|| Error::UnknownUpload(id.into()))
    }

    /// Follows one file until it settles: `started`, then `progress` as it goes; the result
    /// when it is stored, an error of kind `paused`, `cancelled` or the failure's otherwise.
    /// Waiting for the network is not an end: the queue tries again by itself.
    async fn follow(
        &self,
        queue: &Queue,
        file: QueuedFile,
        mut messages: broadcast::Receiver<QueueMessage>,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> Result<UploadResult> {
        let settings = self.settings();
        let resumable = is_resumable(settings.upload_mode, file.size);
        on_event(UploadEvent::Started {
            mode: if resumable { "resumable" } else { "simple" }.into(),
            bytes_total: file.size,
        });
        let parts = |done: u64, total: u64| -> (u32, u32) {
            if !resumable || total == 0 {
                return (u32::from(done >= total), 1);
            }
            let part = settings.part_size.max(1);
            ((done / part) as u32, total.div_ceil(part) as u32)
        };
        let id = file.id;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tokio::select! {
                m = messages.recv() => match m {
                    Ok(QueueMessage::Progress { id: p, bytes_done, bytes_total }) if p == id.0 => {
                        let (parts_done, parts_total) = parts(bytes_done, bytes_total);
                        on_event(UploadEvent::Progress { bytes_done, bytes_total, parts_done, parts_total });
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        messages = self.subscribe_queue();
                    }
                    _ => {}
                },
                _ = tick.tick() => {}
            }
            let now = self.queue_now().unwrap_or_else(|| queue.clone());
            let Some(f) = now.file(id)? else {
                return Err(Error::UnknownUpload(id.0.to_string()));
            };
            if let Some(end) = self.settled(&now, f, &on_event)? {
                return end;
            }
        }
    }

    /// How a file ended, if it has.
    fn settled(
        &self,
        queue: &Queue,
        f: QueuedFile,
        on_event: &(impl Fn(UploadEvent) + Send + Sync + 'static),
    ) -> Result<Option<Result<UploadResult>>> {
        let reason = f.reason.clone().unwrap_or_default();
        Ok(Some(match f.state {
            FileState::Done => {
                on_event(UploadEvent::Progress {
                    bytes_done: f.bytes_done,
                    bytes_total: f.bytes_done,
                    parts_done: 1,
                    parts_total: 1,
                });
                let out = queue.result(f.id).and_then(|r| r.upload);
                Ok(UploadResult {
                    entry: self.entry(f)?,
                    resumed_parts: out.as_ref().map_or(0, |o| o.upload.resumed_parts),
                    restarted: out.as_ref().and_then(|o| o.restarted.clone()),
                    callback: out.and_then(|o| o.upload.callback),
                })
            }
            FileState::Paused => Err(Error::Queue {
                kind: "paused",
                message: format!("{} is paused: Resume carries on from the last part", f.key),
            }),
            FileState::Cancelled => Err(Error::Queue {
                kind: "cancelled",
                message: format!("{} was cancelled", f.key),
            }),
            FileState::Failed => {
                let kind = queue.result(f.id).and_then(|r| r.error);
                Err(Error::from_queue(kind, &reason))
            }
            _ => return Ok(None),
        }))
    }

    /// Pauses an upload (the checkpoint stays; Resume carries on).
    pub fn pause_upload(&self, id: &str) -> Result<()> {
        let file_id = self.resolve(id)?;
        self.queue_pause(file_id.0)
    }

    /// Cancels an upload: stops it, aborts it in OSS and removes its checkpoint.
    pub async fn cancel_upload(&self, id: &str) -> Result<HistoryEntry> {
        let file_id = self.resolve(id)?;
        self.queue_cancel(file_id.0).await?;
        let queue = self
            .queue_now()
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        let file = queue
            .file(file_id)?
            .ok_or_else(|| Error::UnknownUpload(id.into()))?;
        self.entry(file)
    }

    /// Every upload, newest first: the queue's files (done ones are the history), including
    /// those moved in from an old `history.json`.
    pub fn history(&self) -> Vec<HistoryEntry> {
        let Some(queue) = self.queue_now() else {
            return Vec::new();
        };
        let records = self
            .records_now()
            .and_then(|r| r.all().ok())
            .unwrap_or_default();
        let mut out: Vec<HistoryEntry> = queue
            .files()
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                let r = records.get(&f.id.0).cloned();
                self.entry_with(f, r)
            })
            .collect();
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        out
    }

    fn entry(&self, f: QueuedFile) -> Result<HistoryEntry> {
        let r = match self.records_now() {
            Some(records) => records.get(f.id.0)?,
            None => None,
        };
        Ok(self.entry_with(f, r))
    }

    fn entry_with(&self, f: QueuedFile, r: Option<super::records::Record>) -> HistoryEntry {
        let settings = self.settings();
        let item = self.item_named(f.clone(), None);
        let (ui_id, name, source, bucket) = match r {
            Some(r) => (r.ui_id, r.name, r.source, r.bucket),
            None => (
                None,
                item.name.clone(),
                f.source.to_string_lossy().into_owned(),
                settings.oss.bucket.clone(),
            ),
        };
        HistoryEntry {
            id: ui_id.unwrap_or_else(|| f.id.0.to_string()),
            key: f.key,
            bucket,
            source,
            local_path: f.source.to_string_lossy().into_owned(),
            name,
            size: f.size,
            resumable: is_resumable(settings.upload_mode, f.size),
            state: match f.state {
                FileState::Queued => UploadState::Queued,
                FileState::Preparing | FileState::Uploading => UploadState::Uploading,
                FileState::Waiting => UploadState::Waiting,
                FileState::Paused => UploadState::Paused,
                FileState::Failed => UploadState::Failed,
                FileState::Done => UploadState::Done,
                FileState::Cancelled => UploadState::Cancelled,
            },
            bytes_done: item.bytes_done,
            etag: f.etag,
            crc64: f.crc64.map(|c| c.to_string()),
            error: f.reason,
            started_at: f.added_at_ms / 1000,
            updated_at: f.updated_at_ms / 1000,
        }
    }
}

fn is_resumable(mode: UploadMode, size: u64) -> bool {
    match mode {
        UploadMode::Simple => false,
        UploadMode::Resumable => true,
        UploadMode::Auto => size >= oss_direct::resumable::AUTO_RESUMABLE_THRESHOLD,
    }
}

/// The upload callback the token server asks for, if any (a broken hint is logged and skipped:
/// the upload itself matters more).
pub(crate) fn callback_from(conn: &Connection) -> Option<oss_direct::Callback> {
    let hint = conn.hints.callback.clone()?;
    match hint.validate() {
        Ok(()) => Some(hint),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring the app server's callback hint");
            None
        }
    }
}
