"""Server-side encryption headers checked at the door with boto3: what S3 refuses with 400
(unknown methods, a KMS key id without aws:kms, SSE-C with another method, incomplete or
wrong customer keys, encryption named on a read) is refused before any byte is stored, on
PUT, copy and CreateMultipartUpload alike."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import pytest

from tests.s3.helpers import expect_error

KEY = os.urandom(32)


def customer(key: bytes = KEY, md5_of: bytes | None = None, algorithm: str = "AES256") -> dict:
    """SSE-C headers as raw header values (boto3's SSECustomerKey would compute the MD5)."""
    return {
        "x-amz-server-side-encryption-customer-algorithm": algorithm,
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
        "x-amz-server-side-encryption-customer-key-md5": base64.b64encode(
            hashlib.md5(md5_of if md5_of is not None else key).digest()
        ).decode(),
    }


REFUSED = [
    ("unknown-method", {"x-amz-server-side-encryption": "AES128"}, "InvalidArgument"),
    (
        "kms-key-without-kms",
        {
            "x-amz-server-side-encryption": "AES256",
            "x-amz-server-side-encryption-aws-kms-key-id": "k1",
        },
        "InvalidArgument",
    ),
    ("kms-key-alone", {"x-amz-server-side-encryption-aws-kms-key-id": "k1"}, "InvalidArgument"),
    (
        "sse-c-with-aes256",
        {**customer(), "x-amz-server-side-encryption": "AES256"},
        "InvalidArgument",
    ),
    (
        "sse-c-with-kms",
        {**customer(), "x-amz-server-side-encryption": "aws:kms"},
        "InvalidArgument",
    ),
    ("wrong-key-md5", customer(md5_of=b"another key"), "InvalidArgument"),
    ("short-key", customer(key=os.urandom(16)), "InvalidArgument"),
    ("unknown-algorithm", customer(algorithm="AES128"), "InvalidEncryptionAlgorithmError"),
    (
        "algorithm-without-key",
        {"x-amz-server-side-encryption-customer-algorithm": "AES256"},
        "InvalidArgument",
    ),
    (
        "key-without-md5",
        {
            k: v
            for k, v in customer().items()
            if k != "x-amz-server-side-encryption-customer-key-md5"
        },
        "InvalidArgument",
    ),
    (
        "key-without-algorithm",
        {
            k: v
            for k, v in customer().items()
            if k != "x-amz-server-side-encryption-customer-algorithm"
        },
        "InvalidArgument",
    ),
]


def with_headers(s3: Any, headers: dict[str, str]) -> None:
    """Adds raw headers to every request the client sends next."""

    def add(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    s3.meta.events.register_first("before-sign.s3.*", add)


@pytest.mark.parametrize(("name", "headers", "code"), REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_encryption_headers_are_refused_and_store_nothing(
    server, s3, bucket: str, name: str, headers: dict[str, str], code: str
) -> None:
    s3.put_object(Bucket=bucket, Key="source", Body=b"source")
    client = server.client()
    with_headers(client, headers)
    expect_error(code, 400, client.put_object, Bucket=bucket, Key="k", Body=b"secret")
    copy = {"Bucket": bucket, "Key": "copied", "CopySource": {"Bucket": bucket, "Key": "source"}}
    expect_error(code, 400, client.copy_object, **copy)
    expect_error(code, 400, client.create_multipart_upload, Bucket=bucket, Key="mp")
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == ["source"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_reads_cannot_name_an_encryption(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"plain")
    client = server.client()
    with_headers(client, {"x-amz-server-side-encryption": "AES256"})
    expect_error("InvalidArgument", 400, client.get_object, Bucket=bucket, Key="k")
    expect_error("400", 400, client.head_object, Bucket=bucket, Key="k")
