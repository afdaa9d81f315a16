"""A data file that is missing or shorter than its record fails the GET with S3's XML error
before any body byte; it never answers 200 with a short body or a plain-text 404."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import requests
from boto3.s3.transfer import TransferConfig

from tests.s3.signing import error_code


def _data_file(server, data_id_hint: bytes) -> Path:  # type: ignore[no-untyped-def]
    """The one data file under the server's objects directory that holds data_id_hint."""
    objects = Path(server.data_dir) / ".oxstore" / "objects"
    found = [
        f for fan in objects.iterdir() for f in fan.iterdir() if data_id_hint in f.read_bytes()
    ]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("damage", ["missing", "short"])
def test_lost_data_fails_before_the_body(server, s3, bucket: str, damage: str) -> None:
    payload = os.urandom(100_000) + b"lost-data-marker-" + damage.encode() + os.urandom(100_000)
    s3.put_object(Bucket=bucket, Key="k", Body=payload)
    path = _data_file(server, b"lost-data-marker-" + damage.encode())
    if damage == "missing":
        path.unlink()
    else:
        os.truncate(path, 150_000)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    # a short file has lost its block sums (they end the file) with its tail: even the bytes
    # still there cannot be verified, so none is served
    for headers in ({}, {"Range": "bytes=160000-170000"}, {"Range": "bytes=0-1000"}):
        answer = requests.get(url, headers=headers, timeout=10)
        assert (answer.status_code, error_code(answer)) == (500, "InternalError"), answer.text
        assert answer.headers["content-type"] == "application/xml"


def test_lost_parts_fail_before_the_body(server, s3, bucket: str) -> None:
    payload = os.urandom(6 * 1024 * 1024) + b"lost-part-marker" + os.urandom(100)
    config = TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    s3.upload_fileobj(io.BytesIO(payload), bucket, "mp", Config=config)
    _data_file(server, b"lost-part-marker").unlink()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "mp"})
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, error_code(answer)) == (500, "InternalError"), answer.text
