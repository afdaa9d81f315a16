"""Browser uploads (POST Object): forms signed with V4 and V2 policies made by boto3's
generate_presigned_post, sent by requests as multipart/form-data like a browser sends them."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
from xml.etree import ElementTree

import pytest
import requests

from oxstore import _native
from tests.conftest import make_client, temp_files
from tests.s3.helpers import expect_error
from tests.s3.signing import error_code, signing_key

TAGGING = "<Tagging><TagSet><Tag><Key>source</Key><Value>form</Value></Tag></TagSet></Tagging>"


def _post(url: str, fields: dict[str, str], content: bytes, name: str = "photo.jpg", **kw):  # type: ignore[no-untyped-def]
    return requests.post(url, data=fields, files={"file": (name, content)}, timeout=30, **kw)


def test_v4_policy_upload_and_answers(s3, bucket: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    form = s3.generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={
            "success_action_status": "201",
            "x-amz-meta-origin": "form",
            "Content-Type": "image/jpeg",
        },
        Conditions=[
            ["starts-with", "$key", "uploads/"],
            {"success_action_status": "201"},
            {"x-amz-meta-origin": "form"},
            ["starts-with", "$Content-Type", "image/"],
            ["content-length-range", 1, 10 * 1024 * 1024],
        ],
        ExpiresIn=300,
    )
    answer = _post(form["url"], form["fields"], data, name="cat.jpg")
    assert answer.status_code == 201, answer.text
    xml = ElementTree.fromstring(answer.content)
    assert xml.findtext("Key") == "uploads/cat.jpg" and xml.findtext("Bucket") == bucket
    got = s3.get_object(Bucket=bucket, Key="uploads/cat.jpg")
    assert got["Body"].read() == data
    assert got["ContentType"] == "image/jpeg" and got["Metadata"] == {"origin": "form"}
    assert got["ETag"] == answer.headers["ETag"]


def test_policy_conditions_are_enforced(s3, bucket: str) -> None:
    form = s3.generate_presigned_post(
        bucket,
        "only/here.txt",
        Conditions=[["content-length-range", 2, 10]],
        ExpiresIn=300,
    )
    assert _post(form["url"], form["fields"], b"fits").status_code == 204
    too_big = _post(form["url"], form["fields"], b"x" * 11)
    assert too_big.status_code == 400 and error_code(too_big) == "EntityTooLarge"
    too_small = _post(form["url"], form["fields"], b"x")
    assert error_code(too_small) == "EntityTooSmall"
    other_key = _post(form["url"], {**form["fields"], "key": "elsewhere.txt"}, b"hi")
    assert other_key.status_code == 403 and error_code(other_key) == "AccessDenied"
    extra = _post(form["url"], {**form["fields"], "x-amz-meta-sneaky": "1"}, b"hi")
    assert extra.status_code == 403 and "Extra input fields" in extra.text
    ignored = _post(form["url"], {**form["fields"], "x-ignore-note": "fine"}, b"hi")
    assert ignored.status_code == 204
    tampered = dict(form["fields"])
    tampered["x-amz-signature"] = "0" * 64
    assert error_code(_post(form["url"], tampered, b"hi")) == "SignatureDoesNotMatch"
    expired = s3.generate_presigned_post(bucket, "late.txt", ExpiresIn=-60)
    late = _post(expired["url"], expired["fields"], b"hi")
    assert late.status_code == 403 and "expired" in late.text
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="elsewhere")


def test_v2_policy_redirect_and_acl(server, s3, bucket: str) -> None:
    v2 = make_client(server.endpoint, server.access_key, server.secret_key, signature_version="s3")
    form = v2.generate_presigned_post(
        bucket,
        "v2.txt",
        Fields={
            "acl": "public-read",
            "success_action_redirect": "https://app.example/done",
            "tagging": TAGGING,
        },
        Conditions=[
            {"acl": "public-read"},
            {"success_action_redirect": "https://app.example/done"},
            {"tagging": TAGGING},
        ],
    )
    assert "signature" in form["fields"] and "AWSAccessKeyId" in form["fields"]
    answer = _post(form["url"], form["fields"], b"v2 upload", allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("https://app.example/done?bucket=")
    public = requests.get(f"{server.endpoint}/{bucket}/v2.txt", timeout=10)
    assert public.content == b"v2 upload"
    tags = s3.get_object_tagging(Bucket=bucket, Key="v2.txt")["TagSet"]
    assert tags == [{"Key": "source", "Value": "form"}]


def test_unsigned_forms_need_a_public_write_grant(server, s3, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}"
    refused = _post(url, {"key": "anon.txt"}, b"hello")
    assert refused.status_code == 403
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    assert _post(url, {"key": "anon.txt"}, b"hello").status_code == 204
    assert s3.get_object(Bucket=bucket, Key="anon.txt")["Body"].read() == b"hello"
    not_a_form = requests.post(url, data=b"raw", headers={"Content-Type": "text/plain"}, timeout=10)
    assert not_a_form.status_code == 412
    no_key = _post(url, {"acl": "private"}, b"x")
    assert no_key.status_code == 400 and error_code(no_key) == "InvalidArgument"


def test_a_browser_style_upload_with_cors(server, s3, bucket: str) -> None:
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["POST"]}]
        },
    )
    preflight = requests.options(
        f"{server.endpoint}/{bucket}",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 200
    form = s3.generate_presigned_post(bucket, "browser.bin")
    answer = _post(
        form["url"], form["fields"], b"\x00\xffbinary", headers={"Origin": "https://app.example"}
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert s3.get_object(Bucket=bucket, Key="browser.bin")["Body"].read() == b"\x00\xffbinary"


def test_a_form_cut_short_leaves_nothing(server, s3, bucket: str) -> None:
    """A form whose body ends before the file's closing boundary stores nothing."""
    import socket

    form = s3.generate_presigned_post(bucket, "cut.bin")
    boundary = "cutboundary"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in form["fields"].items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c"\r\n\r\n'
    body = head.encode() + b"x" * 50_000  # no closing boundary
    request = (
        f"POST /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"IncompleteBody" in answer
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert temp_files(server.data_dir) == []


def _signed_form(server, bucket: str, policy: dict, **fields: str) -> dict[str, str]:  # type: ignore[type-arg]
    """Form fields signed with a V4 POST policy the test writes itself."""
    now = datetime.datetime.now(datetime.UTC)
    date = now.strftime("%Y%m%d")
    signer = {
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": f"{server.access_key}/{date}/us-east-1/s3/aws4_request",
        "x-amz-date": now.strftime("%Y%m%dT%H%M%SZ"),
    }
    if policy.get("conditions"):  # the signer's fields are conditions too (as boto3 writes)
        policy = {
            **policy,
            "conditions": [*policy["conditions"], *({k: v} for k, v in signer.items())],
        }
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    key = signing_key(server.secret_key, date)
    return {
        **fields,
        **signer,
        "policy": encoded,
        "x-amz-signature": hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest(),
    }


def _policy(bucket: str, *conditions: object) -> dict:  # type: ignore[type-arg]
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
    return {"expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": list(conditions)}


def test_key_from_filename_meets_the_policy(server, s3, bucket: str) -> None:
    """The policy speaks of the key after ${filename} is put in (s3-tests' case)."""
    policy = _policy(bucket, {"bucket": bucket}, ["starts-with", "$key", "foo"])
    fields = _signed_form(server, bucket, policy, key="${filename}")
    answer = _post(f"{server.endpoint}/{bucket}", fields, b"bar", name="foo.txt")
    assert answer.status_code == 204, answer.text
    assert s3.get_object(Bucket=bucket, Key="foo.txt")["Body"].read() == b"bar"
    refused = _post(f"{server.endpoint}/{bucket}", fields, b"bar", name="other.txt")
    assert refused.status_code == 403


def test_malformed_forms_are_400(server, s3, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}"
    good = _policy(bucket, {"bucket": bucket}, ["starts-with", "$key", ""])
    unsigned = {k: v for k, v in _signed_form(server, bucket, good, key="k").items()}
    del unsigned["x-amz-signature"]
    v2 = make_client(server.endpoint, server.access_key, server.secret_key, signature_version="s3")
    v2_form = v2.generate_presigned_post(bucket, "k")["fields"]
    del v2_form["signature"]
    for fields in (unsigned, v2_form):
        answer = _post(url, fields, b"x")
        assert (answer.status_code, error_code(answer)) == (400, "InvalidArgument"), answer.text
    for conditions in ([], [{}]):
        fields = _signed_form(server, bucket, _policy(bucket, *conditions), key="k")
        answer = _post(url, fields, b"x")
        assert (answer.status_code, error_code(answer)) == (400, "InvalidPolicyDocument")
    no_conditions = {"expiration": good["expiration"]}
    answer = _post(url, _signed_form(server, bucket, no_conditions, key="k"), b"x")
    assert (answer.status_code, error_code(answer)) == (400, "InvalidPolicyDocument")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("algorithm", ["crc32", "sha256"])
def test_forms_with_checksum_fields(server, s3, bucket: str, algorithm: str) -> None:
    data = os.urandom(5000)
    right = base64.b64encode(_native.digest(algorithm, data)).decode()
    field = f"x-amz-checksum-{algorithm}"
    policy = _policy(
        bucket, {"bucket": bucket}, ["starts-with", "$key", ""], ["starts-with", f"${field}", ""]
    )
    url = f"{server.endpoint}/{bucket}"
    answer = _post(url, _signed_form(server, bucket, policy, key="ok", **{field: right}), data)
    assert answer.status_code == 204, answer.text
    head = s3.head_object(Bucket=bucket, Key="ok", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm.upper()}"] == right
    wrong = base64.b64encode(_native.digest(algorithm, b"other")).decode()
    answer = _post(url, _signed_form(server, bucket, policy, key="bad", **{field: wrong}), data)
    assert (answer.status_code, error_code(answer)) == (400, "BadDigest"), answer.text
    assert algorithm.upper() in answer.text
    malformed = _signed_form(server, bucket, policy, key="bad", **{field: "nonsense"})
    assert error_code(_post(url, malformed, data)) == "InvalidRequest"
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="bad")
    assert temp_files(server.data_dir) == []
