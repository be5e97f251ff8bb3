"""Points oss2's own test suite (from its sdist, tests/ as published) at a fresh oss-local.

scripts/oss2-suite.sh copies this file into the unpacked sdist's tests/ folder and starts
oss-local with oss-local.json (a RAM user allowed oss:* on every bucket, so the suite makes and
deletes its own random buckets as it does against OSS). Here:

- the suite's environment variables (tests/common.py reads them at import) come from the
  OSS_LOCAL_* ones the script exports;
- clean_and_delete_bucket, the suite's tearDown helper, skips LiveChannels (RTMP ingest, which
  oss-local refuses with 501: the published helper would fail every tearDown on that);
- tests that pick a bucket at random never pick the one whose keys come from KMS (an
  online-only service; see below);
- every test starts with oss2.defaults.min_part_size as published (see below);
- the SDK's resumable-record file store writes a record atomically (a temporary file, then
  os.replace) instead of truncating and rewriting it in place (see below);
- every test in expected-failures.txt is marked xfail(strict=True) with its reason: such a
  test must fail (an unexpected pass fails the run, so the list stays true; only the ones
  marked "(timing)", whose outcome depends on how fast a loaded machine answers, may pass),
  and any other failure fails the run.
"""
import os
import pathlib

import pytest

os.environ["OSS_TEST_ACCESS_KEY_ID"] = os.environ["OSS_LOCAL_SUITE_KEY_ID"]
os.environ["OSS_TEST_ACCESS_KEY_SECRET"] = os.environ["OSS_LOCAL_SUITE_KEY_SECRET"]
os.environ["OSS_TEST_ENDPOINT"] = os.environ["OSS_LOCAL_ENDPOINT"]
os.environ["OSS_TEST_REGION"] = os.environ["OSS_LOCAL_REGION"]
os.environ["OSS_TEST_STS_ID"] = os.environ["OSS_LOCAL_SUITE_KEY_ID"]
os.environ["OSS_TEST_STS_KEY"] = os.environ["OSS_LOCAL_SUITE_KEY_SECRET"]
os.environ["OSS_TEST_STS_ARN"] = os.environ["OSS_LOCAL_SUITE_ROLE_ARN"]
os.environ.setdefault("OSS_TEST_BUCKET", "oss2-suite-")
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

from . import common  # noqa: E402  (after the environment is set)
import oss2  # noqa: E402


def clean_and_delete_bucket(bucket):
    """The published helper without the LiveChannel step (oss-local has no LiveChannels)."""
    for up in oss2.MultipartUploadIterator(bucket):
        bucket.abort_multipart_upload(up.key, up.upload_id)
    for obj in oss2.ObjectIterator(bucket):
        bucket.delete_object(obj.key)
    bucket.delete_bucket()


common.clean_and_delete_bucket = clean_and_delete_bucket

# The suite's tests pick their bucket at random (random.choice) among the plain one, the RSA
# client-side-encryption one and the one whose data keys come from KMS; KMS is an online-only
# service (the KMS bucket appears only in those random choices), so here the KMS choice is the
# RSA bucket: the same CryptoBucket code path in oss2, keys made locally. Without this, a test
# would pass or fail by a coin toss.
_published_setup = common.OssTestCase.setUp


# The suite's setUp puts back most oss2.defaults a test may change, but not min_part_size:
# test_download.py sets it to 100 and leaves it so, and test_crypto_multipart.py's
# test_crypto_init_multipart_invalid_part_size then expects a random part size under 100 KiB to
# be refused, which with 100 it is only when the size is not a multiple of 16 (15 times in 16:
# it failed CI once). Each test starts from the published value.
_published_min_part_size = oss2.defaults.min_part_size


def _setup(self):
    oss2.defaults.min_part_size = _published_min_part_size
    _published_setup(self)
    self.kms_crypto_bucket = self.rsa_crypto_bucket


common.OssTestCase.setUp = _setup

# Several download tests (test_tmp_file_removed, test_relpath_and_abspath,
# test_remote_changed_during_download) read the resumable record from inside a download thread
# while another download thread rewrites it. The published store opens the record with 'w'
# (truncating it) and then writes; a reader in between sees an empty or half-written file, and
# its get() then *deletes* the record and returns None, so the test fails with "'NoneType' object
# is not subscriptable" by a thread race on the client's own disk, nothing oss-local answered.
# Writing a temporary file and renaming it over the record keeps every read whole; the record's
# content and when it is written are exactly the SDK's.
def _atomic_put(self, key, value):
    import json
    import tempfile

    pathname = os.path.join(self.dir, key)
    fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".put-")
    with os.fdopen(fd, "w") as f:
        json.dump(value, f)
    os.replace(tmp, pathname)


oss2.resumable._ResumableStoreBase.put = _atomic_put

EXPECTED = pathlib.Path(__file__).with_name("expected-failures.txt")


def _expected():
    out = {}
    if EXPECTED.exists():
        for line in EXPECTED.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test, _, reason = line.partition("  # ")
            out[test.strip()] = reason.strip() or "listed"
    return out


def pytest_collection_modifyitems(config, items):
    expected = _expected()
    for item in items:
        reason = expected.get(item.nodeid)
        if reason:
            # A test whose outcome depends on timing on a loaded machine may pass now and then.
            strict = "(timing)" not in reason
            item.add_marker(pytest.mark.xfail(reason=reason, strict=strict))
