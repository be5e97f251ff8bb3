//! IPC commands: each translates between the UI and [`AppService`], nothing more.

use crate::error::{AppError, AppResult};
use crate::models::*;
use crate::service::AppService;
use std::path::{Path, PathBuf};
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::{DialogExt, FilePath};
use tauri_plugin_fs::FsExt;

/// What the picker offers.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "heic", "tif", "tiff",
];
/// Largest picked image shown as a preview before upload.
const PREVIEW_LIMIT: u64 = 20 * 1024 * 1024;

#[tauri::command]
pub fn get_settings(service: State<'_, AppService>) -> AppSettings {
    service.settings()
}

#[tauri::command]
pub fn save_settings(
    service: State<'_, AppService>,
    settings: AppSettings,
) -> AppResult<AppSettings> {
    service.save_settings(settings)
}

#[tauri::command]
pub async fn test_connection(service: State<'_, AppService>) -> AppResult<ConnectionInfo> {
    service.test_connection().await
}

/// Opens the system image picker and returns a handle to the picked file (never its path). On
/// Android the picked `content://` URI is copied into the app cache (through the fs plugin's Rust
/// API), so the upload reads a real file and can resume after a restart.
#[tauri::command]
pub async fn pick_image<R: Runtime>(
    app: AppHandle<R>,
    service: State<'_, AppService>,
) -> AppResult<Option<PickedFile>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Select Image")
        .add_filter("Images", IMAGE_EXTENSIONS)
        .pick_file(move |f| {
            let _ = tx.send(f);
        });
    let Some(picked) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let source = picked.to_string();
    let (local, name) = match picked {
        // On iOS a picked file lives in a temporary inbox the system may clear: keep a copy.
        FilePath::Path(p) if cfg!(mobile) => copy_to_cache(&app, &service, FilePath::Path(p))?,
        FilePath::Path(p) => {
            let name = file_name(&p);
            (p, name)
        }
        FilePath::Url(url) if url.scheme() == "file" && !cfg!(mobile) => {
            let p = url
                .to_file_path()
                .map_err(|_| AppError::Invalid(format!("cannot use {url}")))?;
            let name = file_name(&p);
            (p, name)
        }
        other => copy_to_cache(&app, &service, other)?,
    };
    service.add_pick(source, local, name).await.map(Some)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies a picked file (an Android `content://` URI, or an iOS inbox file) into the app cache,
/// so the upload reads a file that stays put and a restart can resume it. Returns the copy and
/// the file's name.
fn copy_to_cache<R: Runtime>(
    app: &AppHandle<R>,
    service: &AppService,
    picked: FilePath,
) -> AppResult<(PathBuf, String)> {
    let name = match &picked {
        FilePath::Url(url) => url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .map(|n| percent_decode(&n)),
        FilePath::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
    }
    .filter(|n| !n.is_empty())
    .unwrap_or_else(|| "image".into())
    .replace(['/', '\\'], "_");
    let dir = service.dirs().cache.join("picked");
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let dest = dir.join(format!("{stamp}-{name}"));
    let shown = picked.to_string();
    let mut src = app
        .fs()
        .open(
            picked,
            tauri_plugin_fs::OpenOptions::new().read(true).clone(),
        )
        .map_err(|e| AppError::Io(format!("cannot read the picked file {shown}: {e}")))?;
    let mut out = std::fs::File::create(&dest).map_err(|e| {
        AppError::Io(format!(
            "cannot copy the picked file into the app cache: {e}"
        ))
    })?;
    std::io::copy(&mut src, &mut out).map_err(|e| {
        AppError::Io(format!(
            "cannot copy the picked file into the app cache: {e}"
        ))
    })?;
    Ok((dest, name))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(s.as_bytes())
        .next()
        .map(|(k, v)| {
            if v.is_empty() {
                k.into_owned()
            } else {
                format!("{k}={v}")
            }
        })
        .unwrap_or_else(|| s.to_string())
}

/// Describes a picked file again (its size now, the object name suggested for it) by the
/// handle [`pick_image`] returned. A path is refused.
#[tauri::command]
pub async fn describe_file(service: State<'_, AppService>, id: String) -> AppResult<PickedFile> {
    service.describe(&id).await
}

/// The picked image, by its handle, as a `data:` URL for the preview (none above 20 MB or for
/// other files). A path is refused.
#[tauri::command]
pub async fn preview_file(service: State<'_, AppService>, id: String) -> AppResult<Option<String>> {
    service.preview(&id, PREVIEW_LIMIT).await
}

/// A warning for the Settings screen when the App server URL would carry the user token and
/// the STS credentials in clear to a host outside the local network; nothing otherwise.
#[tauri::command]
pub fn server_url_warning(url: String) -> Option<String> {
    oss_direct::endpoint::cleartext_warning(&url)
}

fn forward(channel: Channel<UploadEvent>) -> impl Fn(UploadEvent) + Send + Sync + 'static {
    move |e| {
        let _ = channel.send(e);
    }
}

/// Uploads a picked file: `request.file` is the handle [`pick_image`] returned; a path is
/// refused.
#[tauri::command]
pub async fn start_upload(
    service: State<'_, AppService>,
    request: UploadRequest,
    on_event: Channel<UploadEvent>,
) -> AppResult<UploadResult> {
    service.start_upload(request, forward(on_event)).await
}

#[tauri::command]
pub async fn resume_upload(
    service: State<'_, AppService>,
    id: String,
    on_event: Channel<UploadEvent>,
) -> AppResult<UploadResult> {
    service.resume_upload(&id, forward(on_event)).await
}

#[tauri::command]
pub fn pause_upload(service: State<'_, AppService>, id: String) -> AppResult<()> {
    service.pause_upload(&id)
}

#[tauri::command]
pub async fn cancel_upload(service: State<'_, AppService>, id: String) -> AppResult<HistoryEntry> {
    service.cancel_upload(&id).await
}

#[tauri::command]
pub fn get_history(service: State<'_, AppService>) -> Vec<HistoryEntry> {
    service.history()
}

#[tauri::command]
pub async fn list_server_uploads(
    service: State<'_, AppService>,
    after: Option<String>,
) -> AppResult<ServerUploads> {
    service.server_uploads(after).await
}

/// Downloads the original of an upload to a place the user picks. Returns the bytes written, or
/// nothing when the user cancelled.
#[tauri::command]
pub async fn download_upload<R: Runtime>(
    app: AppHandle<R>,
    service: State<'_, AppService>,
    key: String,
) -> AppResult<Option<u64>> {
    let name = key.rsplit('/').next().unwrap_or("download").to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Save the original")
        .set_file_name(&name)
        .save_file(move |f| {
            let _ = tx.send(f);
        });
    let Some(dest) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    match dest {
        FilePath::Path(p) => service.download(&key, &p).await.map(Some),
        // A content:// destination (Android): download to the cache, then copy through the fs
        // plugin.
        other => {
            let tmp = service.dirs().cache.join("download.part");
            let n = service.download(&key, &tmp).await?;
            let shown = other.to_string();
            let mut out = app
                .fs()
                .open(
                    other,
                    tauri_plugin_fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .clone(),
                )
                .map_err(|e| AppError::Io(format!("cannot write {shown}: {e}")))?;
            let mut src = std::fs::File::open(&tmp)
                .map_err(|e| AppError::Io(format!("cannot read the download: {e}")))?;
            std::io::copy(&mut src, &mut out)
                .map_err(|e| AppError::Io(format!("cannot write {shown}: {e}")))?;
            let _ = std::fs::remove_file(&tmp);
            Ok(Some(n))
        }
    }
}

#[tauri::command]
pub async fn get_previews(service: State<'_, AppService>, key: String) -> AppResult<Previews> {
    service.previews(&key).await
}
