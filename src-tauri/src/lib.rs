//! The oss-direct app: Tauri 2 for desktop, Android and iOS, a thin shell on
//! `tauri-plugin-oss-direct` (the upload engine, its commands and its permissions) with the
//! UI in `ui/`.
//!
//! `run_app(builder)` builds the app on any runtime, so tests pass
//! `tauri::test::mock_builder()`; `run()` is the real entry point (and the mobile one).

pub mod notify;

/// Environment variable that moves the app's data (settings, history, checkpoints) and cache
/// folders, for tests and side-by-side installs.
pub const DATA_DIR_ENV: &str = "OSS_DIRECT_DATA_DIR";
/// Environment variable with an App server URL used when none is saved yet (the demo sets it).
pub const SERVER_ENV: &str = "OSS_DIRECT_SERVER";

/// The upload plugin as this app configures it: its files directly in the app's data and cache
/// folders (where the app kept them before the plugin existed), or in [`DATA_DIR_ENV`]; the App
/// server preset from [`SERVER_ENV`].
pub fn oss_direct_plugin<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    let mut plugin = match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => tauri_plugin_oss_direct::Builder::new().data_dir(dir),
        None => tauri_plugin_oss_direct::Builder::new().app_subfolder(None),
    };
    if let Ok(url) = std::env::var(SERVER_ENV) {
        plugin = plugin.default_server_url(url);
    }
    plugin.build()
}

/// Builds the app on `builder`'s runtime.
pub fn run_app<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::App<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_fs::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(oss_direct_plugin())
        .setup(|app| {
            // A batch finished, or a file needs the user, while the window is in the background.
            notify::watch(app.handle());
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the app could not be built")
}

/// Starts the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    run_app(tauri::Builder::default()).run(|app, event| {
        // Back in front (or resumed on a phone): files waiting for the network try now rather
        // than at the end of their backoff.
        let back = matches!(
            event,
            tauri::RunEvent::Resumed
                | tauri::RunEvent::WindowEvent {
                    event: tauri::WindowEvent::Focused(true),
                    ..
                }
        );
        if back {
            use tauri_plugin_oss_direct::OssDirectExt;
            app.oss_direct().network_changed();
        }
    });
}
