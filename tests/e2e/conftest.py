"""The offline stack for the real-window tests: oss-local and app-token-server as processes,
tauri-driver in front of WebKitWebDriver, and the built app."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/oss-direct/target")) / "debug"
SHOTS = Path(os.environ.get("E2E_SCREENSHOTS", ROOT / "target-e2e-screens"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=30, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    def __init__(self, work):
        self.work = Path(work)
        self.procs = []
        ready = self.work / "ready.json"
        self.spawn([str(TARGET / "oss-local"), "--demo", "--listen", "127.0.0.1:0", "--sts-listen",
                    "127.0.0.1:0", "--data-dir", str(self.work / "oss"), "--ready-file", str(ready)])
        info = wait_until(lambda: json.loads(ready.read_text()), what="oss-local")
        self.oss = info["oss_endpoint"]
        self.sts = info["sts_endpoint"]
        # The faults route wants oss-local's admin token (from its ready file) in a header.
        self.admin_token = info.get("admin_token")
        port = free_port()
        config = {
            "AccessKeyID": "LTAI5tLocalDemoKey",
            "AccessKeySecret": "LocalDemoSecret",
            "RoleArn": "acs:ram::1000000000000000:role/oss-direct-demo",
            "TokenExpireTime": "900",
            "PolicyFile": str(ROOT / "policy/bucket_read_write_policy.txt"),
            "StsEndpoint": self.sts,
            "Bucket": "demo-bucket",
            "ObjectPrefix": "uploads/",
            "Region": info["region"],
            "OssEndpoint": self.oss,
            # Upload callbacks: oss-local tells the token server what was uploaded.
            "Callback": {"Url": f"http://127.0.0.1:{port}/callback",
                         "TrustedKeyUrls": [self.oss + "/-/callback-public-key.pem"]},
            "DatabaseUrl": "sqlite://" + str(self.work / "uploads.db"),
        }
        (self.work / "config.json").write_text(json.dumps(config))
        self.spawn([str(TARGET / "app-token-server"), str(port), "--listen", "127.0.0.1",
                    "--config", str(self.work / "config.json")])
        self.token_url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: urllib.request.urlopen(self.token_url + "healthz").status == 200,
                   what="app-token-server")

    def spawn(self, args, **kw):
        log = open(self.work / (Path(args[0]).name + ".log"), "ab")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def fault(self, spec):
        headers = {"content-type": "application/json"}
        if self.admin_token:
            headers["x-oss-local-admin-token"] = self.admin_token
        req = urllib.request.Request(self.oss + "/-/faults", data=json.dumps(spec).encode(),
                                     headers=headers, method="POST")
        assert urllib.request.urlopen(req).status in (200, 204)

    def stop(self):
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="session")
def stack():
    with tempfile.TemporaryDirectory() as work:
        s = Stack(work)
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture(scope="session")
def driver_server(stack):
    """tauri-driver, with the app's data folder and App server in its environment."""
    data = Path(stack.work) / "app-data"
    env = dict(os.environ, OSS_DIRECT_DATA_DIR=str(data), OSS_DIRECT_SERVER=stack.token_url)
    port = free_port()
    native = free_port()
    p = stack.spawn(["tauri-driver", "--port", str(port), "--native-port", str(native)], env=env)
    os.environ["E2E_APP_LOG"] = str(stack.work / "tauri-driver.log")  # the app's stderr too
    wait_until(lambda: socket.create_connection(("127.0.0.1", port), 1), what="tauri-driver")
    yield f"http://127.0.0.1:{port}"
    p.terminate()


@pytest.fixture(scope="session")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
