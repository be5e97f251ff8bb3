"""Fixtures for running the official Python SDKs against a running oss-local.

scripts/conformance.sh starts oss-local and exports OSS_LOCAL_ENDPOINT, OSS_LOCAL_STS_ENDPOINT
and OSS_LOCAL_REGION. The demo account (bucket demo-bucket, RAM user LTAI5tLocalDemoKey, role
oss-direct-demo) is assumed.
"""
import json
import os
import time
import urllib.request
import uuid

import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

BUCKET = "demo-bucket"
ACCESS_KEY_ID = "LTAI5tLocalDemoKey"
ACCESS_KEY_SECRET = "LocalDemoSecret"
ROLE_ARN = "acs:ram::1000000000000000:role/oss-direct-demo"


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through scripts/conformance.sh")
    return value


@pytest.fixture(scope="session")
def oss_endpoint():
    return _env("OSS_LOCAL_ENDPOINT")


@pytest.fixture(scope="session")
def sts_endpoint():
    return _env("OSS_LOCAL_STS_ENDPOINT")


@pytest.fixture(scope="session")
def region():
    return os.environ.get("OSS_LOCAL_REGION", "cn-hangzhou")


def sts_request(duration=900, policy=None, role_arn=ROLE_ARN):
    req = AssumeRoleRequest()
    req.set_accept_format("json")
    req.set_protocol_type("http")
    req.set_RoleArn(role_arn)
    req.set_RoleSessionName("pytest-" + uuid.uuid4().hex[:8])
    req.set_DurationSeconds(duration)
    if policy is not None:
        req.set_Policy(policy if isinstance(policy, str) else json.dumps(policy))
    return req


@pytest.fixture(scope="session")
def assume_role(sts_endpoint, region):
    """Returns a function giving (ak, secret, token) from the STS SDK."""
    host = sts_endpoint.split("://", 1)[1].rstrip("/")

    def call(duration=900, policy=None, secret=ACCESS_KEY_SECRET):
        client = AcsClient(ACCESS_KEY_ID, secret, region)
        req = sts_request(duration, policy)
        req.set_endpoint(host)
        body = json.loads(client.do_action_with_exception(req))
        c = body["Credentials"]
        return c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]

    return call


@pytest.fixture(scope="session")
def faults(oss_endpoint):
    """Arms faults through the loopback admin route (it wants oss-local's admin token, from
    the ready file through OSS_LOCAL_ADMIN_TOKEN, and a JSON body)."""
    auth = {"x-oss-local-admin-token": _env("OSS_LOCAL_ADMIN_TOKEN")}

    def post(spec):
        data = json.dumps(spec).encode()
        req = urllib.request.Request(oss_endpoint + "/-/faults", data=data, method="POST",
                                     headers={**auth, "content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())

    yield post
    req = urllib.request.Request(oss_endpoint + "/-/faults", method="DELETE", headers=auth)
    urllib.request.urlopen(req).read()


@pytest.fixture()
def expired_creds(assume_role, faults):
    """Credentials whose token has already expired (short-lifetime fault)."""
    faults({"action": "token_lifetime", "seconds": 1})
    try:
        creds = assume_role()
    finally:
        faults({"action": "token_lifetime", "seconds": None})
    time.sleep(2.2)
    return creds


UPLOADS_ONLY = {
    "Version": "1",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["oss:PutObject", "oss:GetObject"],
            "Resource": [f"acs:oss:*:*:{BUCKET}/uploads/*"],
        }
    ],
}
