"""What a write carries, as clients send it: plain chunked bodies, content encodings,
conditions, checksums, and the version headers of its answer."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.s3.helpers import expect_error
from tests.s3.signing import error_code, sign


def _chunked_put(server, path: str, parts: list[bytes], headers: dict[str, str]):  # type: ignore[no-untyped-def]
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
    response = _chunked_put(
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
    response = _chunked_put(
        server, f"/{bucket}/bad", [b"abc", b"def"], {"x-amz-content-sha256": declared}
    )
    assert (response.status_code, error_code(response)) == (400, "XAmzContentSHA256Mismatch")
    md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = _chunked_put(
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
    response = _chunked_put(
        srv, "/limited/big", parts, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    assert (response.status_code, error_code(response)) == (400, "EntityTooLarge")
    assert "Contents" not in client.list_objects_v2(Bucket="limited")
    assert _tmp_files(srv) == []
    ok = _chunked_put(
        srv,
        "/limited/fits",
        [b"x" * 50000, b"y" * 50000],
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    assert ok.status_code == 200, ok.text
    assert client.head_object(Bucket="limited", Key="fits")["ContentLength"] == 100000
