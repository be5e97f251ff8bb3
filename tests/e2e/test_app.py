"""The app in a real window (Xvfb + WebKitWebDriver through tauri-driver), against oss-local and
the app token server: settings, the native file dialog, simple and resumable uploads, pause and
resume, a restart finished from History, and an AccessDenied message."""
import os
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support.ui import Select

from conftest import TARGET, wait_until

APP = str(TARGET / "oss-direct-app")


def png(path, w, h, noise=False):
    """An RGB PNG with a gradient, or noise that barely compresses (no image library needed)."""
    if noise:
        rows = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
    else:
        rows = b"".join(b"\x00" + bytes((x * 255 // w, y * 255 // h, 120)[i % 3] for x in range(w) for i in range(3)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    Path(path).write_bytes(data)
    return data


def session(driver_server):
    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": APP})
    d = webdriver.Remote(command_executor=driver_server, options=opts)
    d.implicitly_wait(0)
    wait_until(lambda: d.execute_script("return document.readyState") == "complete", what="the page")
    return d


def el(d, css):
    return d.find_element(By.CSS_SELECTOR, css)


def visible(d, css):
    return wait_until(lambda: el(d, css).is_displayed() and el(d, css), what=f"{css} visible")


def pick_file(d, path):
    """Clicks Select Image and types the path into the GTK file chooser, as a person would."""
    # Forget the previous pick so the wait below sees this one.
    d.execute_script("document.getElementById('object-key').value = ''")
    el(d, "#select-image").click()
    win = wait_until(lambda: subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Select Image"],
                                            capture_output=True, text=True).stdout.split(),
                     what="the file dialog")[-1]
    # No window manager runs under Xvfb: give the dialog the keyboard focus directly, once it
    # can take it.
    wait_until(lambda: subprocess.run(["xdotool", "windowfocus", "--sync", win],
                                      capture_output=True).returncode == 0, what="focus on the dialog")
    time.sleep(0.3)
    subprocess.run(["xdotool", "key", "ctrl+l"], check=True)
    time.sleep(0.2)
    subprocess.run(["xdotool", "type", "--delay", "15", str(path)], check=True)
    time.sleep(0.2)
    subprocess.run(["xdotool", "key", "Return"], check=True)
    wait_until(lambda: el(d, "#object-key").get_attribute("value").endswith(Path(path).name),
               what="the picked file")


def percent(d):
    return int(el(d, "#progress").get_attribute("data-percent") or 0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    base = tmp_path_factory.mktemp("pictures")
    photo = base / "photo.png"
    png(photo, 640, 480)
    big = base / "big-panorama.png"
    png(big, 1200, 860, noise=True)  # about 3 MiB
    return {"photo": photo, "big": big}


def test_settings_and_simple_upload_with_thumbnail(driver_server, stack, files, shots):
    d = session(driver_server)
    try:
        el(d, "#nav-settings").click()
        server = el(d, "#server-url")
        assert server.get_attribute("value") == stack.token_url
        assert not el(d, "#server-warning").is_displayed()
        # A plain http:// App server outside the local network is called out next to the field.
        server.clear()
        server.send_keys("http://tokens.example.com:7080/")
        warning = visible(d, "#server-warning")
        assert "in clear" in warning.text and "https://" in warning.text
        d.save_screenshot(str(shots / "settings-cleartext-warning.png"))
        server.clear()
        server.send_keys(stack.token_url)
        wait_until(lambda: not el(d, "#server-warning").is_displayed(), what="no warning for loopback")
        el(d, "#test-connection").click()
        wait_until(lambda: "Connected" in el(d, "#settings-status").text, what="Connected")
        assert el(d, "#bucket").get_attribute("value") == "demo-bucket"
        assert el(d, "#prefix").get_attribute("value") == "uploads/"
        d.save_screenshot(str(shots / "settings.png"))

        el(d, "#nav-upload").click()
        pick_file(d, files["photo"])
        assert el(d, "#object-key").get_attribute("value") == "uploads/photo.png"
        wait_until(lambda: d.execute_script("return document.getElementById('picked-preview').naturalWidth") == 640,
                   what="the picked image's preview")
        Select(el(d, "#upload-mode-once")).select_by_value("simple")
        el(d, "#start").click()
        visible(d, "#result")
        assert "verified" in el(d, "#result-crc").text
        assert el(d, "#result-key").text == "uploads/photo.png"
        width = wait_until(lambda: d.execute_script("return document.getElementById('thumbnail').naturalWidth"),
                           what="the thumbnail")
        assert width == 240
        wait_until(lambda: d.execute_script("return document.getElementById('watermarked').naturalWidth") == 640,
                   what="the watermarked preview")
        assert "x-oss-signature" in el(d, "#signed-url").get_attribute("value")
        assert "recorded this upload" in el(d, "#result-callback").text
        d.set_window_size(1024, 1400)
        d.save_screenshot(str(shots / "result.png"))
        d.set_window_size(390, 844)  # phone width
        d.save_screenshot(str(shots / "result-phone.png"))
        # My uploads: what the app server recorded from the upload callback, with a thumbnail.
        d.set_window_size(1024, 780)
        el(d, "#nav-history").click()
        item = visible(d, "#server-list li[data-key='uploads/photo.png']")
        wait_until(lambda: d.execute_script(
            "return document.querySelector(\"#server-list li[data-key='uploads/photo.png'] img\").naturalWidth") == 96,
            what="the My uploads thumbnail")
        assert "640×480" in item.text
        d.save_screenshot(str(shots / "my-uploads.png"))
    finally:
        d.quit()


def test_resumable_pause_resume_and_restart_from_history(driver_server, stack, files, shots):
    d = session(driver_server)
    try:
        el(d, "#nav-settings").click()
        part = el(d, "#part-size")
        part.clear()
        part.send_keys("256")
        conc = el(d, "#concurrency")
        conc.clear()
        conc.send_keys("2")
        el(d, "#save-settings").click()
        wait_until(lambda: "Saved" in el(d, "#settings-status").text, what="Saved")

        stack.fault({"action": "latency", "operation": "UploadPart", "millis": 250})
        el(d, "#nav-upload").click()
        pick_file(d, files["big"])
        Select(el(d, "#upload-mode-once")).select_by_value("resumable")
        el(d, "#start").click()
        wait_until(lambda: percent(d) >= 20, what="20 %")
        d.save_screenshot(str(shots / "upload-progress.png"))
        el(d, "#pause").click()
        wait_until(lambda: "Paused" in el(d, "#progress-text").text, what="Paused")
        paused_at = percent(d)
        assert 20 <= paused_at < 100
        el(d, "#resume").click()
        wait_until(lambda: percent(d) > paused_at, what="progress after resume")
        el(d, "#pause").click()
        wait_until(lambda: "Paused" in el(d, "#progress-text").text, what="Paused again")
    finally:
        d.quit()  # the app process ends here, with the upload unfinished

    stack.fault({"action": "clear"})
    d = session(driver_server)
    try:
        el(d, "#nav-history").click()
        item = visible(d, "#history-list li[data-state='paused']")
        assert "uploads/big-panorama.png" in item.text
        d.save_screenshot(str(shots / "history.png"))
        item.find_element(By.CSS_SELECTOR, ".resume-btn").click()
        visible(d, "#result")
        assert "resumed with" in el(d, "#result-crc").text
        assert "verified" in el(d, "#result-crc").text
    finally:
        d.quit()


def test_access_denied_outside_the_allowed_prefix(driver_server, stack, files, shots):
    d = session(driver_server)
    try:
        el(d, "#nav-upload").click()
        pick_file(d, files["photo"])
        key = el(d, "#object-key")
        key.clear()
        key.send_keys("private/photo.png")
        # The app says so before uploading...
        assert "must start with" in el(d, "#key-help").text
        assert not el(d, "#start").is_enabled()
        # ...and if the settings claim a prefix the token does not allow, OSS's answer is shown.
        el(d, "#nav-settings").click()
        prefix = el(d, "#prefix")
        prefix.clear()
        prefix.send_keys("private/")
        el(d, "#save-settings").click()
        wait_until(lambda: "Saved" in el(d, "#settings-status").text, what="Saved")
        el(d, "#nav-upload").click()
        pick_file(d, files["photo"])
        assert el(d, "#object-key").get_attribute("value") == "private/photo.png"
        Select(el(d, "#upload-mode-once")).select_by_value("simple")
        el(d, "#start").click()
        err = visible(d, "#upload-error")
        assert "AccessDenied" in err.text
        d.save_screenshot(str(shots / "access-denied.png"))
    finally:
        d.quit()


def call(d, script_body):
    """Runs an async JS body in the page with `invoke` and `Channel` in scope; returns what it
    passes to `done`."""
    return d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const { invoke, Channel } = window.__TAURI__.core;"
        "(async () => {" + script_body + "})().catch((e) => done({ threw: String(e) }));")


def test_the_webview_reaches_only_what_it_needs(driver_server, stack, files, shots, tmp_path):
    """What a script injected into the page could try (security review, issue 11 part 5)."""
    settings = Path(stack.work) / "app-data" / "settings.json"
    assert settings.exists()
    d = session(driver_server)
    try:
        d.set_script_timeout(20)
        # The upload plugin's commands named with raw paths instead of the handles the backend
        # issued.
        attempts = {
            "preview": f"invoke('plugin:oss-direct|preview_file', {{ id: {str(settings)!r}, path: {str(settings)!r} }})",
            "describe": f"invoke('plugin:oss-direct|describe_file', {{ id: {str(files['photo'])!r}, path: {str(files['photo'])!r} }})",
            "upload": "invoke('plugin:oss-direct|start_upload', { request: { id: 'evil', file: %r, key: 'uploads/settings.json' },"
                      " onEvent: new Channel() })" % str(settings),
            "upload-old": "invoke('plugin:oss-direct|start_upload', { request: { id: 'evil2', path: %r, key: 'uploads/settings.json' },"
                          " onEvent: new Channel() })" % str(settings),
            # Plugin commands the webview is not granted.
            "fs": f"invoke('plugin:fs|read_text_file', {{ path: {str(settings)!r} }})",
            "dialog": "invoke('plugin:dialog|open', { options: {} })",
            # A command of the upload plugin the app's UI does not use is not granted either.
            "signed-url": "invoke('plugin:oss-direct|signed_url', { request: { key: 'uploads/photo.png' } })",
        }
        for name, expr in attempts.items():
            out = call(d, f"try {{ done({{ ok: await {expr} }}); }} catch (e) {{ done({{ err: e }}); }}")
            assert "err" in out, f"{name} was not refused: {out}"
            text = str(out["err"])
            if name in ("preview", "describe", "upload"):
                assert "not a file picked" in text, f"{name}: {text}"
            if name in ("fs", "dialog", "signed-url"):
                assert "not allowed" in text, f"{name}: {text}"

        # No image from the network: the CSP's img-src is 'self' data: (thumbnails come as bytes).
        import http.server
        import threading
        (tmp_path / "remote.png").write_bytes(files["photo"].read_bytes())
        handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{httpd.server_address[1]}/remote.png"
            import urllib.request
            assert urllib.request.urlopen(url).status == 200  # the image is there...
            out = call(d, f"const img = new Image(); img.onload = () => done({{ loaded: img.naturalWidth }});"
                          f" img.onerror = () => done({{ blocked: true }}); img.src = {url!r};")
            assert out == {"blocked": True}, out  # ...but the webview may not load it
        finally:
            httpd.shutdown()
    finally:
        d.quit()
