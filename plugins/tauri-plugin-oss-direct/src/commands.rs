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
#[tauri::command]
pub(crate) fn save_settings(
    service: State<'_, OssDirect>,
    settings: AppSettings,
) -> Result<AppSettings> {
    service.save_settings(settings)
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
