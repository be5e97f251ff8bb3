"""alibabacloud-oss-v2 (the V4-first SDK) against oss-local."""
import os
import urllib.request
import uuid

import alibabacloud_oss_v2 as oss
import pytest

from conftest import BUCKET, UPLOADS_ONLY


def client(endpoint, region, creds):
    ak, secret, token = creds
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, secret, token)
    cfg.region = region
    cfg.endpoint = endpoint
    cfg.retry_max_attempts = 1
    return oss.Client(cfg)


def key(name):
    return f"uploads/pytest-v2/{uuid.uuid4().hex[:8]}/{name}"


def test_put_get_head_delete(oss_endpoint, region, assume_role):
    c = client(oss_endpoint, region, assume_role())
    k = key("a b.bin")
    data = os.urandom(3000)
    put = c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=k, body=data))
    assert put.status_code == 200 and put.etag
    got = c.get_object(oss.GetObjectRequest(bucket=BUCKET, key=k))
    assert got.body.read() == data
    head = c.head_object(oss.HeadObjectRequest(bucket=BUCKET, key=k))
    assert head.content_length == len(data)
    listed = c.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix=k))
    assert [o.key for o in listed.contents] == [k]
    c.delete_object(oss.DeleteObjectRequest(bucket=BUCKET, key=k))
    with pytest.raises(oss.exceptions.OperationError) as e:
        c.get_object(oss.GetObjectRequest(bucket=BUCKET, key=k))
    assert _code(e) == "NoSuchKey"


def test_uploader_multipart(oss_endpoint, region, assume_role, tmp_path):
    c = client(oss_endpoint, region, assume_role())
    path = tmp_path / "f.bin"
    data = os.urandom(700 * 1024)
    path.write_bytes(data)
    k = key("f.bin")
    up = c.uploader(part_size=100 * 1024, parallel_num=3)
    up.upload_file(oss.PutObjectRequest(bucket=BUCKET, key=k), filepath=str(path))
    got = c.get_object(oss.GetObjectRequest(bucket=BUCKET, key=k))
    assert got.body.read() == data


def test_presign_v4_fetched_plainly(oss_endpoint, region, assume_role):
    c = client(oss_endpoint, region, assume_role())
    k = key("p.txt")
    c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=k, body=b"presigned v4"))
    pre = c.presign(oss.GetObjectRequest(bucket=BUCKET, key=k))
    with urllib.request.urlopen(pre.url) as r:
        assert r.read() == b"presigned v4"


def _code(excinfo):
    err = excinfo.value.unwrap()
    return getattr(err, "code", None)


def test_wrong_secret(oss_endpoint, region, assume_role):
    ak, _, token = assume_role()
    c = client(oss_endpoint, region, (ak, "wrong-secret", token))
    with pytest.raises(oss.exceptions.OperationError) as e:
        c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key("x"), body=b"x"))
    assert _code(e) == "SignatureDoesNotMatch"


def test_expired_token(oss_endpoint, region, expired_creds):
    c = client(oss_endpoint, region, expired_creds)
    with pytest.raises(oss.exceptions.OperationError) as e:
        c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key("x"), body=b"x"))
    assert _code(e) == "SecurityTokenExpired"


def test_key_outside_policy(oss_endpoint, region, assume_role):
    c = client(oss_endpoint, region, assume_role(policy=UPLOADS_ONLY))
    c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key("in"), body=b"x"))
    with pytest.raises(oss.exceptions.OperationError) as e:
        c.put_object(oss.PutObjectRequest(bucket=BUCKET, key="outside/" + uuid.uuid4().hex, body=b"x"))
    assert _code(e) == "AccessDenied"


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_signature_versions_and_paginators(oss_endpoint, region, assume_role, version):
    ak, secret, token = assume_role()
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, secret, token)
    cfg.region = region
    cfg.endpoint = oss_endpoint
    cfg.signature_version = version
    c = oss.Client(cfg)
    prefix = key("pages/")
    names = ["a", "b c", "d+e", "ü"]
    for n in names:
        c.put_object(oss.PutObjectRequest(bucket=BUCKET, key=prefix + n, body=n.encode()))
    got = []
    for page in c.list_objects_v2_paginator().iter_page(oss.ListObjectsV2Request(bucket=BUCKET, prefix=prefix, max_keys=1)):
        got.extend(o.key for o in page.contents)
    assert got == sorted(prefix + n for n in names)
    r = c.get_object(oss.GetObjectRequest(bucket=BUCKET, key=prefix + "b c", range_header="bytes=1-2"))
    assert r.body.read() == b" c"

    k = prefix + "mp"
    init = c.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key=k))
    for n in (1, 2, 3):
        c.upload_part(oss.UploadPartRequest(bucket=BUCKET, key=k, upload_id=init.upload_id, part_number=n, body=b"x" * 10))
    nums = []
    for page in c.list_parts_paginator().iter_page(oss.ListPartsRequest(bucket=BUCKET, key=k, upload_id=init.upload_id, max_parts=2)):
        nums.extend(p.part_number for p in page.parts)
    assert nums == [1, 2, 3]
    c.abort_multipart_upload(oss.AbortMultipartUploadRequest(bucket=BUCKET, key=k, upload_id=init.upload_id))
