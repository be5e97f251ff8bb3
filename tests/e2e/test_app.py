"""The app in a real window (Xvfb + WebKitWebDriver through tauri-driver), against oss-local and
the app token server: settings, the native file dialog (one file, and five at once), the upload
queue (side by side, pause and resume, a restart finished from History, the app killed mid-queue
and everything completed after a restart without a tap), a photo's GPS position removed before
upload, and an AccessDenied reason on the file's row."""
import os
import signal
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


def start(d):
    """Clicks Start until the picked files are in the queue (the form hides): a click that
    lands while GTK is still tearing the file dialog down can be lost."""
    for _ in range(3):
        el(d, "#start").click()
        try:
            return wait_until(lambda: not el(d, "#upload-form").is_displayed(), timeout=5, what="the files queued")
        except AssertionError:
            if el(d, "#upload-error").is_displayed():
                raise
    raise AssertionError("Start did nothing")


def dialog_window():
    return wait_until(lambda: subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Select Image"],
                                             capture_output=True, text=True).stdout.split(),
                      what="the file dialog")[-1]


def pick_files(d, paths):
    """Selects several files at once in the GTK file chooser: goes to their folder, then
    selects them all in the list (they are the folder's only files)."""
    folder = Path(paths[0]).parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(p).name for p in paths)
    before = len(d.find_elements(By.CSS_SELECTOR, "#queue-list li"))
    el(d, "#select-image").click()
    win = dialog_window()
    wait_until(lambda: subprocess.run(["xdotool", "windowfocus", "--sync", win],
                                      capture_output=True).returncode == 0, what="focus on the dialog")
    time.sleep(0.3)
    subprocess.run(["xdotool", "key", "ctrl+l"], check=True)
    time.sleep(0.2)
    subprocess.run(["xdotool", "type", "--delay", "15", str(folder) + "/"], check=True)
    time.sleep(0.8)
    # GTK completes the files' common prefix in the entry: drop it, then go into the folder.
    subprocess.run(["xdotool", "key", "Delete"], check=True)
    time.sleep(0.2)
    subprocess.run(["xdotool", "key", "Return"], check=True)
    time.sleep(0.8)
    # The file list has the focus now: select every file and open them.
    subprocess.run(["xdotool", "key", "ctrl+a"], check=True)
    time.sleep(0.3)
    subprocess.run(["xdotool", "key", "Return"], check=True)
    try:
        wait_until(lambda: len(d.find_elements(By.CSS_SELECTOR, "#picked-list li")) == len(paths),
                   what=f"{len(paths)} picked files")
    except AssertionError:
        subprocess.run(["import", "-window", "root", "/tmp/dialog-debug.png"])
        raise
    return before


def row(d, name):
    """The queue row of the file `name`."""
    for li in d.find_elements(By.CSS_SELECTOR, "#queue-list li"):
        if li.find_element(By.CSS_SELECTOR, ".q-name").text == name:
            return li
    return None


def row_state(d, name):
    r = row(d, name)
    return r.get_attribute("data-state") if r else None


def percent(d, name):
    r = row(d, name)
    return int(r.find_element(By.CSS_SELECTOR, ".q-bar").get_attribute("data-percent") or 0) if r else 0


def wait_or_shoot(d, shots, pred, what, timeout=30):
    """wait_until, with a screenshot of the window when it times out."""
    try:
        return wait_until(pred, timeout=timeout, what=what)
    except AssertionError:
        d.save_screenshot(str(shots / ("failed-" + what.replace(" ", "-") + ".png")))
        log = Path(os.environ.get("E2E_APP_LOG", "/nonexistent"))
        if log.exists():
            print("\n".join(line for line in log.read_text(errors="replace").splitlines()[-400:]
                            if "dconf" not in line))
        raise


def set_settings(d, **fields):
    """Changes settings fields by id (text, select or checkbox) and saves."""
    el(d, "#nav-settings").click()
    for id_, value in fields.items():
        e = el(d, "#" + id_.replace("_", "-"))
        if e.tag_name == "select":
            Select(e).select_by_value(value)
        elif e.get_attribute("type") == "checkbox":
            if e.is_selected() != value:
                e.click()
        else:
            e.clear()
            e.send_keys(str(value))
    el(d, "#save-settings").click()
    wait_until(lambda: "Saved" in el(d, "#settings-status").text, what="Saved")
    d.execute_script("document.getElementById('settings-status').textContent = ''")


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
        start(d)
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
        set_settings(d, part_size=256, concurrency=2, upload_mode="resumable")
        stack.fault({"action": "latency", "operation": "UploadPart", "millis": 500})
        el(d, "#nav-upload").click()
        pick_file(d, files["big"])
        start(d)
        name = "big-panorama.png"
        wait_until(lambda: percent(d, name) >= 20, what="20 %")
        d.save_screenshot(str(shots / "upload-progress.png"))
        row(d, name).find_element(By.CSS_SELECTOR, ".pause-btn").click()
        wait_until(lambda: row_state(d, name) == "paused", what="Paused")
        paused_at = percent(d, name)
        assert 20 <= paused_at < 100
        row(d, name).find_element(By.CSS_SELECTOR, ".resume-btn").click()
        wait_until(lambda: percent(d, name) > paused_at, what="progress after resume")
        row(d, name).find_element(By.CSS_SELECTOR, ".pause-btn").click()
        wait_until(lambda: row_state(d, name) == "paused", what="Paused again")
    finally:
        d.quit()  # the app process ends here, with the upload unfinished

    stack.fault({"action": "clear"})
    d = session(driver_server)
    try:
        # Paused by the user: it waits for them after a restart (only interrupted files resume).
        wait_until(lambda: row_state(d, "big-panorama.png") == "paused", what="the paused file listed")
        el(d, "#nav-history").click()
        item = visible(d, "#history-list li[data-state='paused']")
        assert "uploads/big-panorama.png" in item.text
        d.save_screenshot(str(shots / "history.png"))
        item.find_element(By.CSS_SELECTOR, ".resume-btn").click()
        visible(d, "#result")
        wait_until(lambda: "resumed with" in el(d, "#result-crc").text, what="resumed parts")
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
        start(d)
        # The file fails alone, with OSS's reason on its row and a Retry.
        wait_until(lambda: d.execute_script(
            "return [...document.querySelectorAll('#queue-list li')].some((li) =>"
            " li.dataset.state === 'failed' && li.item.key === 'private/photo.png')"), what="the failed row")
        failed = d.find_element(By.CSS_SELECTOR, "#queue-list li[data-state='failed']")
        assert "AccessDenied" in failed.find_element(By.CSS_SELECTOR, ".q-reason").text
        assert failed.find_element(By.CSS_SELECTOR, ".retry-btn").is_displayed()
        d.save_screenshot(str(shots / "access-denied.png"))
        # Cancelled, it leaves the queue (a failed file stays listed until retried or cancelled).
        failed.find_element(By.CSS_SELECTOR, ".cancel-btn").click()
        wait_until(lambda: failed.get_attribute("data-state") == "cancelled", what="cancelled")
    finally:
        try:
            set_settings(d, prefix="uploads/")  # as the next tests expect
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


def app_pid(stack):
    """The app process tauri-driver started for this stack (its data folder in its environment)."""
    data = str(Path(stack.work) / "app-data").encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "exe") == APP and b"OSS_DIRECT_DATA_DIR=" + data in (proc / "environ").read_bytes():
                return int(proc.name)
        except OSError:
            continue
    return None


def test_five_images_at_once_then_killed_mid_queue_and_finished_after_a_restart(driver_server, stack, shots, tmp_path):
    folder = tmp_path / "album"
    folder.mkdir()
    names = ["beach.jpg"] + [f"img-{i}.png" for i in range(2, 6)]
    jpeg_with_gps(folder / names[0], (1200, 900))  # a phone photo: its location is removed before upload
    for i, n in enumerate(names[1:]):
        png(folder / n, 900 + 40 * i, 760, noise=True)  # 2 to 2.4 MB each
    stack.fault({"action": "latency", "operation": "UploadPart", "millis": 700})
    d = session(driver_server)
    try:
        set_settings(d, part_size=100, concurrency=2, upload_mode="resumable", jobs=3)
        el(d, "#nav-upload").click()
        pick_files(d, [folder / n for n in names])
        assert "Start 5 uploads" in el(d, "#start").text
        start(d)
        wait_until(lambda: all(row(d, n) for n in names), what="five rows")
        # Side by side: three files moving at once (the jobs setting), the others queued.
        wait_or_shoot(d, shots, lambda: row_state(d, names[0]) == "done", "the photo stored")
        # (at least two seen mid-way at the same moment: a loaded machine may finish one early)
        wait_until(lambda: sum(row_state(d, n) == "uploading" and 0 < percent(d, n) < 100 for n in names) >= 2,
                   what="files progressing side by side")
        assert sum(row_state(d, n) == "uploading" for n in names) <= 3, "jobs = 3: never more than three at a time"
        assert "location" in row(d, names[0]).find_element(By.CSS_SELECTOR, ".q-note").text
        d.set_window_size(1024, 900)
        d.execute_script("window.scrollTo(0, 0)")
        d.save_screenshot(str(shots / "queue.png"))
        assert "of 5 files" in el(d, "#queue-summary").text
        # Killed mid-queue, as a phone's system may do.
        pid = app_pid(stack)
        assert pid, "the app's process"
        os.kill(pid, signal.SIGKILL)
    finally:
        try:
            d.quit()
        except Exception:  # noqa: BLE001 - the app is gone already
            pass

    stack.fault({"action": "clear"})
    d = session(driver_server)
    try:
        # Everything completes without a tap: the four unfinished files are listed again and
        # carry on from their checkpoints (the photo stored before the kill is in History).
        wait_until(lambda: all(row_state(d, n) == "done" for n in names[1:]), timeout=90, what="the rest done")
        assert row(d, names[0]) is None
        assert "4 of 4 files" in el(d, "#queue-summary").text
        d.save_screenshot(str(shots / "queue-done.png"))
        el(d, "#nav-history").click()
        visible(d, "#history-list li[data-state='done']")
        assert "uploads/beach.jpg" in el(d, "#history-list").text
    finally:
        d.quit()
    for n in names[1:]:
        assert download(stack, "uploads/" + n) == (folder / n).read_bytes(), n


def exif_with_gps():
    """A big-endian TIFF block: IFD0 with Make, and a GPS IFD (N 48°51′, E 2°21′)."""
    def entry(tag, kind, count, value):
        return struct.pack(">HHI", tag, kind, count) + value
    make_off = 8 + 2 + 12 * 2 + 4
    gps_off = make_off + 8
    lat_off = gps_off + 2 + 12 * 4 + 4
    lon_off = lat_off + 24
    t = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 2)
    t += entry(0x010F, 2, 8, struct.pack(">I", make_off)) + entry(0x8825, 4, 1, struct.pack(">I", gps_off))
    t += b"\0\0\0\0" + b"Phone7\0\0" + struct.pack(">H", 4)
    t += entry(1, 2, 2, b"N\0\0\0") + entry(2, 5, 3, struct.pack(">I", lat_off))
    t += entry(3, 2, 2, b"E\0\0\0") + entry(4, 5, 3, struct.pack(">I", lon_off)) + b"\0\0\0\0"
    for num, den in [(48, 1), (51, 1), (2400, 100), (2, 1), (21, 1), (300, 100)]:
        t += struct.pack(">II", num, den)
    return t


def jpeg_with_gps(path, size=(1600, 1200)):
    """A photo-like JPEG (gradients and grain, made with Pillow) with an EXIF APP1 segment
    holding a GPS position."""
    import io
    from PIL import Image
    ramp = Image.linear_gradient("L")
    img = Image.merge("RGB", (ramp.resize(size), Image.effect_noise(size, 40), ramp.rotate(90).resize(size)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    tiff = exif_with_gps()
    data = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\0\0" + tiff + jpeg[2:]
    Path(path).write_bytes(data)
    return data


def download(stack, key):
    """The object's bytes, read with the official oss2 SDK and a token from the token server."""
    import json
    import urllib.request
    import oss2
    token = json.loads(urllib.request.urlopen(stack.token_url).read())
    auth = oss2.StsAuth(token["AccessKeyId"], token["AccessKeySecret"], token["SecurityToken"])
    return oss2.Bucket(auth, stack.oss, "demo-bucket").get_object(key).read()


def test_a_picked_photo_with_gps_is_stored_without_it(driver_server, stack, shots, tmp_path):
    from PIL import Image
    import io
    photo = tmp_path / "IMG_2041.jpg"
    original = jpeg_with_gps(photo)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the fixture has GPS"
    d = session(driver_server)
    try:
        # The default settings: location and camera data removed, original size.
        el(d, "#nav-settings").click()
        assert el(d, "#strip-metadata").is_selected()
        assert Select(el(d, "#photo-size")).first_selected_option.get_attribute("value") == "original"
        el(d, "#nav-upload").click()
        pick_file(d, photo)
        assert "location and camera data removed" in el(d, "#photo-note").text
        start(d)
        wait_or_shoot(d, shots, lambda: row_state(d, photo.name) == "done", "the gps photo stored")
        note = row(d, photo.name).find_element(By.CSS_SELECTOR, ".q-note").text
        assert "location" in note and "removed" in note and "→" in note, note
        d.save_screenshot(str(shots / "photo-prepared.png"))
    finally:
        d.quit()
    stored = download(stack, "uploads/IMG_2041.jpg")
    assert b"Exif\0\0" not in stored and b"Phone7" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif().get_ifd(0x8825), "no GPS in OSS"
    assert Image.open(io.BytesIO(stored)).size == (1600, 1200)
    assert photo.read_bytes() == original, "the original is untouched"
