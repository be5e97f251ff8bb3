"""The newer STS SDK (alibabacloud_sts20150401, ACS3-HMAC-SHA256 signature) against oss-local."""
import pytest
from alibabacloud_sts20150401 import models
from alibabacloud_sts20150401.client import Client
from alibabacloud_tea_openapi import models as open_api_models

from conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ROLE_ARN


def client(sts_endpoint, secret=ACCESS_KEY_SECRET, ak=ACCESS_KEY_ID):
    cfg = open_api_models.Config(
        access_key_id=ak,
        access_key_secret=secret,
        endpoint=sts_endpoint.split("://", 1)[1].rstrip("/"),
        protocol="http",
        region_id="cn-hangzhou",
    )
    return Client(cfg)


def request(**kw):
    args = dict(role_arn=ROLE_ARN, role_session_name="tea-sdk", duration_seconds=900)
    args.update(kw)
    return models.AssumeRoleRequest(**args)


def test_assume_role(sts_endpoint):
    body = client(sts_endpoint).assume_role(request()).body
    assert body.credentials.access_key_id.startswith("STS.")
    assert body.credentials.security_token
    assert body.assumed_role_user.arn.endswith("/tea-sdk")


def _code(excinfo):
    return getattr(excinfo.value, "code", None)


@pytest.mark.parametrize(
    "kwargs, req, code",
    [
        ({"secret": "wrong-secret"}, {}, "SignatureDoesNotMatch"),
        ({"ak": "LTAI5tNoSuchKey"}, {}, "InvalidAccessKeyId.NotFound"),
        ({}, {"duration_seconds": 60}, "InvalidParameter.DurationSeconds"),
        ({}, {"policy": "{not json"}, "InvalidParameter.PolicyGrammar"),
    ],
)
def test_assume_role_refusals(sts_endpoint, kwargs, req, code):
    with pytest.raises(Exception) as e:
        client(sts_endpoint, **kwargs).assume_role(request(**req))
    assert _code(e) == code
