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


def _v2_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _v2_headers(server, method: str, resource: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The headers of a request whose SigV2 signature covers `resource` exactly (no body)."""
    date = formatdate(usegmt=True)
    signature = _v2_signature(server.secret_key, f"{method}\n\n\n{date}\n{resource}")
    return {"Date": date, "Authorization": f"AWS {server.access_key}:{signature}"}


def test_a_list_buckets_signature_opens_no_admin_api(server) -> None:  # type: ignore[no-untyped-def]
    """The admin API's sub-resources (ostor-*) are part of the signed resource: a signature
    of `GET /` (ListBuckets) is refused on `GET /?ostor-users` (that answers secret keys)."""
    listing = _v2_headers(server, "GET", "/")
    assert requests.get(f"{server.endpoint}/", headers=listing, timeout=10).status_code == 200
    for query in ("ostor-users", "ostor-users&emailAddress=root%40localhost", "ostor-buckets"):
        replayed = requests.get(f"{server.endpoint}/?{query}", headers=listing, timeout=10)
        assert (replayed.status_code, error_code(replayed)) == (403, "SignatureDoesNotMatch")
        assert server.secret_key not in replayed.text
    signed = _v2_headers(server, "GET", "/?ostor-users")  # a client that signs it is answered
    users = requests.get(f"{server.endpoint}/?ostor-users", headers=signed, timeout=10)
    assert users.status_code == 200, users.text
    # an admin call's arguments are all signed: one user's signature names no other user
    one = _v2_headers(server, "GET", "/?emailAddress=root@localhost&ostor-users")
    url = f"{server.endpoint}/?ostor-users&emailAddress=root%40localhost"
    assert requests.get(url, headers=one, timeout=10).status_code == 200
    other = requests.get(
        f"{server.endpoint}/?ostor-users&emailAddress=x%40y", headers=one, timeout=10
    )
    assert (other.status_code, error_code(other)) == (403, "SignatureDoesNotMatch")


def test_a_presigned_v2_url_opens_no_other_subresource(v2, bucket: str) -> None:
    """Every query parameter that selects an operation is signed: a presigned ListObjects or
    GetObject URL does not answer another operation of the bucket or object."""
    v2.put_object(Bucket=bucket, Key="k", Body=b"x")
    listing = v2.generate_presigned_url("list_objects", Params={"Bucket": bucket}, ExpiresIn=300)
    assert requests.get(listing, timeout=10).status_code == 200
    for sub in (
        "encryption",
        "publicAccessBlock",
        "ownershipControls",
        "policyStatus",
        "intelligent-tiering",
        "object-lock",
        "session",
        "metadataConfiguration",
    ):
        other = requests.get(f"{listing}&{sub}", timeout=10)
        assert (other.status_code, error_code(other)) == (403, "SignatureDoesNotMatch"), sub
    reading = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300
    )
    assert requests.get(reading, timeout=10).content == b"x"
    for sub in ("retention", "legal-hold", "attributes", "tagging", "acl"):
        other = requests.get(f"{reading}&{sub}", timeout=10)
        assert (other.status_code, error_code(other)) == (403, "SignatureDoesNotMatch"), sub


def test_v2_clients_that_sign_the_other_subresources(server, bucket: str) -> None:  # type: ignore[no-untyped-def]
    """A SigV2 signature that covers the sub-resource is good (AWS's sorting: `?a&b=v`)."""
    base = f"{server.endpoint}/{bucket}"
    for sub, code in (
        ("encryption", "ServerSideEncryptionConfigurationNotFoundError"),
        ("publicAccessBlock", "NoSuchPublicAccessBlockConfiguration"),
        ("policyStatus", "NoSuchBucketPolicy"),
    ):
        headers = _v2_headers(server, "GET", f"/{bucket}?{sub}")
        answer = requests.get(f"{base}?{sub}", headers=headers, timeout=10)
        assert (answer.status_code, error_code(answer)) == (404, code), answer.text
    put = requests.put(
        f"{base}/k", data=b"x", headers=_v2_headers(server, "PUT", f"/{bucket}/k"), timeout=10
    )
    assert put.status_code == 200, put.text
    date = formatdate(usegmt=True)
    to_sign = f"GET\n\n\n{date}\nx-amz-object-attributes:ObjectSize\n/{bucket}/k?attributes"
    answer = requests.get(
        f"{base}/k?attributes",
        headers={
            "Date": date,
            "x-amz-object-attributes": "ObjectSize",
            "Authorization": f"AWS {server.access_key}:"
            + _v2_signature(server.secret_key, to_sign),
        },
        timeout=10,
    )
    assert answer.status_code == 200 and "<ObjectSize>1</ObjectSize>" in answer.text, answer.text


def test_a_presigned_v2_url_is_query_string_authentication(s3, v2, bucket: str) -> None:
    """Bucket policies see a V2 presigned URL as s3:authType REST-QUERY-STRING."""
    import json

    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}},
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    try:
        url = v2.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300
        )
        refused = requests.get(url, timeout=10)
        assert (refused.status_code, error_code(refused)) == (403, "AccessDenied")
        assert v2.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # REST-HEADER
    finally:
        s3.delete_bucket_policy(Bucket=bucket)


def test_a_v2_signature_names_the_virtual_hosts_bucket(server, s3) -> None:  # type: ignore[no-untyped-def]
    """With --domain, a virtual-host request's signed resource is /<host's bucket><path>: a
    signature of /b1/k (object k of bucket b1) does not read object b1/k of bucket b2."""
    import uuid

    b1, b2 = f"v2-{uuid.uuid4().hex[:12]}", f"v2-{uuid.uuid4().hex[:12]}"
    for name in (b1, b2):
        s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=b1, Key="k", Body=b"b1's k")
    s3.put_object(Bucket=b2, Key=f"{b1}/k", Body=b"b2's secret")
    s3.put_object(Bucket=b2, Key=f"{b2}/k", Body=b"b2's own")
    try:
        url = f"{server.endpoint}/{b1}/k"
        path_style = requests.get(url, headers=_v2_headers(server, "GET", f"/{b1}/k"), timeout=10)
        assert path_style.content == b"b1's k"
        virtual = {"Host": f"{b2}.localhost:{server.port}"}
        aimed = requests.get(
            url, headers={**virtual, **_v2_headers(server, "GET", f"/{b1}/k")}, timeout=10
        )
        assert (aimed.status_code, error_code(aimed)) == (403, "SignatureDoesNotMatch")
        assert b"secret" not in aimed.content
        signed = _v2_headers(server, "GET", f"/{b2}/{b1}/k")
        assert requests.get(url, headers={**virtual, **signed}, timeout=10).content == (
            b"b2's secret"
        )
        own = requests.get(
            f"{server.endpoint}/{b2}/k",
            headers={**virtual, **_v2_headers(server, "GET", f"/{b2}/{b2}/k")},
            timeout=10,
        )
        assert own.content == b"b2's own"  # a key that starts with the bucket's name
        listed = requests.get(
            f"{server.endpoint}/",
            headers={**virtual, **_v2_headers(server, "GET", f"/{b2}/")},
            timeout=10,
        )
        assert listed.status_code == 200 and f"<Key>{b1}/k</Key>" in listed.text
    finally:
        for name in (b1, b2):
            for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])
            s3.delete_bucket(Bucket=name)
