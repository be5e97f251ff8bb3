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

/// Opens the system image picker. On Android the picked `content://` URI is copied into the app
/// cache (through the fs plugin), so the upload reads a real file and can resume after a restart.
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
    let path = match picked {
        // On iOS a picked file lives in a temporary inbox the system may clear: keep a copy.
        FilePath::Path(p) if cfg!(mobile) => copy_to_cache(&app, &service, FilePath::Path(p))?,
        FilePath::Path(p) => p,
        FilePath::Url(url) if url.scheme() == "file" && !cfg!(mobile) => url
            .to_file_path()
            .map_err(|_| AppError::Invalid(format!("cannot use {url}")))?,
        other => copy_to_cache(&app, &service, other)?,
    };
    describe(&service, &path).await.map(Some)
}

/// Copies a picked file (an Android `content://` URI, or an iOS inbox file) into the app cache,
/// so the upload reads a file that stays put and a restart can resume it.
fn copy_to_cache<R: Runtime>(
    app: &AppHandle<R>,
    service: &AppService,
    picked: FilePath,
) -> AppResult<PathBuf> {
    let name = match &picked {
        FilePath::Url(url) => url
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .map(|n| percent_decode(&n)),
        FilePath::Path(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
    }
    .filter(|n| !n.is_empty())
    .unwrap_or_else(|| "image".into());
    let dir = service.dirs().cache.join("picked");
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let dest = dir.join(format!("{stamp}-{}", name.replace(['/', '\\'], "_")));
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
    Ok(dest)
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

async fn describe(service: &AppService, path: &Path) -> AppResult<PickedFile> {
    let meta = std::fs::metadata(path)
        .map_err(|e| AppError::Io(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(AppError::Invalid(format!(
            "{} is not a file",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(service
        .describe(&path.to_string_lossy(), &name, meta.len())
        .await)
}

/// Describes a file given by path (drag and drop, tests).
#[tauri::command]
pub async fn describe_file(service: State<'_, AppService>, path: String) -> AppResult<PickedFile> {
    describe(&service, Path::new(&path)).await
}

/// The picked image as a `data:` URL for the preview (none above 20 MB or for other files).
#[tauri::command]
pub fn preview_file(path: String) -> AppResult<Option<String>> {
    use base64::Engine;
    let p = Path::new(&path);
    let mime = oss_direct::object::content_type_for(p);
    if !mime.starts_with("image/") {
        return Ok(None);
    }
    let meta =
        std::fs::metadata(p).map_err(|e| AppError::Io(format!("cannot read {path}: {e}")))?;
    if meta.len() > PREVIEW_LIMIT {
        return Ok(None);
    }
    let bytes = std::fs::read(p).map_err(|e| AppError::Io(format!("cannot read {path}: {e}")))?;
    Ok(Some(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )))
}

fn forward(channel: Channel<UploadEvent>) -> impl Fn(UploadEvent) + Send + Sync + 'static {
    move |e| {
        let _ = channel.send(e);
    }
}

#[tauri::command]
pub async fn start_upload(
    service: State<'_, AppService>,
    request: UploadRequest,
    on_event: Channel<UploadEvent>,
) -> AppResult<UploadResult> {
    let local = PathBuf::from(&request.path);
    service
        .start_upload(request, local, forward(on_event))
        .await
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
