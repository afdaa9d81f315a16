"""Signature Version 2: boto3 with the `s3` signer, presigned V2 query URLs, a requests-based
client signing by hand (as the provider's awsauth.py does) and s3cmd with signature_v2."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate
from urllib.parse import quote

import pytest
import requests

from tests.conftest import Tool, make_client, require_binary, s3cmd_config
from tests.s3.signing import error_code


class V2Auth(requests.auth.AuthBase):
    """A minimal SigV2 signer for requests, written from the S3 documentation."""

    SUBRESOURCES = ("acl", "cors", "delete", "location", "tagging", "uploads", "versioning")

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key, self.secret_key = access_key, secret_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        path, _, query = request.path_url.partition("?")
        sub = sorted(p for p in query.split("&") if p.split("=")[0] in self.SUBRESOURCES)
        resource = path + ("?" + "&".join(sub) if sub else "")
        request.headers["Date"] = formatdate(usegmt=True)
        amz = "".join(
            f"{k.lower()}:{v.strip()}\n"
            for k, v in sorted(request.headers.items(), key=lambda kv: kv[0].lower())
            if k.lower().startswith("x-amz-")
        )
        to_sign = (
            f"{request.method}\n{request.headers.get('Content-MD5', '')}\n"
            f"{request.headers.get('Content-Type', '')}\n{request.headers['Date']}\n{amz}{resource}"
        )
        digest = hmac.new(self.secret_key.encode(), to_sign.encode(), hashlib.sha1).digest()
        request.headers["Authorization"] = (
            f"AWS {self.access_key}:{base64.b64encode(digest).decode()}"
        )
        return request


@pytest.fixture
def v2(server):  # type: ignore[no-untyped-def]
    return make_client(
        server.endpoint, server.access_key, server.secret_key, signature_version="s3"
    )


def test_boto3_with_the_v2_signer(v2, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="dir/ünï code+x.txt", Body=b"v2 body", Metadata={"a": "b"})
    got = v2.get_object(Bucket=bucket, Key="dir/ünï code+x.txt")
    assert got["Body"].read() == b"v2 body" and got["Metadata"] == {"a": "b"}
    keys = [o["Key"] for o in v2.list_objects(Bucket=bucket, Prefix="dir/")["Contents"]]
    assert keys == ["dir/ünï code+x.txt"]
    v2.put_object_tagging(
        Bucket=bucket, Key="dir/ünï code+x.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
    )  # a sub-resource in the string to sign
    assert v2.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    v2.delete_object(Bucket=bucket, Key="dir/ünï code+x.txt")


def test_presigned_v2_query_urls(server, v2, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared")
    url = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=300
    )
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    assert requests.get(url, timeout=10).content == b"shared"
    tampered = url.replace("shared.txt", "other.txt")
    refused = requests.get(tampered, timeout=10)
    assert refused.status_code == 403 and error_code(refused) == "SignatureDoesNotMatch"
    expired = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=-10
    )
    gone = requests.get(expired, timeout=10)
    assert gone.status_code == 403 and error_code(gone) == "AccessDenied"


def test_a_requests_client_signing_v2(server, bucket: str) -> None:
    auth = V2Auth(server.access_key, server.secret_key)
    base = f"{server.endpoint}/{bucket}"
    put = requests.put(
        f"{base}/hand.txt",
        data=b"by hand",
        auth=auth,
        timeout=10,
        headers={"Content-Type": "text/plain", "x-amz-meta-who": "requests"},
    )
    assert put.status_code == 200, put.text
    got = requests.get(f"{base}/hand.txt", auth=auth, timeout=10)
    assert got.content == b"by hand" and got.headers["x-amz-meta-who"] == "requests"
    acl = requests.get(f"{base}/hand.txt?acl", auth=auth, timeout=10)
    assert acl.status_code == 200 and "FULL_CONTROL" in acl.text
    wrong = requests.get(f"{base}/hand.txt", auth=V2Auth(server.access_key, "nope"), timeout=10)
    assert wrong.status_code == 403 and error_code(wrong) == "SignatureDoesNotMatch"
    unknown = requests.get(f"{base}/hand.txt", auth=V2Auth("AKIDUNKNOWN", "x"), timeout=10)
    assert error_code(unknown) == "InvalidAccessKeyId"
    stale = auth(requests.Request("GET", f"{base}/hand.txt").prepare())
    stale.headers["Date"] = formatdate(time.time() - 3600, usegmt=True)  # checked first
    skewed = requests.Session().send(stale, timeout=10)
    assert error_code(skewed) == "RequestTimeTooSkewed"
    assert requests.delete(f"{base}/{quote('hand.txt')}", auth=auth, timeout=10).status_code == 204


def test_s3cmd_with_signature_v2(server, tool: Tool) -> None:
    config = s3cmd_config(tool, server, ".s3cfg-v2", "signature_v2 = True\n")
    s3cmd = require_binary("s3cmd")

    def run(*args: str) -> str:
        return tool.run(s3cmd, "-c", str(config), *args).stdout

    run("mb", "s3://sigv2-bucket")
    source = tool.home / "v2 file.txt"
    source.write_bytes(b"signed with v2")
    run("put", str(source), "s3://sigv2-bucket/v2 file.txt")
    assert "v2 file.txt" in run("ls", "s3://sigv2-bucket")
    run("get", "--force", "s3://sigv2-bucket/v2 file.txt", str(tool.home / "back.txt"))
    assert (tool.home / "back.txt").read_bytes() == b"signed with v2"
    run("setacl", "--acl-public", "s3://sigv2-bucket/v2 file.txt")
    assert requests.get(f"{server.endpoint}/sigv2-bucket/v2%20file.txt", timeout=10).ok
    run("del", "s3://sigv2-bucket/v2 file.txt")
    run("rb", "s3://sigv2-bucket")
