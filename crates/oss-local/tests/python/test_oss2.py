"""oss2 (the classic Python SDK) with StsAuth V1 and V4 against oss-local."""
import os
import urllib.error
import urllib.request
import uuid

import oss2
import pytest

from conftest import BUCKET, UPLOADS_ONLY

VERSIONS = [oss2.AUTH_VERSION_1, oss2.AUTH_VERSION_4]


def make_bucket(endpoint, region, creds, version):
    ak, secret, token = creds
    auth = oss2.StsAuth(ak, secret, token, auth_version=version)
    return oss2.Bucket(auth, endpoint, BUCKET, region=region)


def key(name):
    return f"uploads/pytest/{uuid.uuid4().hex[:8]}/{name}"


@pytest.mark.parametrize("version", VERSIONS)
def test_put_get_head_delete(oss_endpoint, region, assume_role, version):
    bucket = make_bucket(oss_endpoint, region, assume_role(), version)
    k = key("hello world+ü.txt")
    data = os.urandom(4096)
    put = bucket.put_object(k, data)
    assert put.status == 200 and put.etag
    assert bucket.get_object(k).read() == data
    head = bucket.head_object(k)
    assert head.content_length == len(data)
    assert head.etag == put.etag
    assert bucket.get_object(k, byte_range=(10, 19)).read() == data[10:20]
    bucket.delete_object(k)
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object(k)
    assert not bucket.object_exists(k)


@pytest.mark.parametrize("version", VERSIONS)
def test_resumable_upload_with_threads(oss_endpoint, region, assume_role, tmp_path, version):
    bucket = make_bucket(oss_endpoint, region, assume_role(), version)
    path = tmp_path / "big.bin"
    data = os.urandom(1024 * 1024 + 12345)
    path.write_bytes(data)
    k = key("big.bin")
    result = oss2.resumable_upload(
        bucket,
        k,
        str(path),
        store=oss2.ResumableStore(root=str(tmp_path)),
        multipart_threshold=200 * 1024,
        part_size=100 * 1024,
        num_threads=4,
    )
    assert result.status == 200
    assert bucket.get_object(k).read() == data
    head = bucket.head_object(k)
    assert head.object_type == "Multipart"
    # oss2 compared the combined CRC-64 already (enable_crc); check the header is there too.
    assert int(head.headers["x-oss-hash-crc64ecma"]) == int(result.crc)


def test_presigned_url_with_plain_http(oss_endpoint, region, assume_role):
    bucket = make_bucket(oss_endpoint, region, assume_role(), oss2.AUTH_VERSION_1)
    k = key("presigned.txt")
    bucket.put_object(k, b"fetched without an SDK")
    url = bucket.sign_url("GET", k, 60)
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"fetched without an SDK"
    # The Content-Type is signed: send exactly the one the URL was signed with.
    put_url = bucket.sign_url("PUT", key("presigned-put.txt"), 60, headers={"Content-Type": "text/plain"})
    req = urllib.request.Request(put_url, data=b"x", method="PUT", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    # A different Content-Type than signed is refused like the real service does.
    bad = urllib.request.Request(put_url, data=b"x", method="PUT", headers={"Content-Type": "image/png"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad)
    assert e.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in e.value.read()


@pytest.mark.parametrize("version", VERSIONS)
def test_wrong_secret(oss_endpoint, region, assume_role, version):
    ak, _, token = assume_role()
    bucket = make_bucket(oss_endpoint, region, (ak, "wrong-secret", token), version)
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.put_object(key("x"), b"x")
    assert e.value.status == 403
    assert e.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("version", VERSIONS)
def test_expired_token(oss_endpoint, region, expired_creds, version):
    bucket = make_bucket(oss_endpoint, region, expired_creds, version)
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.put_object(key("x"), b"x")
    assert e.value.status == 403
    assert e.value.code == "SecurityTokenExpired"


@pytest.mark.parametrize("version", VERSIONS)
def test_key_outside_policy(oss_endpoint, region, assume_role, version):
    bucket = make_bucket(oss_endpoint, region, assume_role(policy=UPLOADS_ONLY), version)
    bucket.put_object(key("inside"), b"ok")
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.put_object("outside/" + uuid.uuid4().hex, b"x")
    assert e.value.status == 403
    assert e.value.code == "AccessDenied"


def test_img_resize_and_info(oss_endpoint, region, assume_role):
    bucket = make_bucket(oss_endpoint, region, assume_role(), oss2.AUTH_VERSION_1)
    # A 2x1 PNG made by hand would do; use oss-local itself to make a bigger one via format.
    import base64
    png_1x1 = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    k = key("dot.png")
    bucket.put_object(k, png_1x1)
    info = bucket.get_object(k, process="image/resize,w_10,limit_0/info")
    assert b"ImageWidth" in info.read()


def test_listing_and_multipart_iterators(oss_endpoint, region, assume_role):
    bucket = make_bucket(oss_endpoint, region, assume_role(), oss2.AUTH_VERSION_4)
    prefix = key("list/")
    for name in ["a/1", "a/2", "b", "c d", "e+f"]:
        bucket.put_object(prefix + name, b"x")
    v1 = [o.key for o in oss2.ObjectIterator(bucket, prefix=prefix, max_keys=2)]
    v2 = [o.key for o in oss2.ObjectIteratorV2(bucket, prefix=prefix, max_keys=2)]
    expected = [prefix + n for n in ["a/1", "a/2", "b", "c d", "e+f"]]
    assert v1 == expected and v2 == expected
    top = list(oss2.ObjectIteratorV2(bucket, prefix=prefix, delimiter="/"))
    assert [o.key for o in top] == [prefix + "a/", prefix + "b", prefix + "c d", prefix + "e+f"]
    assert top[0].is_prefix()

    k = key("parts.bin")
    upload_id = bucket.init_multipart_upload(k).upload_id
    for n in range(1, 6):
        bucket.upload_part(k, upload_id, n, os.urandom(1024))
    parts = list(oss2.PartIterator(bucket, k, upload_id, max_parts=2))
    assert [p.part_number for p in parts] == [1, 2, 3, 4, 5]
    assert all(p.size == 1024 for p in parts)
    uploads = [u.upload_id for u in oss2.MultipartUploadIterator(bucket, prefix=k)]
    assert uploads == [upload_id]
    # Four parts of 1 KB before the last: OSS refuses to complete.
    with pytest.raises(oss2.exceptions.ServerError) as e:
        bucket.complete_multipart_upload(k, upload_id, [oss2.models.PartInfo(p.part_number, p.etag) for p in parts])
    assert e.value.code == "EntityTooSmall"
    bucket.abort_multipart_upload(k, upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts(k, upload_id)


TRICKY = ["a b+c", "ü/日本語.txt", "100%.bin", "q?x=1&y=2#frag", "semi;colon,comma", "~tilde'quote\"", "dir//double"]


@pytest.mark.parametrize("version", VERSIONS)
def test_tricky_keys_round_trip(oss_endpoint, region, assume_role, version):
    bucket = make_bucket(oss_endpoint, region, assume_role(), version)
    prefix = key("tricky/")
    for i, name in enumerate(TRICKY):
        bucket.put_object(prefix + name, str(i).encode())
    for i, name in enumerate(TRICKY):
        assert bucket.get_object(prefix + name).read() == str(i).encode()
        assert bucket.get_object_meta(prefix + name).content_length == len(str(i))
    listed = sorted(o.key for o in oss2.ObjectIteratorV2(bucket, prefix=prefix))
    assert listed == sorted(prefix + n for n in TRICKY)


def test_presigned_img_url(oss_endpoint, region, assume_role):
    import base64
    bucket = make_bucket(oss_endpoint, region, assume_role(), oss2.AUTH_VERSION_1)
    png_1x1 = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    k = key("px.png")
    bucket.put_object(k, png_1x1)
    url = bucket.sign_url("GET", k, 60, params={"x-oss-process": "image/resize,w_8,limit_0/format,jpg"})
    with urllib.request.urlopen(url) as r:
        assert r.headers["Content-Type"] == "image/jpeg"
        assert r.read()[:2] == b"\xff\xd8"


def test_resumable_upload_resumes_after_injected_failures(oss_endpoint, region, assume_role, faults, tmp_path):
    bucket = make_bucket(oss_endpoint, region, assume_role(), oss2.AUTH_VERSION_4)
    path = tmp_path / "resume.bin"
    data = os.urandom(800 * 1024)
    path.write_bytes(data)
    k = key("resume.bin")
    store = oss2.ResumableStore(root=str(tmp_path / "ckpt"))
    kwargs = dict(store=store, multipart_threshold=100 * 1024, part_size=100 * 1024, num_threads=1)
    # Once 300 KB are in, every UploadPart fails with a 503; oss2 gives up and keeps its
    # checkpoint.
    calls = {"n": 0}

    def progress(consumed, total):
        calls["n"] += 1
        if consumed >= 300 * 1024 and calls.get("armed") is None:
            calls["armed"] = True
            faults({"action": "fail", "operation": "UploadPart", "count": 100, "status": 503, "code": "ServiceUnavailable"})

    with pytest.raises(oss2.exceptions.ServerError) as e:
        oss2.resumable_upload(bucket, k, str(path), progress_callback=progress, **kwargs)
    assert e.value.code == "ServiceUnavailable"
    faults({"action": "clear"})
    # The second run lists the parts already there and sends only the rest.
    sent = []
    original = bucket.upload_part

    def counting_upload_part(key_, upload_id, part_number, data_, *a, **kw):
        sent.append(part_number)
        return original(key_, upload_id, part_number, data_, *a, **kw)

    bucket.upload_part = counting_upload_part
    oss2.resumable_upload(bucket, k, str(path), **kwargs)
    assert bucket.get_object(k).read() == data
    assert sent and min(sent) > 1, f"parts re-sent: {sent}"


def test_bucket_info_and_location(oss_endpoint, region, assume_role):
    bucket = make_bucket(oss_endpoint, region, assume_role(), oss2.AUTH_VERSION_4)
    info = bucket.get_bucket_info()
    assert info.name == BUCKET
    assert info.location == "oss-" + region
    assert bucket.get_bucket_location().location == "oss-" + region
    # A session policy limited to objects does not cover bucket-level reads.
    limited = make_bucket(oss_endpoint, region, assume_role(policy=UPLOADS_ONLY), oss2.AUTH_VERSION_4)
    with pytest.raises(oss2.exceptions.ServerError) as e:
        limited.get_bucket_info()
    assert e.value.code == "AccessDenied"
    other = oss2.Bucket(bucket.auth, oss_endpoint, "no-such-bucket", region=region)
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        other.get_bucket_info()
