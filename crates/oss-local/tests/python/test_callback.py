"""Upload callbacks through oss2: oss-local POSTs to a receiver, signed like OSS (RSA over MD5),
and relays the receiver's answer."""
import base64
import http.server
import json
import threading
import urllib.parse
import urllib.request
import uuid

import oss2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import BUCKET


class _Receiver(http.server.BaseHTTPRequestHandler):
    calls = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = json.dumps({"Status": "OK", "seen": len(body)}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture()
def receiver():
    _Receiver.calls = []
    _Receiver.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/callback?src=oss", _Receiver
    server.shutdown()


def _callback_headers(url, body):
    param = {"callbackUrl": url, "callbackBody": body, "callbackBodyType": "application/x-www-form-urlencoded"}
    return {
        "x-oss-callback": base64.b64encode(json.dumps(param).encode()).decode(),
        "x-oss-callback-var": base64.b64encode(json.dumps({"x:uid": "u-1"}).encode()).decode(),
    }


def test_put_object_with_callback(oss_endpoint, region, assume_role, receiver):
    url, recv = receiver
    ak, secret, token = assume_role()
    bucket = oss2.Bucket(oss2.StsAuth(ak, secret, token), oss_endpoint, BUCKET, region=region)
    key = f"uploads/cb/{uuid.uuid4().hex}.txt"
    headers = _callback_headers(url, "bucket=${bucket}&object=${object}&size=${size}&uid=${x:uid}")
    result = bucket.put_object(key, b"hello callback", headers=headers)
    assert result.status == 200
    assert json.loads(result.resp.read()) == {"Status": "OK", "seen": len(recv.calls[0][2])}

    path, hdrs, body = recv.calls[0]
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    assert fields == {"bucket": BUCKET, "object": key, "size": "14", "uid": "u-1"}
    key_url = base64.b64decode(hdrs["x-oss-pub-key-url"]).decode()
    pem = urllib.request.urlopen(key_url).read()
    public_key = serialization.load_pem_public_key(pem)
    message = urllib.parse.unquote(path.split("?", 1)[0]).encode()
    if "?" in path:
        message += b"?" + path.split("?", 1)[1].encode()
    message += b"\n" + body
    public_key.verify(base64.b64decode(hdrs["authorization"]), message, padding.PKCS1v15(), hashes.MD5())


def test_failed_callback_is_203(oss_endpoint, region, assume_role, receiver):
    url, recv = receiver
    recv.status = 502
    ak, secret, token = assume_role()
    bucket = oss2.Bucket(oss2.StsAuth(ak, secret, token), oss_endpoint, BUCKET, region=region)
    key = f"uploads/cb/{uuid.uuid4().hex}.txt"
    # oss2 takes any 2xx as success: the 203 and its CallbackFailed document come back as is.
    result = bucket.put_object(key, b"x", headers=_callback_headers(url, "object=${object}"))
    assert result.status == 203
    assert b"<Code>CallbackFailed</Code>" in result.resp.read()
    assert bucket.get_object(key).read() == b"x", "the object is stored anyway"
