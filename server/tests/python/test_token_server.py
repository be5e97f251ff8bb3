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

    def get(self, path, bearer=None):
        req = urllib.request.Request(self.url.rstrip("/") + path)
        if bearer:
            req.add_header("Authorization", f"Bearer {bearer}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def stop(self):
        self.process.terminate()
        assert self.process.wait(timeout=10) == 0, self.log_path.read_text()

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
        port = free_port()
        config_path = tmp_path / f"config{len(started)}.json"
        # "__PORT__" in a value stands for the port this server gets (e.g. in Callback.Url).
        config_path.write_text(json.dumps(config).replace("__PORT__", str(port)))
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
        if server.process.poll() is None:
            server.stop()
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


def callback_headers(hint):
    """x-oss-callback and x-oss-callback-var from the token server's hint, as an app sends them."""
    hint = dict(hint)
    variables = hint.pop("callbackVar", {})
    headers = {"x-oss-callback": base64.b64encode(json.dumps(hint).encode()).decode()}
    if variables:
        headers["x-oss-callback-var"] = base64.b64encode(json.dumps(variables).encode()).decode()
    return headers


def oss_local_does_callbacks():
    try:
        with urllib.request.urlopen(f"{OSS_ENDPOINT}/-/callback-public-key.pem", timeout=5) as r:
            return r.status == 200 and b"PUBLIC KEY" in r.read()
    except OSError:
        return False


def test_oss2_upload_callbacks_are_verified_recorded_relayed_and_listed(start_server):
    if not oss_local_does_callbacks():
        pytest.skip("this oss-local does not perform upload callbacks")
    config = {
        "Auth": {"Jwt": {"Hs256Secret": JWT_SECRET, "Issuer": "py-login"}},
        "Callback": {
            "Url": "http://127.0.0.1:__PORT__/callback",
            "TrustedKeyUrls": [f"{OSS_ENDPOINT}/-/callback-public-key.pem"],
        },
    }
    server = start_server(config)
    alice_jwt, bob_jwt = jwt("alice"), jwt("bob")
    status, token = server.token(bearer=alice_jwt)
    assert status == 200, token
    hint = token["Callback"]
    assert hint["callbackUrl"] == server.url + "callback"
    assert hint["callbackBodyType"] == "application/x-www-form-urlencoded"
    headers = callback_headers(hint)
    bucket = bucket_for(token)
    prefix = token["ObjectPrefix"]

    # PutObject: OSS relays the token server's JSON as the upload's answer.
    r = bucket.put_object(prefix + "simple.txt", b"hello callback", headers=headers)
    assert r.status == 200
    answer = json.loads(r.resp.read())
    assert answer["Status"] == "OK", answer
    assert (answer["User"], answer["Key"], answer["Size"]) == ("alice", prefix + "simple.txt", 14)
    assert answer["ETag"] == r.etag
    answer_id = answer["Id"]

    # CompleteMultipartUpload carries the callback for a multipart upload.
    key = prefix + "multi.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    parts = []
    for n, chunk in enumerate([os.urandom(100 * 1024), os.urandom(1000)], start=1):
        parts.append(oss2.models.PartInfo(n, bucket.upload_part(key, upload_id, n, chunk).etag))
    r = bucket.complete_multipart_upload(key, upload_id, parts, headers=headers)
    assert r.status == 200
    answer = json.loads(r.resp.read())
    assert (answer["Key"], answer["Size"]) == (key, 100 * 1024 + 1000), answer

    # The same content to the same key again is a re-upload: answered with the one record.
    r = bucket.put_object(prefix + "simple.txt", b"hello callback", headers=headers)
    assert r.status == 200
    assert json.loads(r.resp.read())["Id"] == answer_id

    # Without the server's ticket (a body of the uploader's own), nothing is recorded.
    forged = dict(hint, callbackBody="bucket=${bucket}&object=${object}&etag=${etag}&size=${size}")
    r = bucket.put_object(prefix + "forged.txt", b"x", headers=callback_headers(forged))
    assert r.status == 203
    assert b"CallbackFailed" in r.resp.read()

    status, listed = server.get("/uploads", alice_jwt)
    assert status == 200, listed
    assert [u["Key"] for u in listed["Uploads"]] == [key, prefix + "simple.txt"]
    status, listed = server.get("/uploads", bob_jwt)
    assert (status, listed["Uploads"]) == (200, [])

    # The records survive a restart on the same database.
    server.stop()
    server = start_server(config)
    status, listed = server.get("/uploads?limit=1", alice_jwt)
    assert status == 200, listed
    assert [u["Key"] for u in listed["Uploads"]] == [key]
    assert listed["NextAfter"]


def test_with_the_callback_server_down_the_object_is_stored_and_callback_failed_reported(start_server):
    if not oss_local_does_callbacks():
        pytest.skip("this oss-local does not perform upload callbacks")
    server = start_server({
        "Callback": {"Url": f"http://127.0.0.1:{free_port()}/callback",
                     "TrustedKeyUrls": [f"{OSS_ENDPOINT}/-/callback-public-key.pem"]},
        "Scopes": ["read-write"],
    })
    status, token = server.token("read-write")
    assert status == 200, token
    bucket = bucket_for(token)
    r = bucket.put_object("py/unheard.txt", b"stored anyway", headers=callback_headers(token["Callback"]))
    assert r.status == 203
    assert b"CallbackFailed" in r.resp.read()
    assert bucket.head_object("py/unheard.txt").content_length == len(b"stored anyway")
