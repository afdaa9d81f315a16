"""boto3 arguments and checks of the SSE tests: writes, reads and copies encrypted by each mode
("none", "SSE-S3", "SSE-C", "SSE-KMS"), and a key of the server's keyring."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from tests.conftest import Server

KEY, OTHER_KEY = os.urandom(32), os.urandom(32)


def create_kms_key(server: Server) -> str:
    """A new key of the server's keyring, made as an operator does (the admin CLI)."""
    env = {
        **os.environ,
        "OXSTORE_ENDPOINT": server.endpoint,
        "OXSTORE_ACCESS_KEY": server.access_key,
        "OXSTORE_SECRET_KEY": server.secret_key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "oxstore", "admin", "--json", "kms", "key", "create"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return str(json.loads(done.stdout)["KeyId"])


def write_args(mode: str, kms_key: str = "", key: bytes = KEY) -> dict[str, Any]:
    """boto3 arguments of a write encrypted by `mode`."""
    if mode == "SSE-S3":
        return {"ServerSideEncryption": "AES256"}
    if mode == "SSE-KMS":
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    if mode == "SSE-C":
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    return {}


def read_args(mode: str, key: bytes = KEY) -> dict[str, Any]:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key} if mode == "SSE-C" else {}


def source_args(mode: str, key: bytes = KEY) -> dict[str, Any]:
    if mode != "SSE-C":
        return {}
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


def check_said(answer: dict[str, Any], mode: str, kms_key: str = "") -> None:
    """What an answer says of the object's encryption."""
    if mode == "SSE-C":
        md5 = hashlib.md5(KEY).digest()
        assert answer["SSECustomerAlgorithm"] == "AES256"
        assert answer["SSECustomerKeyMD5"] == base64.b64encode(md5).decode()
        assert "ServerSideEncryption" not in answer
    elif mode == "SSE-KMS":
        assert answer["ServerSideEncryption"] == "aws:kms"
        assert answer["SSEKMSKeyId"] == kms_key
    elif mode == "SSE-S3":
        assert answer["ServerSideEncryption"] == "AES256"
    else:
        assert "ServerSideEncryption" not in answer and "SSECustomerAlgorithm" not in answer
