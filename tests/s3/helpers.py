"""Assertions shared by the S3 tests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError


def expect_error(code: str, status: int, call: Callable[..., Any], *args: Any, **kwargs: Any):
    """Runs call and asserts it fails with exactly this S3 error code and HTTP status."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"], response
    return response


MARKER = b"oxstore-sse-marker-"  # what must not be found on disk once encrypted


def payload(size: int) -> bytes:
    """Bytes that are MARKER repeated (so a plaintext leak is easy to find), then random."""
    repeated = (MARKER * (size // len(MARKER) + 1))[: size // 2]
    return repeated + os.urandom(size - len(repeated))


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def holds(paths: list[Path], needle: bytes) -> list[Path]:
    """The files whose bytes contain needle."""
    return [p for p in paths if needle in p.read_bytes()]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def minio_client(server):  # type: ignore[no-untyped-def]
    """A minio-py client of the server (path style, plain HTTP)."""
    from minio import Minio

    return Minio(
        f"127.0.0.1:{server.port}",
        server.access_key,
        server.secret_key,
        secure=False,
        region="us-east-1",
    )
