//! The plugin's IPC commands (`plugin:oss-direct|<name>`): each translates between the webview
//! and [`OssDirect`], nothing more. Files are named by the handles [`pick_image`] issues, never
//! by path.

use crate::error::Result;
use crate::models::*;
use crate::picker;
use crate::service::OssDirect;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

/// Largest picked image shown as a preview before upload.
const PREVIEW_LIMIT: u64 = 20 * 1024 * 1024;

/// The saved settings.
#[tauri::command]
pub(crate) fn get_settings(service: State<'_, OssDirect>) -> AppSettings {
    service.settings()
}

/// Validates and saves the settings; answers them as saved.
/// The running upload queue follows the new settings.
#[tauri::command]
pub(crate) async fn save_settings(
    service: State<'_, OssDirect>,
    settings: AppSettings,
) -> Result<AppSettings> {
    let saved = service.save_settings(settings)?;
    service.refresh_queue().await;
    Ok(saved)
}

/// Fetches a fresh token: its expiry, and the settings with empty fields filled from the app
/// server's hints.
#[tauri::command]
pub(crate) async fn test_connection(service: State<'_, OssDirect>) -> Result<ConnectionInfo> {
    service.test_connection().await
}

/// Opens the system image picker and returns a handle to the picked file (never its path), or
/// nothing when the user cancelled.
#[tauri::command]
pub(crate) async fn pick_image<R: Runtime>(
    app: AppHandle<R>,
    service: State<'_, OssDirect>,
) -> Result<Option<PickedFile>> {
    picker::pick_image(&app, &service).await
}

/// Describes a picked file again (its size now, the object name suggested for it) by the
/// handle [`pick_image`] returned. A path is refused.
#[tauri::command]
pub(crate) async fn describe_file(service: State<'_, OssDirect>, id: String) -> Result<PickedFile> {
    service.describe(&id).await
}

/// The picked image, by its handle, as a `data:` URL for the preview (none above 20 MB or for
/// other files). A path is refused.
#[tauri::command]
pub(crate) async fn preview_file(
    service: State<'_, OssDirect>,
    id: String,
) -> Result<Option<String>> {
    service.preview(&id, PREVIEW_LIMIT).await
}

/// A warning for a settings screen when the App server URL would carry the user token and the
/// STS credentials in clear to a host outside the local network; nothing otherwise.
#[tauri::command]
pub(crate) fn server_url_warning(url: String) -> Option<String> {
    oss_direct::endpoint::cleartext_warning(&url)
}

fn forward(channel: Channel<UploadEvent>) -> impl Fn(UploadEvent) + Send + Sync + 'static {
    move |e| {
        let _ = channel.send(e);
    }
}

/// Uploads a picked file: `request.file` is the handle [`pick_image`] returned; a path is
/// refused. Progress arrives on `on_event`.
#[tauri::command]
pub(crate) async fn start_upload(
    service: State<'_, OssDirect>,
    request: UploadRequest,
    on_event: Channel<UploadEvent>,
) -> Result<UploadResult> {
    service.start_upload(request, forward(on_event)).await
}

/// Resumes a paused or failed upload from its checkpoint, by its id in the history.
#[tauri::command]
pub(crate) async fn resume_upload(
    service: State<'_, OssDirect>,
    id: String,
    on_event: Channel<UploadEvent>,
) -> Result<UploadResult> {
    service.resume_upload(&id, forward(on_event)).await
}

/// Pauses a running upload (the checkpoint stays).
#[tauri::command]
pub(crate) fn pause_upload(service: State<'_, OssDirect>, id: String) -> Result<()> {
    service.pause_upload(&id)
}

/// Cancels an upload: stops it, aborts it in OSS, removes its checkpoint.
#[tauri::command]
pub(crate) async fn cancel_upload(
    service: State<'_, OssDirect>,
    id: String,
) -> Result<HistoryEntry> {
    service.cancel_upload(&id).await
}

/// Every upload, newest first.
#[tauri::command]
pub(crate) fn get_history(service: State<'_, OssDirect>) -> Vec<HistoryEntry> {
    service.history()
}

/// Thumbnail and watermarked preview (as `data:` URLs) and a signed link of an upload.
#[tauri::command]
pub(crate) async fn get_previews(service: State<'_, OssDirect>, key: String) -> Result<Previews> {
    service.previews(&key).await
}

/// A presigned GET URL, optionally with an `x-oss-process` (a thumbnail for an `<img>`).
#[tauri::command]
pub(crate) async fn signed_url(
    service: State<'_, OssDirect>,
    request: SignedUrlRequest,
) -> Result<String> {
    service.signed_url(request).await
}

/// A page of the uploads the app server recorded from upload callbacks, with thumbnails.
#[tauri::command]
pub(crate) async fn list_server_uploads(
    service: State<'_, OssDirect>,
    after: Option<String>,
) -> Result<ServerUploads> {
    service.server_uploads(after).await
}

/// Downloads the original of an upload to a place the user picks. Returns the bytes written,
/// or nothing when the user cancelled.
#[tauri::command]
pub(crate) async fn download_upload<R: Runtime>(
    app: AppHandle<R>,
    service: State<'_, OssDirect>,
    key: String,
) -> Result<Option<u64>> {
    picker::save_download(&app, &service, &key).await
}

/// Opens the system image picker for several files at once and returns a handle for each
/// (never a path); empty when the user cancelled.
#[tauri::command]
pub(crate) async fn pick_images<R: Runtime>(
    app: AppHandle<R>,
    service: State<'_, OssDirect>,
) -> Result<Vec<PickedFile>> {
    picker::pick_images(&app, &service).await
}

/// Adds picked files (by handle) to the upload queue; they upload in the background.
#[tauri::command]
pub(crate) async fn enqueue(
    service: State<'_, OssDirect>,
    files: Vec<EnqueueFile>,
) -> Result<Vec<QueueItem>> {
    service.enqueue(files).await
}

/// The queue: this session's files and every unfinished one, oldest first.
#[tauri::command]
pub(crate) fn queue_list(service: State<'_, OssDirect>) -> Result<Vec<QueueItem>> {
    service.queue_items()
}

/// The queue at a glance: files, bytes, speed, time left.
#[tauri::command]
pub(crate) fn queue_summary(service: State<'_, OssDirect>) -> Result<QueueSummary> {
    service.queue_summary()
}

/// Pauses one queued file (its checkpoint stays).
#[tauri::command]
pub(crate) fn queue_pause(service: State<'_, OssDirect>, id: i64) -> Result<()> {
    service.queue_pause(id)
}

/// Resumes a paused file, or retries a failed one.
#[tauri::command]
pub(crate) fn queue_resume(service: State<'_, OssDirect>, id: i64) -> Result<()> {
    service.queue_resume(id)
}

/// Cancels one queued file and aborts its partial upload in OSS.
#[tauri::command]
pub(crate) async fn queue_cancel(service: State<'_, OssDirect>, id: i64) -> Result<()> {
    service.queue_cancel(id).await
}

/// Pauses every file the queue is working on.
#[tauri::command]
pub(crate) fn queue_pause_all(service: State<'_, OssDirect>) -> Result<()> {
    service.queue_pause_all()
}

/// Resumes every paused file and retries every failed one.
#[tauri::command]
pub(crate) fn queue_resume_all(service: State<'_, OssDirect>) -> Result<()> {
    service.queue_resume_all()
}

/// Sends the queue's messages (a file changed, progress, the queue was reopened) on
/// `on_event` until the webview goes away.
#[tauri::command]
pub(crate) fn queue_events(service: State<'_, OssDirect>, on_event: Channel<QueueMessage>) {
    let mut messages = service.subscribe_queue();
    tauri::async_runtime::spawn(async move {
        loop {
            match messages.recv().await {
                Ok(m) => {
                    if on_event.send(m).is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Missed some: the UI lists the files again.
                    if on_event.send(QueueMessage::Reset).is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
