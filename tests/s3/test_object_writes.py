"""What a write carries, as clients send it: plain chunked bodies, content encodings,
conditions, checksums, and the version headers of its answer."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.s3.helpers import expect_error
from tests.s3.signing import aws_chunked_put, error_code, sign


def _plain_chunked_put(server, path: str, parts: list[bytes], headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A signed PUT whose body goes out with `Transfer-Encoding: chunked` and no length."""
    signed = sign(server, "PUT", path, headers)
    sent = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}

    def body() -> Iterator[bytes]:
        yield from parts

    return requests.put(server.endpoint + path, headers=sent, data=body(), timeout=30)


def _tmp_files(server) -> list[Path]:  # type: ignore[no-untyped-def]
    return list((Path(server.data_dir) / ".oxstore" / "tmp").iterdir())


@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024 + 5])
def test_plain_chunked_transfer_encoding(server, s3, bucket: str, size: int) -> None:
    payload = os.urandom(size)
    parts = [payload[i : i + 65536] for i in range(0, size, 65536)]
    md5 = base64.b64encode(hashlib.md5(payload).digest()).decode()
    response = _plain_chunked_put(
        server,
        f"/{bucket}/chunked",
        parts,
        {"x-amz-content-sha256": hashlib.sha256(payload).hexdigest(), "content-md5": md5},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["ContentLength"] == size and got["Body"].read() == payload


def test_plain_chunked_digests_are_checked_at_the_end(server, s3, bucket: str) -> None:
    declared = hashlib.sha256(b"something else").hexdigest()
    response = _plain_chunked_put(
        server, f"/{bucket}/bad", [b"abc", b"def"], {"x-amz-content-sha256": declared}
    )
    assert (response.status_code, error_code(response)) == (400, "XAmzContentSHA256Mismatch")
    md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = _plain_chunked_put(
        server,
        f"/{bucket}/bad",
        [b"abc", b"def"],
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-md5": md5},
    )
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="bad")
    assert _tmp_files(server) == []


def test_plain_chunked_size_limit_while_streaming(server_factory) -> None:
    srv = server_factory(extra_args=["--max-object-size", "100000"])
    client = srv.client(s3={"addressing_style": "path"})
    client.create_bucket(Bucket="limited")
    parts = [b"x" * 60000, b"y" * 60000]
    response = _plain_chunked_put(
        srv, "/limited/big", parts, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    assert (response.status_code, error_code(response)) == (400, "EntityTooLarge")
    assert "Contents" not in client.list_objects_v2(Bucket="limited")
    assert _tmp_files(srv) == []
    ok = _plain_chunked_put(
        srv,
        "/limited/fits",
        [b"x" * 50000, b"y" * 50000],
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    assert ok.status_code == 200, ok.text
    assert client.head_object(Bucket="limited", Key="fits")["ContentLength"] == 100000


@pytest.mark.parametrize(
    ("sent", "stored"), [("gzip, aws-chunked", "gzip"), ("aws-chunked", None), ("gzip", "gzip")]
)
def test_aws_chunked_is_no_content_encoding(server, s3, bucket: str, sent, stored) -> None:
    payload = os.urandom(20_000)
    trailer = ("x-amz-checksum-crc32", base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")))
    response = aws_chunked_put(
        server,
        bucket,
        "enc",
        payload,
        "unsigned-trailer",
        (trailer[0], trailer[1].decode()),
        extra={"content-encoding": sent},
    )
    assert response.status_code == 200, response.text
    head = s3.head_object(Bucket=bucket, Key="enc")
    assert head.get("ContentEncoding") == stored
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "enc"})
    with requests.get(url, timeout=10, stream=True) as got:  # the payload is no real gzip
        assert got.headers.get("content-encoding") == stored


def test_multipart_and_copy_keep_no_aws_chunked(s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="mp", ContentEncoding="gzip,aws-chunked"
    )["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]},
    )
    assert s3.head_object(Bucket=bucket, Key="mp")["ContentEncoding"] == "gzip"
    s3.copy_object(
        Bucket=bucket,
        Key="copy",
        CopySource=f"{bucket}/mp",
        MetadataDirective="REPLACE",
        ContentEncoding="aws-chunked, br",
    )
    assert s3.head_object(Bucket=bucket, Key="copy")["ContentEncoding"] == "br"
