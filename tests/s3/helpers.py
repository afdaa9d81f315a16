"""Assertions shared by the S3 tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
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
