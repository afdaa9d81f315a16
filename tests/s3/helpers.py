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
