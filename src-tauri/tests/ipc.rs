//! The app over IPC on Tauri's mock runtime (the commands are tauri-plugin-oss-direct's, as
//! the app registers and grants them), against the real offline stack: oss-local (OSS + STS)
//! and the app token server, over HTTP.

use oss_direct_testkit::Stack;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;
use tauri_plugin_oss_direct::OssDirectExt;

/// Channel messages the app sent: (channel id, index, JSON).
type Messages = Arc<Mutex<Vec<(u32, usize, Value)>>>;

static ENV_LOCK: Mutex<()> = Mutex::new(());

struct TestApp {
    _app: tauri::App<MockRuntime>,
    ipc: Ipc,
}

/// The part of the app a test thread can hold: its window and the channel messages.
#[derive(Clone)]
struct Ipc {
    webview: WebviewWindow<MockRuntime>,
    messages: Messages,
}

impl Drop for TestApp {
    /// As when the app exits: the engine's background work stops (in one test process, a
    /// second app on the same data folder must be the only one driving its queue).
    fn drop(&mut self) {
        self._app.oss_direct().shutdown();
    }
}

impl std::ops::Deref for TestApp {
    type Target = Ipc;
    fn deref(&self) -> &Ipc {
        &self.ipc
    }
}

fn app(data_dir: &std::path::Path) -> TestApp {
    let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    std::env::set_var(oss_direct_app::DATA_DIR_ENV, data_dir);
    std::env::remove_var(oss_direct_app::SERVER_ENV);
    let messages: Messages = Arc::default();
    let m = messages.clone();
    let builder = mock_builder().channel_interceptor(move |_, cb, index, body| {
        if let InvokeResponseBody::Json(s) = body {
            m.lock()
                .unwrap()
                .push((cb.0, index, serde_json::from_str(s).unwrap()));
        }
        true
    });
    let app = oss_direct_app::run_app(builder);
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    TestApp {
        _app: app,
        ipc: Ipc { webview, messages },
    }
}

impl TestApp {
    /// What the system picker does when the user picks `path`: the backend records it and
    /// returns a handle. (The native dialog cannot run on the mock runtime; the real window
    /// tests in tests/e2e go through it.)
    fn pick(&self, path: &std::path::Path) -> Value {
        let service = self._app.oss_direct();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let picked = tauri::async_runtime::block_on(service.add_pick(
            path.display().to_string(),
            path.to_path_buf(),
            name,
        ))
        .unwrap();
        serde_json::to_value(picked).unwrap()
    }
}

impl Ipc {
    /// Calls a command as the UI does: the plugin's `name` (`plugin:oss-direct|name`), or a
    /// full `plugin:<plugin>|<name>`.
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let cmd = if cmd.starts_with("plugin:") {
            cmd.to_string()
        } else {
            format!("plugin:oss-direct|{cmd}")
        };
        tauri::test::get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd,
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

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    fn progress(&self, channel: u32) -> Vec<Value> {
        let mut m: Vec<_> = self
            .messages
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _, _)| *c == channel)
            .cloned()
            .collect();
        m.sort_by_key(|(_, i, _)| *i);
        m.into_iter().map(|(_, _, v)| v).collect()
    }

    fn configure(&self, stack: &Stack, extra: Value) -> Value {
        let mut s = self.ok("get_settings", json!({}));
        s["serverUrl"] = json!(stack.token_url);
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        self.ok("save_settings", json!({ "settings": s }))
    }
}

fn channel(id: u32) -> String {
    format!("__CHANNEL__:{id}")
}

fn runtime_with_stack() -> (tokio::runtime::Runtime, Stack) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stack = rt.block_on(Stack::start());
    (rt, stack)
}

fn png(path: &std::path::Path, w: u32, h: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 3) as u8, 128]));
    img.save(path).unwrap();
    std::fs::read(path).unwrap()
}

#[test]
fn settings_round_trip_and_test_connection() {
    let (_rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let s = app.ok("get_settings", json!({}));
    assert_eq!(s["serverUrl"], "");
    assert_eq!(s["concurrency"], 5);

    let err = app
        .invoke(
            "save_settings",
            json!({ "settings": { "serverUrl": "not a url" } }),
        )
        .unwrap_err();
    assert_eq!(err["kind"], "input");
    assert!(
        err["message"].as_str().unwrap().contains("not a URL"),
        "{err}"
    );

    app.configure(&stack, json!({ "watermarkText": "hello" }));
    let info = app.ok("test_connection", json!({}));
    assert!(info["secondsLeft"].as_i64().unwrap() > 800);
    assert_eq!(info["settings"]["bucket"], oss_local::DEMO_BUCKET);
    assert_eq!(info["settings"]["objectPrefix"], "uploads/");
    assert_eq!(info["endpoint"], stack.oss_endpoint);

    // Persisted: a new app on the same data folder sees the filled settings.
    drop(app);
    let again = self::app(dir.path());
    let s = again.ok("get_settings", json!({}));
    assert_eq!(s["bucket"], oss_local::DEMO_BUCKET);
    assert_eq!(s["watermarkText"], "hello");
}

#[test]
fn upload_with_progress_result_and_previews() {
    let (_rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir.path().join("app"));
    app.configure(&stack, json!({}));
    let src = dir.path().join("beach.png");
    let bytes = png(&src, 640, 480);

    let picked = app.pick(&src);
    assert!(picked.get("path").is_none(), "{picked}");
    let file = picked["id"].as_str().unwrap().to_string();
    let described = app.ok("describe_file", json!({ "id": file }));
    assert_eq!(described["suggestedKey"], "uploads/beach.png");
    assert_eq!(described["size"], bytes.len());
    assert_eq!(described["name"], "beach.png");
    let preview = app.ok("preview_file", json!({ "id": file }));
    assert!(preview
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));

    let result = app.ok(
        "start_upload",
        json!({ "request": { "id": "u1", "file": file, "key": "uploads/beach.png", "mode": "simple" }, "onEvent": channel(7) }),
    );
    let e = &result["entry"];
    assert_eq!(e["state"], "done");
    assert_eq!(e["crc64"], oss_direct::crc64::checksum(&bytes).to_string());

    let events = app.progress(7);
    assert_eq!(events[0]["event"], "started");
    let done: Vec<u64> = events[1..]
        .iter()
        .map(|v| v["bytesDone"].as_u64().unwrap())
        .collect();
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    assert_eq!(*done.last().unwrap(), bytes.len() as u64);

    let p = app.ok("get_previews", json!({ "key": "uploads/beach.png" }));
    assert!(p["error"].is_null(), "{p}");
    let decode = |v: &Value| {
        use base64::Engine;
        let s = v.as_str().unwrap();
        let b64 = s.split_once(",").unwrap().1;
        image::load_from_memory(
            &base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap()
    };
    let thumb = decode(&p["thumbnail"]);
    assert_eq!((thumb.width(), thumb.height()), (240, 180));
    let marked = decode(&p["watermarked"]);
    assert_eq!(marked.width(), 640);
    assert!(p["signedUrl"].as_str().unwrap().contains("x-oss-signature"));

    let history = app.ok("get_history", json!({}));
    assert_eq!(history[0]["id"], "u1");
    assert_eq!(history[0]["state"], "done");
}

#[test]
fn errors_a_user_can_act_on() {
    let (_rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir.path().join("app"));
    let src = dir.path().join("a.png");
    png(&src, 10, 10);

    // Nothing configured yet.
    let err = app.invoke("test_connection", json!({})).unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("App server"),
        "{err}"
    );

    // The app server is down.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", dead.local_addr().unwrap());
    drop(dead);
    let mut s = app.ok("get_settings", json!({}));
    s["serverUrl"] = json!(url);
    app.ok("save_settings", json!({ "settings": s }));
    let err = app.invoke("test_connection", json!({})).unwrap_err();
    assert_eq!(err["kind"], "server");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach the app server"),
        "{err}"
    );

    // A key outside the prefix is refused before anything is sent.
    app.configure(&stack, json!({}));
    let file = app.pick(&src)["id"].clone();
    let err = app
        .invoke("start_upload", json!({ "request": { "id": "x", "file": file, "key": "other/a.png" }, "onEvent": channel(1) }))
        .unwrap_err();
    assert_eq!(err["kind"], "input");
    assert!(
        err["message"].as_str().unwrap().contains("uploads/"),
        "{err}"
    );

    // A picked file that went away.
    std::fs::remove_file(&src).unwrap();
    let err = app
        .invoke("start_upload", json!({ "request": { "id": "y", "file": file, "key": "uploads/a.png" }, "onEvent": channel(2) }))
        .unwrap_err();
    assert_eq!(err["kind"], "file");
    assert!(err["message"].as_str().unwrap().contains("a.png"), "{err}");
}

fn wait_for_parts(app: &Ipc, channel: u32, parts: u64) {
    let start = Instant::now();
    while !app
        .progress(channel)
        .iter()
        .any(|v| v["partsDone"].as_u64().unwrap_or(0) >= parts)
    {
        assert!(start.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pause_resume_after_restart_and_cancel() {
    let (_rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("app");
    let src = dir.path().join("big.bin");
    let body: Vec<u8> = (0..1_024_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(&src, &body).unwrap();

    let app = app(&data_dir);
    app.configure(
        &stack,
        json!({ "partSize": 102400, "concurrency": 1, "uploadMode": "resumable" }),
    );
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(150), None);

    let a = app.ipc.clone();
    let file = app.pick(&src)["id"].clone();
    let running = std::thread::spawn(move || {
        a.invoke("start_upload", json!({ "request": { "id": "big", "file": file, "key": "uploads/big.bin" }, "onEvent": channel(3) }))
    });
    wait_for_parts(&app, 3, 3);
    app.ok("pause_upload", json!({ "id": "big" }));
    let err = running.join().unwrap().unwrap_err();
    assert_eq!(err["kind"], "paused");
    let h = app.ok("get_history", json!({}));
    assert_eq!(h[0]["state"], "paused");
    assert!(h[0]["bytesDone"].as_u64().unwrap() >= 3 * 102_400);

    // Restart the app: the unfinished upload is still listed, and resumes from its checkpoint.
    drop(app);
    stack.faults().clear();
    let app = self::app(&data_dir);
    let h = app.ok("get_history", json!({}));
    assert_eq!(
        (h[0]["id"].as_str(), h[0]["state"].as_str()),
        (Some("big"), Some("paused"))
    );
    let done = app.ok(
        "resume_upload",
        json!({ "id": "big", "onEvent": channel(4) }),
    );
    assert_eq!(done["entry"]["state"], "done");
    assert!(done["resumedParts"].as_u64().unwrap() >= 3, "{done}");
    assert_eq!(
        done["entry"]["crc64"],
        oss_direct::crc64::checksum(&body).to_string()
    );
    let events = app.progress(4);
    assert_eq!(events.last().unwrap()["bytesDone"], 1_024_000);

    // Cancel: stops the upload and removes it from OSS.
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(150), None);
    let a = app.ipc.clone();
    let file = app.pick(&src)["id"].clone();
    let running = std::thread::spawn(move || {
        a.invoke("start_upload", json!({ "request": { "id": "c", "file": file, "key": "uploads/cancel.bin" }, "onEvent": channel(5) }))
    });
    wait_for_parts(&app, 5, 1);
    let entry = app.ok("cancel_upload", json!({ "id": "c" }));
    assert_eq!(entry["state"], "cancelled");
    assert!(running.join().unwrap().is_err());
    let h = app.ok("get_history", json!({}));
    let c = h
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "c")
        .unwrap();
    assert_eq!(c["state"], "cancelled");
    let err = app
        .invoke(
            "resume_upload",
            json!({ "id": "nope", "onEvent": channel(6) }),
        )
        .unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("nope"));
}

#[test]
fn upload_callbacks_fill_my_uploads() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stack = rt.block_on(oss_direct_testkit::Stack::start_with(
        oss_direct_testkit::StackOptions {
            callback: true,
            ..Default::default()
        },
    ));
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir.path().join("app"));
    app.configure(&stack, json!({}));
    let src = dir.path().join("sunset.png");
    png(&src, 300, 200);
    let file = app.pick(&src)["id"].clone();
    let result = app.ok(
        "start_upload",
        json!({ "request": { "id": "s1", "file": file, "key": "uploads/sunset.png" }, "onEvent": channel(9) }),
    );
    assert_eq!(result["callback"]["outcome"], "answered", "{result}");

    let page = app.ok("list_server_uploads", json!({}));
    let item = &page["items"][0];
    // camelCase like every other IPC type (the token server's JSON is PascalCase).
    assert_eq!(item["upload"]["key"], "uploads/sunset.png");
    assert_eq!(item["upload"]["imageWidth"], 300);
    assert!(item["upload"]["uploadedAt"].is_string(), "{item}");
    assert!(item["upload"].get("Key").is_none(), "{item}");
    // The thumbnail comes as bytes through the backend: the webview's CSP loads no image from
    // the network.
    let thumb = item["thumbnail"].as_str().unwrap();
    let b64 = thumb.strip_prefix("data:image/png;base64,").unwrap();
    let bytes = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    };
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 96);
}

// ---- The webview's reach (security review, issue 11 part 5): each test performs the attack. ----

/// Whether `key` is in the stack's bucket.
fn stored(rt: &tokio::runtime::Runtime, stack: &Stack, key: &str) -> bool {
    rt.block_on(async {
        let conn = stack.settings().connect(None).await.unwrap();
        match conn.client.head_object(key).await {
            Ok(_) => true,
            Err(e) if e.oss().is_some_and(|o| o.status == 404) => false,
            Err(e) => panic!("HeadObject {key}: {e}"),
        }
    })
}

#[test]
fn a_script_in_the_webview_cannot_read_or_upload_files_by_path() {
    let (rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let app = app(&data);
    let user_token = "user-token-that-must-stay-on-the-phone";
    app.configure(&stack, json!({ "userToken": user_token }));
    let settings = data.join("settings.json");
    assert!(std::fs::read_to_string(&settings)
        .unwrap()
        .contains(user_token));
    let never_picked = dir.path().join("private.png");
    png(&never_picked, 20, 20);
    let refused = |cmd: &str, args: Value| {
        let err = app
            .invoke(cmd, args.clone())
            .expect_err(&format!("{cmd} {args} must be refused"));
        if err.is_string() {
            // Refused before the command ran (the arguments do not fit its signature).
            return err.to_string();
        }
        assert_eq!(err["kind"], "input", "{cmd}: {err}");
        err["message"].as_str().unwrap().to_string()
    };

    // The old commands took `path`; the new ones take `id`. Both are given the raw path, so the
    // attack works on either signature unless the backend refuses it.
    for p in [&never_picked, &settings] {
        let msg = refused("preview_file", json!({ "id": p, "path": p }));
        assert!(msg.contains("not a file picked"), "{msg}");
        let msg = refused("describe_file", json!({ "id": p, "path": p }));
        assert!(msg.contains("not a file picked"), "{msg}");
    }
    let msg = refused(
        "start_upload",
        json!({ "request": { "id": "a1", "file": settings, "key": "uploads/settings.json" }, "onEvent": channel(20) }),
    );
    assert!(msg.contains("not a file picked"), "{msg}");
    let msg = refused(
        "start_upload",
        json!({ "request": { "id": "a2", "path": settings, "key": "uploads/settings.json" }, "onEvent": channel(21) }),
    );
    assert!(msg.contains("path"), "{msg}");
    // A made-up handle is no better than a path.
    let forged = "pick-00000000000000000000000000000000";
    refused(
        "start_upload",
        json!({ "request": { "id": "a3", "file": forged, "key": "uploads/settings.json" }, "onEvent": channel(22) }),
    );

    assert!(!stored(&rt, &stack, "uploads/settings.json"));
    assert_eq!(app.ok("get_history", json!({})), json!([]));

    // The same app does upload a file the user picked, by its handle.
    let file = app.pick(&never_picked)["id"].clone();
    app.ok(
        "start_upload",
        json!({ "request": { "id": "ok", "file": file, "key": "uploads/private.png" }, "onEvent": channel(23) }),
    );
    assert!(stored(&rt, &stack, "uploads/private.png"));
}

/// The plugin's commands the app's UI calls, and so the only ones its window is granted.
const APP_COMMANDS: &[&str] = &[
    "get_settings",
    "save_settings",
    "test_connection",
    "pick_image",
    "describe_file",
    "preview_file",
    "start_upload",
    "resume_upload",
    "pause_upload",
    "cancel_upload",
    "get_history",
    "get_previews",
    "list_server_uploads",
    "download_upload",
    "server_url_warning",
    "pick_images",
    "enqueue",
    "queue_list",
    "queue_summary",
    "queue_pause",
    "queue_resume",
    "queue_cancel",
    "queue_pause_all",
    "queue_resume_all",
    "queue_events",
];

#[test]
fn the_webview_holds_no_plugin_permission_and_loads_no_remote_image() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let settings = dir.path().join("settings.json");
    std::fs::write(&settings, r#"{"userToken":"secret"}"#).unwrap();
    for (cmd, args) in [
        ("plugin:fs|read_file", json!({ "path": settings })),
        ("plugin:fs|read_text_file", json!({ "path": settings })),
        ("plugin:fs|stat", json!({ "path": settings })),
        ("plugin:dialog|open", json!({ "options": {} })),
        ("plugin:dialog|save", json!({ "options": {} })),
    ] {
        // An allowed dialog command would open a dialog and wait for a person: give up then.
        let (tx, rx) = std::sync::mpsc::channel();
        let ipc = app.ipc.clone();
        std::thread::spawn(move || tx.send(ipc.invoke(cmd, args)));
        let answer = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{cmd} was allowed: it ran and did not answer"));
        let err = answer.expect_err(cmd);
        assert!(err.to_string().contains("not allowed"), "{cmd}: {err}");
    }

    // Every platform's capability, as written and as generated into the ACL: the app's own
    // commands and nothing else, no plugin or core permission (the picker and content:// reads
    // run in Rust).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| -> Value {
        serde_json::from_slice(&std::fs::read(root.join(p)).unwrap()).unwrap()
    };
    let generated = read("gen/schemas/capabilities.json");
    let mut caps: Vec<(String, Value)> = generated
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, c)| (format!("generated {id}"), c.clone()))
        .collect();
    for name in ["desktop", "mobile"] {
        caps.push((name.into(), read(&format!("capabilities/{name}.json"))));
    }
    assert_eq!(caps.len(), 4, "two platforms' capabilities, no other");
    let wanted: Vec<String> = APP_COMMANDS
        .iter()
        .map(|c| format!("oss-direct:allow-{}", c.replace('_', "-")))
        .collect();
    for (what, cap) in caps {
        let mut granted: Vec<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().expect("plain permission names").to_string())
            .collect();
        granted.sort();
        let mut w = wanted.clone();
        w.sort();
        assert_eq!(granted, w, "{what}");
    }
    // The plugin's ACL manifest defines each command's permission, so every plugin command is
    // checked against the capabilities (a command added later is not callable until granted).
    let manifests = read("gen/schemas/acl-manifests.json");
    let plugin_manifest = manifests["oss-direct"]["permissions"]
        .as_object()
        .expect("the plugin's ACL manifest");
    for allow in &wanted {
        let name = allow.strip_prefix("oss-direct:").unwrap();
        assert!(plugin_manifest.contains_key(name), "{allow}");
    }
    // A plugin command the UI does not use is not granted, so it is refused.
    let err = app
        .invoke(
            "signed_url",
            json!({ "request": { "key": "uploads/settings.json" } }),
        )
        .expect_err("signed_url is not granted to the app's window");
    assert!(err.to_string().contains("not allowed"), "{err}");

    // Thumbnails come through the backend as bytes: images load from the app or data: only.
    let csp = serde_json::to_value(&app._app.config().app.security.csp).unwrap();
    let csp = csp.as_str().unwrap();
    let img_src: Vec<&str> = csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("img-src "))
        .expect("an img-src directive")
        .split_whitespace()
        .collect();
    assert_eq!(img_src, ["'self'", "data:"], "{csp}");
}

#[test]
fn settings_debug_hides_the_user_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let token = "eyJhbGciOiJIUzI1NiJ9.dXNlci0x.c2lnbmF0dXJl";
    let mut s = app.ok("get_settings", json!({}));
    s["userToken"] = json!(token);
    app.ok("save_settings", json!({ "settings": s }));
    let service = app._app.oss_direct();
    let shown = format!("{:?} {:#?}", service.settings(), service.settings());
    assert_eq!(service.settings().user_token, token);
    assert!(
        !shown.contains(token) && !shown.contains("dXNlci0x"),
        "{shown}"
    );
}

#[test]
fn settings_warn_about_a_cleartext_app_server_off_the_local_network() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let w = app.ok(
        "server_url_warning",
        json!({ "url": "http://tokens.example.com:7080/" }),
    );
    assert!(w.as_str().unwrap().contains("in clear"), "{w}");
    for url in [
        "https://tokens.example.com/",
        "http://127.0.0.1:7080/",
        "http://192.168.1.10:7080/",
        "http://10.0.2.2:7080/",
        "",
    ] {
        assert_eq!(
            app.ok("server_url_warning", json!({ "url": url })),
            Value::Null,
            "{url}"
        );
    }
}

// ---- The upload queue (issue 13) and photos prepared on the device (issue 14). ----

/// Waits for `f` to give something, up to `secs` seconds.
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

impl Ipc {
    fn queue(&self) -> Vec<Value> {
        self.ok("queue_list", json!({})).as_array().unwrap().clone()
    }

    fn states(&self) -> Vec<String> {
        self.queue()
            .iter()
            .map(|f| f["state"].as_str().unwrap().to_string())
            .collect()
    }

    /// Waits until no file is queued, preparing, uploading or waiting.
    fn settled(&self, secs: u64) -> Vec<Value> {
        wait_for("the queue to settle", secs, || {
            let q = self.queue();
            q.iter()
                .all(|f| {
                    !["queued", "preparing", "uploading", "waiting"]
                        .contains(&f["state"].as_str().unwrap())
                })
                .then_some(q)
        })
    }
}

/// Files of different sizes, each with its own bytes.
fn files(dir: &std::path::Path, sizes: &[usize]) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let path = dir.join(format!("file-{i}.bin"));
            let body: Vec<u8> = (0..n).map(|b| ((b * (i + 3)) % 251) as u8).collect();
            std::fs::write(&path, &body).unwrap();
            (path, body)
        })
        .collect()
}

/// The stored object's CRC-64, or None when it is not there.
fn stored_crc(rt: &tokio::runtime::Runtime, stack: &Stack, key: &str) -> Option<u64> {
    rt.block_on(async {
        let conn = stack.settings().connect(None).await.unwrap();
        match conn.client.get_object(key, &Default::default()).await {
            Ok(bytes) => Some(oss_direct::crc64::checksum(&bytes)),
            Err(e) if e.oss().is_some_and(|o| o.status == 404) => None,
            Err(e) => panic!("GetObject {key}: {e}"),
        }
    })
}

#[test]
fn several_files_upload_side_by_side_with_pause_resume_and_cancel() {
    let (rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir.path().join("app"));
    app.configure(
        &stack,
        json!({ "partSize": 102400, "concurrency": 2, "uploadMode": "resumable", "jobs": 3 }),
    );
    app.ok("queue_events", json!({ "onEvent": channel(20) }));
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(120), None);
    let sources = files(dir.path(), &[700_000, 500_000, 600_000, 400_000, 300_000]);
    let picks: Vec<Value> = sources
        .iter()
        .map(|(p, _)| json!({ "file": app.pick(p)["id"] }))
        .collect();
    let added = app.ok("enqueue", json!({ "files": picks }));
    assert_eq!(added.as_array().unwrap().len(), 5);
    assert_eq!(added[0]["key"], "uploads/file-0.bin");
    assert!(
        added[0].get("source").is_none(),
        "no local path to the webview"
    );

    // Three at once (the jobs setting), side by side, never more.
    wait_for("three files uploading at once", 30, || {
        let s = app.states();
        let uploading = s.iter().filter(|s| *s == "uploading").count();
        assert!(uploading <= 3, "{s:?}");
        (uploading == 3).then_some(())
    });
    let ids: Vec<i64> = app
        .queue()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    // Pause one, then all; the summary says so; nothing moves.
    app.ok("queue_pause", json!({ "id": ids[0] }));
    app.ok("queue_pause_all", json!({}));
    wait_for("all paused", 10, || {
        app.states().iter().all(|s| s == "paused").then_some(())
    });
    let sum = app.ok("queue_summary", json!({}));
    assert_eq!(
        (sum["files"].as_u64(), sum["paused"].as_u64()),
        (Some(5), Some(5))
    );
    assert!(sum["running"].as_bool().unwrap(), "{sum}");
    // Cancel one while paused: its partial upload is aborted, nothing is stored.
    app.ok("queue_cancel", json!({ "id": ids[4] }));
    app.ok("queue_resume_all", json!({}));
    let end = app.settled(60);
    let states: Vec<&str> = end.iter().map(|f| f["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["done", "done", "done", "done", "cancelled"]);
    for (i, (_, body)) in sources.iter().enumerate().take(4) {
        let key = format!("uploads/file-{i}.bin");
        assert_eq!(
            stored_crc(&rt, &stack, &key),
            Some(oss_direct::crc64::checksum(body))
        );
        assert_eq!(
            end[i]["crc64"],
            oss_direct::crc64::checksum(body).to_string()
        );
    }
    assert_eq!(stored_crc(&rt, &stack, "uploads/file-4.bin"), None);
    let sum = app.ok("queue_summary", json!({}));
    assert_eq!(sum["done"], 4);
    assert_eq!(sum["bytesDone"], sum["bytesTotal"]);
    assert_eq!(sum["bytesTotal"], 2_200_000);

    // The channel carried each file's states and its progress, in camelCase.
    let messages = app.progress(20);
    let of = |t: &str| messages.iter().filter(|m| m["type"] == t).count();
    assert!(of("progress") > 5 && of("file") >= 15, "{messages:?}");
    assert!(messages
        .iter()
        .any(|m| m["type"] == "file" && m["file"]["state"] == "paused"));
    assert!(messages
        .iter()
        .filter(|m| m["type"] == "progress")
        .all(|m| m["bytesDone"].as_u64() <= m["bytesTotal"].as_u64()));
    // Done files are the history.
    let h = app.ok("get_history", json!({}));
    assert_eq!(
        h.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["state"] == "done")
            .count(),
        4
    );
}

#[test]
fn an_outage_is_a_wait_and_every_file_completes_by_itself() {
    let (rt, mut stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir.path().join("app"));
    app.configure(
        &stack,
        json!({ "partSize": 102400, "concurrency": 2, "jobs": 3, "uploadMode": "resumable" }),
    );
    app.ok("queue_events", json!({ "onEvent": channel(30) }));
    let sources = files(dir.path(), &[450_000, 250_000, 350_000, 150_000]);
    // Every upload request fails 503 for a while: more than the client's own two retries.
    for op in ["UploadPart", "InitiateMultipartUpload", "PutObject"] {
        stack.faults().fail_next(op, 12, 503, "ServiceUnavailable");
    }
    let picks: Vec<Value> = sources
        .iter()
        .map(|(p, _)| json!({ "file": app.pick(p)["id"] }))
        .collect();
    app.ok("enqueue", json!({ "files": picks }));
    wait_for("a file waiting for the network", 30, || {
        app.states().iter().any(|s| s == "waiting").then_some(())
    });
    let sum = app.ok("queue_summary", json!({}));
    assert!(sum["waiting"].as_u64().unwrap() >= 1, "{sum}");
    let waiting = app
        .queue()
        .into_iter()
        .find(|f| f["state"] == "waiting")
        .unwrap();
    assert!(
        waiting["reason"].as_str().unwrap().contains("network"),
        "{waiting}"
    );

    // Then OSS goes away entirely (connections refused) and comes back: no tap.
    rt.block_on(stack.stop_oss());
    std::thread::sleep(Duration::from_millis(1500));
    rt.block_on(stack.start_oss());
    app.ok("queue_summary", json!({}));
    let end = app.settled(120);
    for (i, (_, body)) in sources.iter().enumerate() {
        assert_eq!(end[i]["state"], "done", "{:?}", end[i]);
        let key = format!("uploads/file-{i}.bin");
        assert_eq!(
            stored_crc(&rt, &stack, &key),
            Some(oss_direct::crc64::checksum(body))
        );
    }
    let messages = app.progress(30);
    assert!(
        !messages
            .iter()
            .any(|m| m["type"] == "file" && m["file"]["state"] == "failed"),
        "network loss is not a failure"
    );
}

/// Environment of [`killed_mid_queue`]: the data folder, the token URL, the files, auto-resume.
const KILL_ENV: &str = "OSS_DIRECT_TEST_KILL";

/// Not a test on its own: the app of [`unfinished_files_resume_by_themselves_when_the_app_starts_again`]
/// in a child process, which that test kills (`SIGKILL`) mid-queue.
#[test]
#[ignore = "run by unfinished_files_resume_by_themselves_when_the_app_starts_again"]
fn killed_mid_queue() {
    let Ok(spec) = std::env::var(KILL_ENV) else {
        return;
    };
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let app = app(std::path::Path::new(spec["data"].as_str().unwrap()));
    let mut s = app.ok("get_settings", json!({}));
    s["serverUrl"] = spec["tokenUrl"].clone();
    for (k, v) in [
        ("partSize", json!(102400)),
        ("concurrency", json!(1)),
        ("uploadMode", json!("resumable")),
        ("jobs", json!(2)),
        ("autoResume", spec["autoResume"].clone()),
    ] {
        s[k] = v;
    }
    app.ok("save_settings", json!({ "settings": s }));
    let picks: Vec<Value> = spec["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({ "file": app.pick(std::path::Path::new(p.as_str().unwrap()))["id"] }))
        .collect();
    app.ok("enqueue", json!({ "files": picks }));
    wait_for("parts sent", 60, || {
        let q = app.queue();
        let moving = q
            .iter()
            .filter(|f| f["bytesDone"].as_u64().unwrap() >= 102_400);
        (moving.count() >= 2).then_some(())
    });
    // The queue writes byte counts to its database once a second: let it, once.
    std::thread::sleep(Duration::from_millis(1300));
    std::fs::write(spec["ready"].as_str().unwrap(), b"ready").unwrap();
    std::thread::sleep(Duration::from_secs(120)); // until killed
}

/// Runs [`killed_mid_queue`] in a child process and kills it (`SIGKILL`) once its uploads are
/// under way.
fn kill_mid_queue(
    stack: &Stack,
    data: &std::path::Path,
    files: &[std::path::PathBuf],
    auto_resume: bool,
) {
    let ready = data.with_extension("ready");
    let spec = json!({ "data": data, "tokenUrl": stack.token_url, "files": files,
        "autoResume": auto_resume, "ready": ready });
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "killed_mid_queue", "--nocapture"])
        .env(KILL_ENV, spec.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the child's uploads under way", 90, || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child app ended by itself: {status}");
        }
        ready.exists().then_some(())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn unfinished_files_resume_by_themselves_when_the_app_starts_again() {
    let (rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let sources = files(dir.path(), &[800_000, 700_000, 600_000]);
    let paths: Vec<_> = sources.iter().map(|(p, _)| p.clone()).collect();
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(500), None);
    kill_mid_queue(&stack, &data, &paths, true);
    stack.faults().clear();

    let app = app(&data);
    // Listed at once, and uploading again without a tap.
    let q = app.queue();
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(
        q.iter().any(|f| f["bytesDone"].as_u64().unwrap() > 0),
        "{q:?}"
    );
    let end = app.settled(90);
    for (i, (_, body)) in sources.iter().enumerate() {
        assert_eq!(end[i]["state"], "done", "{:?}", end[i]);
        let key = format!("uploads/file-{i}.bin");
        assert_eq!(
            stored_crc(&rt, &stack, &key),
            Some(oss_direct::crc64::checksum(body))
        );
    }
    // The files that had parts in OSS resumed from their checkpoints.
    let resumed: u32 = end
        .iter()
        .map(|f| f["resumedParts"].as_u64().unwrap() as u32)
        .sum();
    assert!(resumed >= 2, "{end:?}");
}

#[test]
fn with_auto_resume_off_unfinished_files_wait_for_the_user() {
    let (rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    let sources = files(dir.path(), &[800_000, 700_000, 600_000]);
    let paths: Vec<_> = sources.iter().map(|(p, _)| p.clone()).collect();
    stack
        .faults()
        .add_latency("UploadPart", Duration::from_millis(500), None);
    kill_mid_queue(&stack, &data, &paths, false);
    stack.faults().clear();

    let app = app(&data);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(app.states(), ["paused", "paused", "paused"]);
    app.ok("queue_resume_all", json!({}));
    let end = app.settled(60);
    for (i, (_, body)) in sources.iter().enumerate() {
        assert_eq!(end[i]["state"], "done", "{:?}", end[i]);
        let key = format!("uploads/file-{i}.bin");
        assert_eq!(
            stored_crc(&rt, &stack, &key),
            Some(oss_direct::crc64::checksum(body))
        );
    }
}

#[test]
fn the_old_history_moves_into_the_database_once() {
    let (_rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("app");
    std::fs::create_dir_all(&data).unwrap();
    let src = dir.path().join("old.png");
    png(&src, 20, 20);
    let settings = json!({ "serverUrl": stack.token_url, "bucket": oss_local::DEMO_BUCKET,
        "region": "oss-local", "endpoint": stack.oss_endpoint, "objectPrefix": "uploads/" });
    std::fs::write(data.join("settings.json"), settings.to_string()).unwrap();
    let entry = |id: &str, key: &str, state: &str| {
        json!({ "id": id, "key": key, "bucket": oss_local::DEMO_BUCKET, "source": src,
            "localPath": src, "name": "old.png", "size": 1234, "resumable": false,
            "state": state, "bytesDone": 0, "etag": if state == "done" { json!("E1") } else { json!(null) },
            "crc64": if state == "done" { json!("42") } else { json!(null) },
            "error": null, "startedAt": 1_700_000_000, "updatedAt": 1_700_000_100 })
    };
    let old = json!([
        entry("u-done", "uploads/old.png", "done"),
        entry("u-stopped", "uploads/stopped.png", "uploading")
    ]);
    std::fs::write(data.join("history.json"), old.to_string()).unwrap();

    let app = app(&data);
    let h = app.ok("get_history", json!({}));
    let find = |id: &str| {
        h.as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {h}"))
    };
    let done = find("u-done");
    assert_eq!(
        (done["state"].as_str(), done["crc64"].as_str()),
        (Some("done"), Some("42"))
    );
    assert_eq!(done["startedAt"], 1_700_000_000);
    // An upload the app stopped during comes back paused, to resume from its checkpoint.
    assert_eq!(find("u-stopped")["state"], "paused");
    assert!(!data.join("history.json").exists());
    assert!(data.join("history.json.migrated").exists());
    assert!(data.join("queue.sqlite").exists());

    // Once: a restart finds the same two entries, not four.
    drop(app);
    let app = self::app(&data);
    assert_eq!(
        app.ok("get_history", json!({})).as_array().unwrap().len(),
        2
    );
}

/// A JPEG with an EXIF block holding a GPS position (N 48°51′, E 2°21′) and a camera name.
fn jpeg_with_gps(path: &std::path::Path) -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut jpeg = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    let (make, gps) = (8 + 2 + 24 + 4, 8 + 2 + 24 + 4 + 8);
    let (lat, lon) = (gps + 2 + 48 + 4, gps + 2 + 48 + 4 + 24);
    tiff.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut tiff, 0x010F, 2, 8, (make as u32).to_be_bytes());
    entry(&mut tiff, 0x8825, 4, 1, (gps as u32).to_be_bytes());
    tiff.extend_from_slice(&[0; 4]);
    tiff.extend_from_slice(b"Phone7\0\0");
    tiff.extend_from_slice(&4u16.to_be_bytes());
    entry(&mut tiff, 1, 2, 2, *b"N\0\0\0");
    entry(&mut tiff, 2, 5, 3, (lat as u32).to_be_bytes());
    entry(&mut tiff, 3, 2, 2, *b"E\0\0\0");
    entry(&mut tiff, 4, 5, 3, (lon as u32).to_be_bytes());
    tiff.extend_from_slice(&[0; 4]);
    for (num, den) in [
        (48u32, 1u32),
        (51, 1),
        (2400, 100),
        (2, 1),
        (21, 1),
        (300, 100),
    ] {
        tiff.extend_from_slice(&num.to_be_bytes());
        tiff.extend_from_slice(&den.to_be_bytes());
    }
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    std::fs::write(path, &out).unwrap();
    out
}

#[test]
fn a_photo_with_gps_is_stored_without_it_by_default() {
    let (rt, stack) = runtime_with_stack();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir.path().join("app"));
    let s = app.configure(&stack, json!({}));
    assert_eq!(
        (s["stripMetadata"].as_bool(), s["photoSize"].as_str()),
        (Some(true), Some("original"))
    );
    assert_eq!(
        (s["jobs"].as_u64(), s["autoResume"].as_bool()),
        (Some(3), Some(true))
    );
    let src = dir.path().join("IMG_0001.jpg");
    let original = jpeg_with_gps(&src);
    let file = app.pick(&src)["id"].clone();
    app.ok("enqueue", json!({ "files": [{ "file": file }] }));
    let end = app.settled(30);
    assert_eq!(end[0]["state"], "done", "{:?}", end[0]);
    let note = end[0]["note"].as_str().unwrap();
    assert!(
        note.contains("location") && note.contains("removed"),
        "{note}"
    );
    let stored = rt.block_on(async {
        let conn = stack.settings().connect(None).await.unwrap();
        conn.client
            .get_object("uploads/IMG_0001.jpg", &Default::default())
            .await
            .unwrap()
    });
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(has(&original, b"Exif\0\0") && has(&original, b"Phone7"));
    assert!(!has(&stored, b"Exif\0\0"), "no EXIF (with its GPS) in OSS");
    assert!(!has(&stored, b"Phone7"));
    assert!(stored.len() < original.len());
    // The pixels are the original's: only segments were dropped.
    let a = image::load_from_memory(&original).unwrap().to_rgb8();
    let b = image::load_from_memory(&stored).unwrap().to_rgb8();
    assert_eq!(a.as_raw(), b.as_raw());
    // The original on the device is untouched, and the prepared copy is gone from the cache.
    assert_eq!(std::fs::read(&src).unwrap(), original);
    let prepared = dir.path().join("app/cache/prepared");
    let left = std::fs::read_dir(&prepared).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "prepared copies removed once stored");

    // "Medium" scales a photo down to 1280 px on its long edge: here it is smaller already.
    let s = app.configure(
        &stack,
        json!({ "photoSize": "medium", "stripMetadata": false }),
    );
    assert_eq!(s["photoSize"], "medium");
    let err = app
        .invoke("save_settings", json!({ "settings": { "jobs": 0 } }))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("files at once"),
        "{err}"
    );
}
