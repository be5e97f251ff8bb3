//! Builds the app's context and ACL. The app has no commands of its own: everything the UI calls
//! is `tauri-plugin-oss-direct`'s, granted one by one in `capabilities/*.json`.

fn main() {
    tauri_build::build();
}
