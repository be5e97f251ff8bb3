//! What the app does, without the IPC: settings, connection, uploads, history, previews.
//! The commands in `commands.rs` only translate to and from these calls.

use crate::error::{AppError, AppResult};
use crate::models::*;
use crate::picks::{Pick, Picks};
use crate::store;
use oss_direct::process::{Gravity, ImageProcess, Resize, ResizeMode, TextWatermark};
use oss_direct::{CancellationToken, Connection, GetOptions, Progress, UploadMode, UploadOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Width of the result screen's thumbnail.
pub const THUMBNAIL_WIDTH: u32 = 240;
/// The thumbnail's `x-oss-process`.
pub fn thumbnail_process() -> String {
    ImageProcess::new()
        .resize(Resize::new(ResizeMode::Lfit).width(THUMBNAIL_WIDTH))
        .to_string()
}
/// The watermarked preview's `x-oss-process`.
pub fn watermark_process(text: &str) -> String {
    let text = if text.trim().is_empty() {
        "oss-direct"
    } else {
        text.trim()
    };
    ImageProcess::new()
        .resize(Resize::new(ResizeMode::Lfit).width(640))
        .watermark(
            TextWatermark::new(text)
                .size(28)
                .color("FFFFFF")
                .gravity(Gravity::SouthEast)
                .offset(16, 16),
        )
        .to_string()
}

/// The app's folders.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Settings, history, checkpoints.
    pub data: PathBuf,
    /// Copies of picked files (mobile) while they upload.
    pub cache: PathBuf,
}

/// The app's state, shared by every command.
pub struct AppService {
    dirs: Dirs,
    settings: Mutex<AppSettings>,
    history: Mutex<Vec<HistoryEntry>>,
    active: Mutex<HashMap<String, CancellationToken>>,
    connection: tokio::sync::Mutex<Option<(AppSettings, Connection)>>,
    picks: Picks,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl AppService {
    /// Loads settings and history from `dirs.data`. Uploads that were running when the app
    /// stopped are listed as paused when their checkpoint survives, so they can be resumed.
    pub fn new(dirs: Dirs) -> Self {
        let settings: AppSettings = store::load(&dirs.data.join("settings.json"));
        let mut history: Vec<HistoryEntry> = store::load(&dirs.data.join("history.json"));
        let checkpoints =
            oss_direct::checkpoint::CheckpointStore::new(dirs.data.join("checkpoints"));
        for e in history
            .iter_mut()
            .filter(|e| e.state == UploadState::Uploading)
        {
            let has_checkpoint = e.resumable
                && matches!(
                    checkpoints.load(&e.bucket, &e.key, Path::new(&e.local_path)),
                    oss_direct::checkpoint::Loaded::Found(_)
                );
            e.state = if has_checkpoint {
                UploadState::Paused
            } else {
                UploadState::Failed
            };
            e.error = Some("the app stopped during the upload".into());
        }
        let service = Self {
            dirs,
            settings: Mutex::new(settings),
            history: Mutex::new(history),
            active: Mutex::new(HashMap::new()),
            connection: tokio::sync::Mutex::new(None),
            picks: Picks::default(),
        };
        let _ = service.save_history();
        service
    }

    /// The folders.
    pub fn dirs(&self) -> &Dirs {
        &self.dirs
    }

    /// Current settings.
    pub fn settings(&self) -> AppSettings {
        self.settings.lock().expect("settings lock").clone()
    }

    /// Validates and saves settings.
    pub fn save_settings(&self, s: AppSettings) -> AppResult<AppSettings> {
        if !s.oss.server_url.trim().is_empty() {
            oss_direct::AuthServerCredentials::new(s.oss.server_url.trim())?;
        }
        if !s.oss.endpoint.trim().is_empty() {
            oss_direct::Endpoint::parse(&s.oss.endpoint)?;
        }
        if s.concurrency == 0 || s.concurrency > 20 {
            return Err(AppError::Invalid(
                "concurrency must be between 1 and 20".into(),
            ));
        }
        if s.part_size < oss_direct::multipart::MIN_PART_SIZE {
            return Err(AppError::Invalid(format!(
                "the part size must be at least {} bytes (100 KB)",
                oss_direct::multipart::MIN_PART_SIZE
            )));
        }
        store::save(&self.dirs.data.join("settings.json"), &s)?;
        *self.settings.lock().expect("settings lock") = s.clone();
        Ok(s)
    }

    /// A client for the current settings (reused while the settings stay the same), with the
    /// settings' empty fields filled from the token server's hints and saved.
    pub async fn connect(&self) -> AppResult<Connection> {
        let settings = self.settings();
        if settings.oss.server_url.trim().is_empty() {
            return Err(AppError::Invalid(
                "set the App server URL in Settings first".into(),
            ));
        }
        let mut cached = self.connection.lock().await;
        if let Some((s, c)) = cached.as_ref() {
            if *s == settings {
                return Ok(c.clone());
            }
        }
        let mut filled = settings.clone();
        let token = (!settings.user_token.is_empty()).then_some(settings.user_token.as_str());
        let conn = filled.oss.connect(token).await?;
        if filled != settings {
            self.save_settings(filled.clone())?;
        }
        *cached = Some((filled, conn.clone()));
        Ok(conn)
    }

    /// "Test connection": a fresh token, its expiry, and the settings it filled in.
    pub async fn test_connection(&self) -> AppResult<ConnectionInfo> {
        *self.connection.lock().await = None;
        let conn = self.connect().await?;
        let exp = conn
            .expiration
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        Ok(ConnectionInfo {
            settings: self.settings(),
            expiration: exp
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            seconds_left: (exp - time::OffsetDateTime::now_utc()).whole_seconds(),
            endpoint: conn.client.endpoint().base_url(),
        })
    }

    /// Records a file the user picked (`source` as the picker gave it, `local` the readable
    /// file, `name` its name as the user knows it) and describes it under its new handle. Only
    /// the backend calls this, after the system picker answered: the webview has no way to
    /// name a file itself.
    pub async fn add_pick(
        &self,
        source: String,
        local: PathBuf,
        name: String,
    ) -> AppResult<PickedFile> {
        let id = self.picks.issue(source, local, name)?;
        self.describe(&id).await
    }

    /// Describes a picked file and suggests its object name (asking the token server for the
    /// allowed prefix first when none is known yet).
    pub async fn describe(&self, id: &str) -> AppResult<PickedFile> {
        let pick = self.picks.get(id)?;
        let size = pick_size(&pick).await?;
        let s = self.settings();
        if s.oss.object_prefix.is_empty() && !s.oss.server_url.is_empty() {
            if let Err(e) = self.connect().await {
                tracing::info!(error = %e, "no prefix hint yet");
            }
        }
        Ok(PickedFile {
            id: id.to_string(),
            suggested_key: self.settings().oss.key_for(&pick.name),
            name: pick.name,
            size,
        })
    }

    /// The picked image as a `data:` URL for the preview (none above `limit` bytes or for
    /// files that are not images). Reads off the IPC thread.
    pub async fn preview(&self, id: &str, limit: u64) -> AppResult<Option<String>> {
        use base64::Engine;
        let pick = self.picks.get(id)?;
        let mime = oss_direct::object::content_type_for(Path::new(&pick.name));
        if !mime.starts_with("image/") || pick_size(&pick).await? > limit {
            return Ok(None);
        }
        let bytes = tokio::fs::read(&pick.local)
            .await
            .map_err(|e| AppError::Io(format!("cannot read {}: {e}", pick.name)))?;
        Ok(Some(format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )))
    }

    /// Every upload, newest first.
    pub fn history(&self) -> Vec<HistoryEntry> {
        let mut h = self.history.lock().expect("history lock").clone();
        h.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        h
    }

    fn save_history(&self) -> AppResult<()> {
        let h = self.history.lock().expect("history lock").clone();
        store::save(&self.dirs.data.join("history.json"), &h)
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut HistoryEntry)) -> AppResult<HistoryEntry> {
        let entry = {
            let mut h = self.history.lock().expect("history lock");
            let e = h
                .iter_mut()
                .find(|e| e.id == id)
                .ok_or_else(|| AppError::UnknownUpload(id.into()))?;
            f(e);
            e.updated_at = now();
            e.clone()
        };
        self.save_history()?;
        Ok(entry)
    }

    fn checkpoint_dir(&self) -> PathBuf {
        self.dirs.data.join("checkpoints")
    }

    /// Starts an upload of a file the user picked: `req.file` must be a handle from
    /// [`AppService::add_pick`].
    pub async fn start_upload(
        &self,
        req: UploadRequest,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> AppResult<UploadResult> {
        if req.id.trim().is_empty() {
            return Err(AppError::Invalid("an upload needs an id".into()));
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
    ) -> AppResult<UploadResult> {
        let entry = self
            .history()
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| AppError::UnknownUpload(id.into()))?;
        if entry.state == UploadState::Done || entry.state == UploadState::Uploading {
            return Err(AppError::Invalid(format!(
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

    async fn run(
        &self,
        id: &str,
        conn: Connection,
        on_event: impl Fn(UploadEvent) + Send + Sync + 'static,
    ) -> AppResult<UploadResult> {
        let entry = self
            .history()
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| AppError::UnknownUpload(id.into()))?;
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
                let app_err = AppError::from(err);
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
    pub fn pause_upload(&self, id: &str) -> AppResult<()> {
        match self.active.lock().expect("active lock").get(id) {
            Some(c) => {
                c.cancel();
                Ok(())
            }
            None => Err(AppError::UnknownUpload(id.into())),
        }
    }

    /// Cancels an upload: stops it, aborts it in OSS and removes its checkpoint.
    pub async fn cancel_upload(&self, id: &str) -> AppResult<HistoryEntry> {
        let entry = self
            .history()
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| AppError::UnknownUpload(id.into()))?;
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

    /// Thumbnail and watermark made by OSS image processing, and a signed link.
    pub async fn previews(&self, key: &str) -> AppResult<Previews> {
        let settings = self.settings();
        let conn = self.connect().await?;
        let thumb = thumbnail_process();
        let mark = watermark_process(&settings.watermark_text);
        let get = |process: String| {
            let client = conn.client.clone();
            let key = key.to_string();
            async move {
                client
                    .get_object(
                        &key,
                        &GetOptions {
                            range: None,
                            process: Some(process),
                        },
                    )
                    .await
            }
        };
        let (t, w) = tokio::join!(get(thumb.clone()), get(mark.clone()));
        let signed = conn
            .client
            .presign_get(key, Duration::from_secs(3600), None)
            .await
            .ok();
        let error = t.as_ref().err().or(w.as_ref().err()).map(|e| {
            if e.code() == Some("AccessDenied") {
                "No preview: the token does not allow reading this object (the read-write policy does).".to_string()
            } else {
                format!("No preview: {e}")
            }
        });
        Ok(Previews {
            thumbnail: t.ok().map(|b| data_url(&b)),
            watermarked: w.ok().map(|b| data_url(&b)),
            signed_url: signed,
            thumbnail_process: thumb,
            watermark_process: mark,
            error,
        })
    }

    /// "My uploads": what the app server recorded from upload callbacks, with thumbnails made
    /// by OSS image processing and passed to the UI as bytes (`data:` URLs), so the webview
    /// loads no image from the network.
    pub async fn server_uploads(&self, after: Option<String>) -> AppResult<ServerUploads> {
        let conn = self.connect().await?;
        let page = conn
            .credentials
            .list_uploads(Some(20), after.as_deref())
            .await?;
        let small = ImageProcess::new()
            .resize(Resize::new(ResizeMode::Fill).width(96).height(96))
            .to_string();
        let mut thumbs = tokio::task::JoinSet::new();
        for (i, upload) in page.uploads.iter().enumerate() {
            let is_image = upload
                .content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("image/"))
                || upload.image_width.is_some();
            if is_image {
                let (client, key, process) =
                    (conn.client.clone(), upload.key.clone(), small.clone());
                thumbs.spawn(async move {
                    let got = client
                        .get_object(
                            &key,
                            &GetOptions {
                                range: None,
                                process: Some(process),
                            },
                        )
                        .await;
                    (i, got.ok().map(|b| data_url(&b)))
                });
            }
        }
        let mut thumbnails = vec![None; page.uploads.len()];
        while let Some(joined) = thumbs.join_next().await {
            if let Ok((i, t)) = joined {
                thumbnails[i] = t;
            }
        }
        let items = page
            .uploads
            .into_iter()
            .zip(thumbnails)
            .map(|(upload, thumbnail)| ServerUpload { upload, thumbnail })
            .collect();
        Ok(ServerUploads {
            items,
            next_after: page.next_after,
        })
    }

    /// Downloads an object (the original) to `dest`, CRC-checked.
    pub async fn download(&self, key: &str, dest: &Path) -> AppResult<u64> {
        let conn = self.connect().await?;
        Ok(conn
            .client
            .get_object_to_file(key, dest, &GetOptions::default())
            .await?)
    }

    /// Whether an upload is running.
    pub fn is_active(&self, id: &str) -> bool {
        self.active.lock().expect("active lock").contains_key(id)
    }
}

/// The size of a picked file now (it may have changed since it was picked).
async fn pick_size(pick: &Pick) -> AppResult<u64> {
    let meta = tokio::fs::metadata(&pick.local)
        .await
        .map_err(|e| AppError::Io(format!("cannot read {}: {e}", pick.name)))?;
    if !meta.is_file() {
        return Err(AppError::Invalid(format!("{} is not a file", pick.name)));
    }
    Ok(meta.len())
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

/// Image bytes as a `data:` URL the webview can show under its CSP.
fn data_url(bytes: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:{};base64,{}",
        sniff_mime(bytes),
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn sniff_mime(b: &[u8]) -> &'static str {
    match b {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, ..] => "image/jpeg",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'G', b'I', b'F', ..] => "image/gif",
        [b'B', b'M', ..] => "image/bmp",
        _ => "application/octet-stream",
    }
}
