//! The oss-direct app: Tauri 2 for desktop, Android and iOS.
//!
//! `run_app(builder)` builds the app on any runtime, so tests pass
//! `tauri::test::mock_builder()`; `run()` is the real entry point (and the mobile one).

pub mod commands;
pub mod error;
pub mod models;
pub mod picks;
pub mod service;
pub mod store;

use service::{AppService, Dirs};
use std::path::PathBuf;
use tauri::{Manager, Runtime};

/// Environment variable that moves the app's data (settings, history, checkpoints) and cache
/// folders, for tests and side-by-side installs.
pub const DATA_DIR_ENV: &str = "OSS_DIRECT_DATA_DIR";
/// Environment variable with an App server URL used when none is saved yet (the demo sets it).
pub const SERVER_ENV: &str = "OSS_DIRECT_SERVER";

/// Builds the app on `builder`'s runtime: plugins, commands, and the state (managed right after
/// the build, so it exists before the first command whatever the runtime).
pub fn run_app<R: Runtime>(builder: tauri::Builder<R>) -> tauri::App<R> {
    let app = builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_fs::init())
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
            commands::list_server_uploads,
            commands::download_upload,
            commands::server_url_warning,
        ])
        .build(tauri::generate_context!())
        .expect("the app could not be built");
    let service = AppService::new(dirs(app.handle()).expect("the app's folders are unknown"));
    let mut s = service.settings();
    if s.oss.server_url.is_empty() {
        if let Ok(url) = std::env::var(SERVER_ENV) {
            s.oss.server_url = url;
            if let Err(e) = service.save_settings(s) {
                tracing::warn!(error = %e, "the {SERVER_ENV} URL was not usable");
            }
        }
    }
    app.manage(service);
    app
}

/// Where settings, history, checkpoints and cached picks live: Tauri's path resolver (so it
/// works on mobile), or [`DATA_DIR_ENV`].
fn dirs<R: Runtime>(app: &tauri::AppHandle<R>) -> tauri::Result<Dirs> {
    Ok(match std::env::var_os(DATA_DIR_ENV) {
        Some(d) => {
            let d = PathBuf::from(d);
            Dirs {
                cache: d.join("cache"),
                data: d,
            }
        }
        None => Dirs {
            data: app.path().app_data_dir()?,
            cache: app.path().app_cache_dir()?,
        },
    })
}

/// Starts the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    run_app(tauri::Builder::default()).run(|_, _| {});
}
