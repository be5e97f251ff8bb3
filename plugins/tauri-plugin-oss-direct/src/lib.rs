//! `tauri-plugin-oss-direct`: direct uploads from a Tauri 2 app to Alibaba Cloud OSS with
//! short-lived STS credentials from an app token server — simple or resumable (checkpointed,
//! CRC-64 verified), with pause, resume after a restart, cancel, history, OSS image-processing
//! previews and the app server's recorded uploads.
//!
//! ```no_run
//! tauri::Builder::default()
//!     .plugin(tauri_plugin_dialog::init())
//!     .plugin(tauri_plugin_fs::init())
//!     .plugin(tauri_plugin_oss_direct::init())
//! # ;
//! ```
//!
//! and grant `"oss-direct:default"` in a capability. The webview calls the commands through the
//! guest-js API (`guest-js/index.ts`) or `invoke('plugin:oss-direct|<command>')`; Rust code
//! reaches the same engine with [`OssDirectExt::oss_direct`]. Files are named by handles the
//! backend issues when the user picks them, never by path.

#![warn(missing_docs)]

mod commands;
pub mod error;
pub mod models;
mod picker;
pub mod picks;
pub mod service;
pub mod store;

pub use error::{Error, Result};
pub use picker::IMAGE_EXTENSIONS;
pub use service::{Dirs, OssDirect};

use std::path::PathBuf;
use tauri::plugin::TauriPlugin;
use tauri::{Manager, Runtime};

/// The plugin's name: commands are `plugin:oss-direct|<command>`, permissions
/// `oss-direct:<permission>`.
pub const PLUGIN_NAME: &str = "oss-direct";

/// The folder, below the app's data and cache folders, that the plugin uses by default.
pub const DEFAULT_SUBFOLDER: &str = "oss-direct";

/// Access to the plugin's engine from Rust (`app.oss_direct()`), for any [`Manager`]: the app,
/// its handle, a window.
pub trait OssDirectExt<R: Runtime> {
    /// The engine the plugin's commands use (settings, picks, uploads, history).
    fn oss_direct(&self) -> &OssDirect;
}

impl<R: Runtime, T: Manager<R>> OssDirectExt<R> for T {
    fn oss_direct(&self) -> &OssDirect {
        self.state::<OssDirect>().inner()
    }
}

/// Where the plugin keeps its files.
#[derive(Debug, Clone)]
enum Folder {
    /// A subfolder of Tauri's app data and app cache folders (None: those folders themselves).
    App(Option<String>),
    /// This folder for data, and its `cache` subfolder for copies of picked files.
    Fixed(PathBuf),
}

/// Configures the plugin before it is added to the app.
#[derive(Debug, Clone)]
pub struct Builder {
    folder: Folder,
    default_server_url: Option<String>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            folder: Folder::App(Some(DEFAULT_SUBFOLDER.into())),
            default_server_url: None,
        }
    }
}

impl Builder {
    /// The defaults: files in `oss-direct/` below the app's data and cache folders (Tauri's path
    /// resolver, so it works on Android and iOS), no App server preset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps settings, history and checkpoints in `dir`, and copies of picked files in
    /// `dir/cache` (tests, side-by-side installs).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.folder = Folder::Fixed(dir.into());
        self
    }

    /// Uses this subfolder of the app's data and cache folders (`None`: the folders
    /// themselves).
    pub fn app_subfolder(mut self, name: Option<&str>) -> Self {
        self.folder = Folder::App(name.map(str::to_string));
        self
    }

    /// The App server URL used while none is saved (it is saved on first start when valid).
    pub fn default_server_url(mut self, url: impl Into<String>) -> Self {
        self.default_server_url = Some(url.into());
        self
    }

    /// The plugin, to pass to `tauri::Builder::plugin`. Its state is managed during the app's
    /// build, before the first command.
    pub fn build<R: Runtime>(self) -> TauriPlugin<R> {
        tauri::plugin::Builder::new(PLUGIN_NAME)
            .invoke_handler(tauri::generate_handler![
                commands::get_settings,
                commands::save_settings,
                commands::test_connection,
                commands::pick_image,
                commands::describe_file,
                commands::preview_file,
                commands::start_upload,
                commands::resume_upload,
                commands::pause_upload,
                commands::cancel_upload,
                commands::get_history,
                commands::get_previews,
                commands::signed_url,
                commands::list_server_uploads,
                commands::download_upload,
                commands::server_url_warning,
                commands::pick_images,
                commands::enqueue,
                commands::queue_list,
                commands::queue_summary,
                commands::queue_pause,
                commands::queue_resume,
                commands::queue_cancel,
                commands::queue_pause_all,
                commands::queue_resume_all,
                commands::queue_events,
            ])
            .setup(move |app, _api| {
                let service = OssDirect::new(self.dirs(app)?);
                if let Some(url) = &self.default_server_url {
                    service.preset_server_url(url);
                }
                app.manage(service);
                // Files left unfinished resume as soon as the App server answers.
                service::start_in_background(app);
                Ok(())
            })
            .build()
    }

    fn dirs<R: Runtime>(&self, app: &tauri::AppHandle<R>) -> tauri::Result<Dirs> {
        Ok(match &self.folder {
            Folder::Fixed(d) => Dirs {
                cache: d.join("cache"),
                data: d.clone(),
            },
            Folder::App(sub) => {
                let (data, cache) = (app.path().app_data_dir()?, app.path().app_cache_dir()?);
                match sub {
                    Some(s) => Dirs {
                        data: data.join(s),
                        cache: cache.join(s),
                    },
                    None => Dirs { data, cache },
                }
            }
        })
    }
}

/// The plugin with the defaults of [`Builder::new`].
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new().build()
}
