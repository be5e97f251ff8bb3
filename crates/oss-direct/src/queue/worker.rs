//! What the queue does with each file: prepare it, upload it, wait out the network, resume.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{FileId, FileState, Queue, QueueEvent, QueuedFile, Summary};
use crate::error::{Error, ErrorKind, Result};
use crate::progress::Progress;

/// How often a running file's byte count is written to the database (for a restart's display).
const PERSIST_PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The TCP probe's timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether waiting and trying again can fix `e`: the network, a timeout, a 5xx, an unreachable
/// or failing app server. AccessDenied, a missing or changed file, bad input: no.
pub fn is_transient(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Network | ErrorKind::Timeout => true,
        ErrorKind::Oss | ErrorKind::Credentials => e.is_retryable(),
        _ => false,
    }
}

/// What became of one attempt at a file.
enum Outcome {
    /// Finished: done, failed, paused or cancelled (the state is in the database).
    Settled,
    /// The network is away: wait and try again.
    Wait(Error),
}

impl Queue {
    /// Uploads queued files, [`super::QueueConfig::jobs`] at a time, until stopped; with
    /// `until_idle`, returns once no file is queued, preparing, uploading or waiting.
    pub async fn run(&self, until_idle: bool) -> Result<Summary> {
        loop {
            let busy: Vec<FileId> = self.running_ids();
            let free = self.inner.config.jobs.max(1).saturating_sub(busy.len());
            if free > 0 {
                for file in self.inner.store.next_queued(free, &busy)? {
                    self.start(file);
                }
            }
            if until_idle
                && self.running_ids().is_empty()
                && self.inner.store.next_queued(1, &[])?.is_empty()
            {
                return self.summary();
            }
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    fn running_ids(&self) -> Vec<FileId> {
        let running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
        running.keys().copied().collect()
    }

    fn start(&self, file: QueuedFile) {
        let token = CancellationToken::new();
        self.inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(file.id, token.clone());
        let queue = self.clone();
        tokio::spawn(async move {
            let id = file.id;
            if let Err(e) = queue.work(file, token).await {
                tracing::error!(error = %e, "the upload queue could not record a change");
            }
            queue
                .inner
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            queue
                .inner
                .live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            queue.inner.wake.notify_one();
        });
    }

    /// One file, from queued to settled.
    async fn work(&self, file: QueuedFile, token: CancellationToken) -> Result<()> {
        let store = &self.inner.store;
        let first = if self.inner.config.prepare.is_some() {
            FileState::Preparing
        } else {
            FileState::Uploading
        };
        if !store.set_state(file.id, first, None, &[FileState::Queued])? {
            return Ok(()); // paused or cancelled meanwhile
        }
        self.emit_file(file.id);
        let Some(path) = self.prepared_path(&file).await? else {
            return Ok(());
        };
        let mut backoff = self.inner.config.backoff_start;
        let mut waiting_since: Option<Instant> = None;
        loop {
            let before = self.live_bytes(file.id);
            match self.attempt(&file, &path, &token).await? {
                Outcome::Settled => return Ok(()),
                Outcome::Wait(e) => {
                    if self.live_bytes(file.id) > before {
                        backoff = self.inner.config.backoff_start; // it was moving: start over
                    }
                    let since = *waiting_since.get_or_insert_with(Instant::now);
                    if !self.wait(&file, &e, since, &mut backoff, &token).await? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// The file to upload: the prepared copy (made again after a restart, to the same name),
    /// or the original. `None` when preparing failed (the file is marked failed).
    async fn prepared_path(&self, file: &QueuedFile) -> Result<Option<PathBuf>> {
        let Some((options, cache)) = self.inner.config.prepare.clone() else {
            return Ok(Some(file.source.clone()));
        };
        let source = file.source.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            crate::prepare::prepare_file(&source, &cache, &options)
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Unexpected, "PreparePhoto", e.to_string()))?;
        let store = &self.inner.store;
        match prepared {
            Ok(p) => {
                store.set_note(file.id, &p.report.summary())?;
                let report = p.report.clone();
                self.record_result(file.id, |r| r.prepared = Some(report));
                store.set_state(file.id, FileState::Uploading, None, &[FileState::Preparing])?;
                self.emit_file(file.id);
                Ok(Some(p.path))
            }
            Err(e) => {
                self.fail(file.id, &e)?;
                Ok(None)
            }
        }
    }

    /// One try at uploading; settles the file unless the network is away.
    async fn attempt(
        &self,
        file: &QueuedFile,
        path: &PathBuf,
        token: &CancellationToken,
    ) -> Result<Outcome> {
        let mut options = self.inner.config.upload.clone();
        options.cancel = token.child_token();
        options.progress = Some(self.progress_fn(file.id));
        let result = self
            .inner
            .client
            .upload_file(&file.key, path, options)
            .await;
        let store = &self.inner.store;
        match result {
            Ok(out) => {
                let up = &out.upload;
                store.set_done(file.id, &up.etag, up.crc64, up.bytes)?;
                self.record_result(file.id, |r| r.upload = Some(out.clone()));
                if path != &file.source {
                    let _ = std::fs::remove_file(path); // the prepared copy
                }
                self.emit_file(file.id);
                Ok(Outcome::Settled)
            }
            Err(e) if e.kind() == ErrorKind::Cancelled || token.is_cancelled() => {
                self.after_stop(file, path).await?;
                Ok(Outcome::Settled)
            }
            Err(e) if is_transient(&e) => Ok(Outcome::Wait(e)),
            Err(e) => {
                self.fail(file.id, &e)?;
                Ok(Outcome::Settled)
            }
        }
    }

    /// Waits out the network with capped exponential backoff, probing before each try. False
    /// when the file was paused, cancelled or gave up meanwhile.
    async fn wait(
        &self,
        file: &QueuedFile,
        e: &Error,
        since: Instant,
        backoff: &mut Duration,
        token: &CancellationToken,
    ) -> Result<bool> {
        let store = &self.inner.store;
        let config = &self.inner.config;
        let reason = format!("waiting for the network: {}", e.message());
        store.set_state(
            file.id,
            FileState::Waiting,
            Some(&reason),
            &[FileState::Uploading],
        )?;
        self.emit_file(file.id);
        loop {
            if let Some(max) = config.max_wait {
                if since.elapsed() >= max {
                    let why = format!(
                        "gave up after {} s without the network: {}",
                        max.as_secs(),
                        e.message()
                    );
                    store.set_state(
                        file.id,
                        FileState::Failed,
                        Some(&why),
                        &[FileState::Waiting],
                    )?;
                    self.record_result(file.id, |r| r.error = Some(e.kind()));
                    self.emit_file(file.id);
                    return Ok(false);
                }
            }
            let delay = jittered(*backoff);
            *backoff = (*backoff * 2).min(config.backoff_max);
            tokio::select! {
                _ = token.cancelled() => return Ok(false),
                _ = tokio::time::sleep(delay) => {}
                _ = self.inner.wake_network.notified() => {}
            }
            if token.is_cancelled() {
                return Ok(false);
            }
            if self.probe().await {
                let resumed = [FileState::Waiting];
                return store.set_state(file.id, FileState::Uploading, None, &resumed);
            }
        }
    }

    /// Whether the OSS endpoint accepts a TCP connection: costs no request.
    async fn probe(&self) -> bool {
        let base = self.inner.client.endpoint().base_url();
        let Ok(url) = url::Url::parse(&base) else {
            return true;
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return true;
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, connect).await,
            Ok(Ok(_))
        )
    }

    /// After a pause or cancel stopped the upload: a cancelled file's partial upload is aborted.
    async fn after_stop(&self, file: &QueuedFile, path: &PathBuf) -> Result<()> {
        if let Some(now) = self.inner.store.get(file.id)? {
            if now.state == FileState::Cancelled {
                let dir = self.inner.config.upload.checkpoint_dir.clone();
                let _ = self
                    .inner
                    .client
                    .abort_resumable_upload(&file.key, path, dir)
                    .await;
                if path != &file.source {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        self.emit_file(file.id);
        Ok(())
    }

    /// Aborts the partial upload of a file that is not running (cancelled while queued, paused,
    /// failed or waiting for a slot).
    pub(crate) async fn abort_upload(&self, file: &QueuedFile) {
        let dir = self.inner.config.upload.checkpoint_dir.clone();
        let _ = self
            .inner
            .client
            .abort_resumable_upload(&file.key, &file.source, dir)
            .await;
    }

    fn fail(&self, id: FileId, e: &Error) -> Result<()> {
        self.record_result(id, |r| r.error = Some(e.kind()));
        let active = [
            FileState::Preparing,
            FileState::Uploading,
            FileState::Waiting,
        ];
        self.inner
            .store
            .set_state(id, FileState::Failed, Some(&e.to_string()), &active)?;
        self.emit_file(id);
        Ok(())
    }

    fn live_bytes(&self, id: FileId) -> u64 {
        let live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&id).copied().unwrap_or(0)
    }

    /// Progress of one file: kept in memory, sent as an event, and written to the database at
    /// most once a second.
    fn progress_fn(&self, id: FileId) -> crate::progress::ProgressFn {
        let queue = self.clone();
        let last_write = Arc::new(std::sync::Mutex::new(Instant::now()));
        Arc::new(move |p: Progress| {
            queue
                .inner
                .live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, p.bytes_done);
            let _ = queue.inner.events.send(QueueEvent::Progress {
                id,
                bytes_done: p.bytes_done,
                bytes_total: p.bytes_total,
            });
            let mut last = last_write.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= PERSIST_PROGRESS_EVERY {
                *last = Instant::now();
                let _ = queue.inner.store.set_progress(id, p.bytes_done);
            }
        })
    }
}

/// `base` ± 20 %, so that many files do not retry in step.
fn jittered(base: Duration) -> Duration {
    let factor = 0.8 + rand::random::<f64>() * 0.4;
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_waiting_can_fix_is_transient() {
        let e = |kind| Error::new(kind, "Op", "x");
        assert!(is_transient(&e(ErrorKind::Network)));
        assert!(is_transient(&e(ErrorKind::Timeout)));
        for kind in [
            ErrorKind::Io,
            ErrorKind::FileChanged,
            ErrorKind::InvalidInput,
            ErrorKind::Integrity,
            ErrorKind::Cancelled,
        ] {
            assert!(!is_transient(&e(kind)), "{kind:?}");
        }
        let oss = |status: u16, code: &str| {
            Error::from_oss(
                "PutObject",
                crate::error::OssError {
                    status,
                    code: code.into(),
                    ..Default::default()
                },
            )
        };
        assert!(is_transient(&oss(503, "ServiceUnavailable")));
        assert!(!is_transient(&oss(403, "AccessDenied")));
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
    }
}
