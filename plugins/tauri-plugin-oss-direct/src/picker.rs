//! The system dialogs, run from Rust: the image picker (its answer becomes a handle, never a
//! path for the webview) and the "save the original" dialog. They use the Rust APIs of
//! `tauri-plugin-dialog` and `tauri-plugin-fs` (for Android `content://` URIs and iOS inbox
//! files), so the webview needs no dialog or fs permission.

use crate::error::{Error, Result};
use crate::models::PickedFile;
use crate::service::OssDirect;
use std::path::{Path, PathBuf};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{DialogExt, FilePath};
use tauri_plugin_fs::FsExt;

/// What the picker offers.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "heic", "tif", "tiff",
];

/// The dialog and fs plugins must be registered by the app (`tauri_plugin_dialog::init()`,
/// `tauri_plugin_fs::init()`): say so plainly rather than panic on missing state.
fn require_plugins<R: Runtime>(app: &AppHandle<R>) -> Result<()> {
    let dialog = app.try_state::<tauri_plugin_dialog::Dialog<R>>().is_some();
    let fs = app.try_state::<tauri_plugin_fs::Fs<R>>().is_some();
    if dialog && fs {
        Ok(())
    } else {
        Err(Error::Invalid(
            "tauri-plugin-oss-direct needs tauri_plugin_dialog::init() and tauri_plugin_fs::init() in the app's builder".into(),
        ))
    }
}

/// Opens the system image picker and records the pick: `None` when the user cancelled. On
/// Android the `content://` URI (and on iOS the inbox file) is copied into the cache, so the
/// upload reads a file that stays put and a restart can resume it.
pub async fn pick_image<R: Runtime>(
    app: &AppHandle<R>,
    service: &OssDirect,
) -> Result<Option<PickedFile>> {
    require_plugins(app)?;
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
    record_pick(app, service, picked).await.map(Some)
}

/// Opens the system image picker for several files (the dialog's `multiple`) and records each
/// pick: empty when the user cancelled.
pub async fn pick_images<R: Runtime>(
    app: &AppHandle<R>,
    service: &OssDirect,
) -> Result<Vec<PickedFile>> {
    require_plugins(app)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Select Image")
        .add_filter("Images", IMAGE_EXTENSIONS)
        .pick_files(move |f| {
            let _ = tx.send(f);
        });
    let picked = rx.await.ok().flatten().unwrap_or_default();
    let mut out = Vec::with_capacity(picked.len());
    for p in picked {
        out.push(record_pick(app, service, p).await?);
    }
    Ok(out)
}

/// One picked file recorded under a new handle: a desktop path as it is; an Android
/// `content://` URI (and on iOS an inbox file) copied into the cache first.
async fn record_pick<R: Runtime>(
    app: &AppHandle<R>,
    service: &OssDirect,
    picked: FilePath,
) -> Result<PickedFile> {
    let source = picked.to_string();
    let (local, name) = match picked {
        // On iOS a picked file lives in a temporary inbox the system may clear: keep a copy.
        FilePath::Path(p) if cfg!(mobile) => copy_to_cache(app, service, FilePath::Path(p))?,
        FilePath::Path(p) => {
            let name = file_name(&p);
            (p, name)
        }
        FilePath::Url(url) if url.scheme() == "file" && !cfg!(mobile) => {
            let p = url
                .to_file_path()
                .map_err(|_| Error::Invalid(format!("cannot use {url}")))?;
            let name = file_name(&p);
            (p, name)
        }
        other => copy_to_cache(app, service, other)?,
    };
    service.add_pick(source, local, name).await
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies a picked file (an Android `content://` URI, or an iOS inbox file) into the cache.
/// Returns the copy and the file's name.
fn copy_to_cache<R: Runtime>(
    app: &AppHandle<R>,
    service: &OssDirect,
    picked: FilePath,
) -> Result<(PathBuf, String)> {
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
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let dest = dir.join(format!("{stamp}-{name}"));
    let shown = picked.to_string();
    let mut src = app
        .fs()
        .open(
            picked,
            tauri_plugin_fs::OpenOptions::new().read(true).clone(),
        )
        .map_err(|e| Error::Io(format!("cannot read the picked file {shown}: {e}")))?;
    let copy_failed =
        |e: std::io::Error| Error::Io(format!("cannot copy the picked file into the cache: {e}"));
    let mut out = std::fs::File::create(&dest).map_err(copy_failed)?;
    std::io::copy(&mut src, &mut out).map_err(copy_failed)?;
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

/// Asks where to save the original of `key` and downloads it there (CRC-checked): the bytes
/// written, or `None` when the user cancelled. A `content://` destination (Android) is written
/// through the fs plugin from a download in the cache.
pub async fn save_download<R: Runtime>(
    app: &AppHandle<R>,
    service: &OssDirect,
    key: &str,
) -> Result<Option<u64>> {
    require_plugins(app)?;
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
    let other = match dest {
        FilePath::Path(p) => return service.download(key, &p).await.map(Some),
        other => other,
    };
    let tmp = service.dirs().cache.join("download.part");
    let n = service.download(key, &tmp).await?;
    let shown = other.to_string();
    let write_failed = |e: std::io::Error| Error::Io(format!("cannot write {shown}: {e}"));
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
        .map_err(write_failed)?;
    let mut src = std::fs::File::open(&tmp)
        .map_err(|e| Error::Io(format!("cannot read the download: {e}")))?;
    std::io::copy(&mut src, &mut out).map_err(write_failed)?;
    let _ = std::fs::remove_file(&tmp);
    Ok(Some(n))
}
