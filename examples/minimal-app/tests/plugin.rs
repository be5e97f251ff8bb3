//! The minimal app on Tauri's mock runtime, against the real offline stack (oss-local and the
//! app token server over HTTP): the plugin's default permission set is enough to configure,
//! upload a picked file with progress, and get a signed thumbnail URL, and its files land in
//! the plugin's default folder below the app's data folder.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri_plugin_oss_direct::OssDirectExt;

fn invoke(
    webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn the_plugin_alone_uploads_from_another_app() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stack = rt.block_on(oss_direct_testkit::Stack::start());
    let home = tempfile::tempdir().unwrap();
    // Tauri's path resolver follows the XDG folders on Linux: keep the app's files in the test's.
    std::env::set_var("XDG_DATA_HOME", home.path().join("data"));
    std::env::set_var("XDG_CACHE_HOME", home.path().join("cache"));

    let events: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = events.clone();
    let builder = mock_builder().channel_interceptor(move |_, _, _, body| {
        if let InvokeResponseBody::Json(s) = body {
            seen.lock().unwrap().push(serde_json::from_str(s).unwrap());
        }
        true
    });
    let app = minimal_app::build(builder);
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let ok = |cmd: &str, args: Value| {
        invoke(&webview, &format!("plugin:oss-direct|{cmd}"), args)
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    };

    let mut settings = ok("get_settings", json!({}));
    settings["serverUrl"] = json!(stack.token_url);
    ok("save_settings", json!({ "settings": settings }));
    let info = ok("test_connection", json!({}));
    assert_eq!(info["settings"]["objectPrefix"], "uploads/");
    let saved = home
        .path()
        .join("data/com.ossdirect.minimal/oss-direct/settings.json");
    assert!(saved.exists(), "settings in the plugin's default folder");

    // What the system picker does when the user picks a file (the native dialog cannot run on
    // the mock runtime): the engine records it and the webview gets a handle.
    let file = home.path().join("hello.txt");
    std::fs::write(&file, b"hello from the minimal app").unwrap();
    let picked = rt
        .block_on(app.oss_direct().add_pick(
            file.display().to_string(),
            file.clone(),
            "hello.txt".into(),
        ))
        .unwrap();
    assert_eq!(picked.suggested_key, "uploads/hello.txt");
    let result = ok(
        "start_upload",
        json!({ "request": { "id": "m1", "file": picked.id, "key": picked.suggested_key },
                "onEvent": "__CHANNEL__:1" }),
    );
    assert_eq!(result["entry"]["state"], "done");
    assert_eq!(events.lock().unwrap()[0]["event"], "started");
    assert_eq!(ok("get_history", json!({}))[0]["id"], "m1");

    // The default set includes signed URLs (for apps whose CSP loads images from OSS).
    let url = ok(
        "signed_url",
        json!({ "request": { "key": "uploads/hello.txt", "expiresInSecs": 60 } }),
    );
    let body = rt.block_on(async {
        let resp = reqwest::get(url.as_str().unwrap()).await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    });
    assert_eq!(body, "hello from the minimal app");

    // Nothing beyond the plugin's set: the fs plugin's commands are not granted.
    let err = invoke(
        &webview,
        "plugin:fs|read_text_file",
        json!({ "path": saved }),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
}
