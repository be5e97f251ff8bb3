"""The official STS SDK (aliyun-python-sdk-sts, RPC signature) against oss-local."""
import json

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient

from conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, sts_request


def _call(sts_endpoint, req, ak=ACCESS_KEY_ID, secret=ACCESS_KEY_SECRET):
    client = AcsClient(ak, secret, "cn-hangzhou")
    req.set_endpoint(sts_endpoint.split("://", 1)[1].rstrip("/"))
    return json.loads(client.do_action_with_exception(req))


def test_assume_role_shape(sts_endpoint):
    body = _call(sts_endpoint, sts_request(1200))
    assert body["RequestId"]
    creds = body["Credentials"]
    assert creds["AccessKeyId"].startswith("STS.")
    assert creds["AccessKeySecret"] and creds["SecurityToken"]
    assert creds["Expiration"].endswith("Z") and "T" in creds["Expiration"]
    assert body["AssumedRoleUser"]["Arn"].startswith("acs:ram::1000000000000000:role/oss-direct-demo/")


@pytest.mark.parametrize(
    "kwargs, code",
    [
        # The SDK turns SignatureDoesNotMatch into InvalidAccessKeySecret when the server's
        # string to sign (quoted in the message) equals its own, i.e. only the secret is wrong.
        ({"secret": "wrong-secret"}, "InvalidAccessKeySecret"),
        ({"ak": "LTAI5tNoSuchKey"}, "InvalidAccessKeyId.NotFound"),
    ],
)
def test_assume_role_auth_failures(sts_endpoint, kwargs, code):
    with pytest.raises(ServerException) as e:
        _call(sts_endpoint, sts_request(), **kwargs)
    assert e.value.get_error_code() == code


@pytest.mark.parametrize(
    "req_kwargs, code",
    [
        ({"duration": 100}, "InvalidParameter.DurationSeconds"),
        ({"duration": 7200}, "InvalidParameter.DurationSeconds"),
        ({"policy": '{"Version":"1","Statement":[{"Effect":"Allow"}]}'}, "InvalidParameter.PolicyGrammar"),
        ({"role_arn": "acs:ram::1000000000000000:role/nobody"}, "EntityNotExist.Role"),
    ],
)
def test_assume_role_parameter_checks(sts_endpoint, req_kwargs, code):
    with pytest.raises(ServerException) as e:
        _call(sts_endpoint, sts_request(**req_kwargs))
    assert e.value.get_error_code() == code
