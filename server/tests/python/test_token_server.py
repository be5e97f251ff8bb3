"""The token server's credentials, used by the official Python SDK (oss2) against oss-local.

Run while oss-local is up (scripts/conformance.sh does this), with:
  OSS_LOCAL_ENDPOINT      e.g. http://127.0.0.1:9000
  OSS_LOCAL_STS_ENDPOINT  e.g. http://127.0.0.1:9001
  OSS_LOCAL_REGION        e.g. cn-hangzhou
  APP_TOKEN_SERVER_BIN    default $CARGO_TARGET_DIR/debug/app-token-server

Each test starts the built app-token-server binary with a temp config pointing at oss-local.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import oss2
import pytest

REPO = Path(__file__).resolve().parents[3]
BUCKET = "demo-bucket"
JWT_SECRET = "python-test-jwt-secret-0123456789abcdef"

OSS_ENDPOINT = os.environ.get("OSS_LOCAL_ENDPOINT")
STS_ENDPOINT = os.environ.get("OSS_LOCAL_STS_ENDPOINT")
REGION = os.environ.get("OSS_LOCAL_REGION", "cn-hangzhou")

pytestmark = pytest.mark.skipif(
    not (OSS_ENDPOINT and STS_ENDPOINT),
    reason="needs a running oss-local (OSS_LOCAL_ENDPOINT, OSS_LOCAL_STS_ENDPOINT)",
)


def server_binary():
    """The binary under test: APP_TOKEN_SERVER_BIN, else the debug build (built if missing)."""
    path = os.environ.get("APP_TOKEN_SERVER_BIN")
    if path:
        return Path(path)
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache/oss-direct/target"))
    binary = Path(target) / "debug" / "app-token-server"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "app-token-server"],
            cwd=str(REPO), check=True, env={**os.environ, "CARGO_TARGET_DIR": target},
        )
    return binary


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jwt(sub):
    """An HS256 JWT for `sub` (done by hand: the standard library is enough)."""

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": sub, "exp": int(time.time()) + 3600, "iss": "py-login"}).encode())
    signing_input = f"{header}.{claims}".encode()
    sig = hmac.new(JWT_SECRET.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(sig)}"


class TokenServer:
    def __init__(self, url, process, log_path):
        self.url = url
        self.process = process
        self.log_path = log_path

    def token(self, scope=None, bearer=None):
        url = self.url + (f"?scope={scope}" if scope else "")
        req = urllib.request.Request(url)
        if bearer:
            req.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)


@pytest.fixture
def start_server(tmp_path):
    """Starts app-token-server with the demo account and `extra` config keys."""
    started = []

    def start(extra=None):
        binary = server_binary()
        assert binary.exists(), f"no app-token-server binary at {binary}"
        config = {
            "AccessKeyID": "LTAI5tLocalDemoKey",
            "AccessKeySecret": "LocalDemoSecret",
            "RoleArn": "acs:ram::1000000000000000:role/oss-direct-demo",
            "TokenExpireTime": "900",
            "PolicyFile": str(REPO / "policy" / "bucket_write_policy.txt"),
            "StsEndpoint": STS_ENDPOINT,
            "Bucket": BUCKET,
            "ObjectPrefix": "py/",
            "Region": REGION,
            "OssEndpoint": OSS_ENDPOINT,
            "RateLimit": False,
        }
        config.update(extra or {})
        config_path = tmp_path / f"config{len(started)}.json"
        config_path.write_text(json.dumps(config))
        port = free_port()
        log_path = tmp_path / f"server{len(started)}.log"
        log = open(log_path, "w")
        process = subprocess.Popen(
            [str(binary), str(port), "--listen", "127.0.0.1", "--config", str(config_path)],
            stdout=log,
            stderr=log,
            cwd=str(REPO),
        )
        server = TokenServer(f"http://127.0.0.1:{port}/", process, log_path)
        started.append(server)
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return server
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    yield start
    for server in started:
        server.process.terminate()
        assert server.process.wait(timeout=10) == 0, server.log_path.read_text()
        log = server.log_path.read_text()
        assert "LocalDemoSecret" not in log
        assert JWT_SECRET not in log


def bucket_for(token, v4=False):
    assert token["StatusCode"] == 200, token
    if v4:
        auth = oss2.StsAuth(
            token["AccessKeyId"], token["AccessKeySecret"], token["SecurityToken"],
            auth_version=oss2.AUTH_VERSION_4,
        )
        return oss2.Bucket(auth, token["Endpoint"], token["Bucket"], region=token["Region"])
    auth = oss2.StsAuth(token["AccessKeyId"], token["AccessKeySecret"], token["SecurityToken"])
    return oss2.Bucket(auth, token["Endpoint"], token["Bucket"])


def assert_denied(call):
    with pytest.raises(oss2.exceptions.AccessDenied) as e:
        call()
    assert e.value.status == 403
    assert e.value.code == "AccessDenied"


def test_write_token_uploads_under_the_prefix_and_is_refused_outside(start_server, tmp_path):
    server = start_server()
    status, token = server.token()
    assert status == 200, token
    assert token["AccessKeyId"].startswith("STS.")
    assert token["ObjectPrefix"] == "py/"
    assert token["Endpoint"] == OSS_ENDPOINT

    bucket = bucket_for(token)
    assert bucket.put_object("py/simple.txt", b"hello").status == 200
    assert_denied(lambda: bucket.put_object("elsewhere/simple.txt", b"hello"))
    assert_denied(lambda: bucket.get_object("py/simple.txt"))

    # Signature V4 with the same token.
    assert bucket_for(token, v4=True).put_object("py/v4.txt", b"v4").status == 200

    # A resumable (multipart) upload needs only the write policy's actions.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(350 * 1024))
    result = oss2.resumable_upload(
        bucket, "py/big.bin", str(big),
        store=oss2.ResumableStore(root=str(tmp_path)),
        multipart_threshold=100 * 1024, part_size=100 * 1024, num_threads=2,
    )
    assert result.status == 200
    assert_denied(lambda: oss2.resumable_upload(
        bucket, "other/big.bin", str(big),
        store=oss2.ResumableStore(root=str(tmp_path)),
        multipart_threshold=100 * 1024, part_size=100 * 1024,
    ))


def test_read_token_cannot_write(start_server):
    server = start_server({"Scopes": ["read", "read-write"]})
    _, rw = server.token("read-write")
    bucket_for(rw).put_object("py/read-me.txt", b"content")

    status, read = server.token("read")
    assert status == 200, read
    bucket = bucket_for(read)
    assert bucket.get_object("py/read-me.txt").read() == b"content"
    assert_denied(lambda: bucket.put_object("py/read-me.txt", b"overwrite"))
    assert_denied(lambda: bucket.get_object("elsewhere/read-me.txt"))

    status, err = server.token("write")
    assert status == 403 and err["ErrorCode"] == "ScopeNotAllowed", err


def test_with_jwt_one_user_cannot_touch_another_users_prefix(start_server):
    server = start_server({
        "Auth": {"Jwt": {"Hs256Secret": JWT_SECRET, "Issuer": "py-login"}},
        "Scopes": ["read-write"],
    })
    status, err = server.token("read-write")
    assert status == 401 and err["ErrorCode"] == "MissingBearerToken", err

    _, alice = server.token("read-write", jwt("alice"))
    _, bob = server.token("read-write", jwt("bob"))
    assert alice["ObjectPrefix"] == "py/users/alice/"
    assert bob["ObjectPrefix"] == "py/users/bob/"
    a, b = bucket_for(alice), bucket_for(bob)

    b.put_object("py/users/bob/photo.jpg", b"bob's")
    a.put_object("py/users/alice/photo.jpg", b"alice's")
    assert_denied(lambda: a.get_object("py/users/bob/photo.jpg"))
    assert_denied(lambda: a.put_object("py/users/bob/photo.jpg", b"overwritten"))
    assert_denied(lambda: a.put_object("py/users/alice-evil/photo.jpg", b"x"))
    assert b.get_object("py/users/bob/photo.jpg").read() == b"bob's"
