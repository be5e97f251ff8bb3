//! A minimal Tauri 2 app whose only engine is `tauri-plugin-oss-direct`: the three plugin
//! lines below, `"oss-direct:default"` in `capabilities/default.json`, and a page in `ui/`.

/// Adds the upload plugin (and the dialog and fs plugins its picker uses) and builds the app.
pub fn build<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::App<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_fs::init())
        .plugin(tauri_plugin_oss_direct::init())
        .build(tauri::generate_context!())
        .expect("the app could not be built")
}

/// Starts the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    build(tauri::Builder::default()).run(|_, _| {});
}
