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
        assert el(d, "#server-url").get_attribute("value") == stack.token_url
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
