"""A full disk: uploads stop with 507 InsufficientStorage before the disk is truly full (or, with
no floor, when it fills mid-upload: 507 too, nothing partial left), DELETE
keeps working and frees space, uploads resume by themselves, nothing partial stays.

The disk is a 48 MiB tmpfs the test mounts (and unmounts) under its own temp directory."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, free_port, temp_files, tmpfs

FLOOR = 8 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "48m") as disk:
        yield disk


def _fill(s3, prefix: str, size: int) -> list[str]:  # type: ignore[no-untyped-def]
    """PUTs objects of size bytes until the server refuses; the keys it stored."""
    stored: list[str] = []
    while True:
        key = f"{prefix}{len(stored)}"
        try:
            s3.put_object(Bucket="full", Key=key, Body=os.urandom(size))
        except ClientError as err:
            response = err.response
            assert response["Error"]["Code"] == "InsufficientStorage", response
            assert response["ResponseMetadata"]["HTTPStatusCode"] == 507
            assert "Errno" not in response["Error"]["Message"]
            return stored
        stored.append(key)
        assert len(stored) < 10_000, "the disk never filled"


def _put_once_collected(s3, key: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while True:
        try:
            s3.put_object(Bucket="full", Key=key, Body=os.urandom(1024 * 1024))
            return
        except ClientError as err:
            if (
                err.response["Error"]["Code"] != "InsufficientStorage"
                or time.monotonic() > deadline
            ):
                raise
            time.sleep(0.2)


def test_a_full_disk_refuses_uploads_and_keeps_deleting(small_disk: Path) -> None:
    args = ["--min-free-space", str(FLOOR), "--gc-grace", "0", "--gc-interval", "0.2"]
    srv = Server(small_disk / "data", free_port(), args).start()
    try:
        s3 = srv.client(s3={"addressing_style": "path"})
        s3.create_bucket(Bucket="full")
        big = _fill(s3, "big-", 1024 * 1024)
        small = _fill(s3, "small-", 10_000)  # inline-sized: kept in the metadata database
        assert big and len(big) > 20
        disk = os.statvfs(small_disk)
        assert disk.f_bavail * disk.f_frsize >= FLOOR // 2  # the floor kept room for metadata
        for key in big[:10] + small:  # deleting always works, and frees space
            s3.delete_object(Bucket="full", Key=key)
        _put_once_collected(s3, "after")  # no restart: once the collector freed the space
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket="full", MaxKeys=1000)["Contents"]}
        assert listed == set(big[10:]) | {"after"}
        assert s3.get_object(Bucket="full", Key=big[-1])["ContentLength"] == 1024 * 1024
        assert temp_files(small_disk / "data") == []
    finally:
        srv.stop()


def test_an_upload_that_meets_a_full_disk_mid_stream(small_disk: Path) -> None:
    """No floor: the disk fills while the body streams. 507 InsufficientStorage, nothing of
    the upload stays, reads and deletes go on, and uploads work again once there is room."""
    args = ["--min-free-space", "0", "--gc-grace", "0", "--gc-interval", "0.2"]
    srv = Server(small_disk / "data", free_port(), args).start()
    try:
        s3 = srv.client(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        s3.create_bucket(Bucket="full")
        s3.put_object(Bucket="full", Key="kept", Body=b"k" * (8 * 1024 * 1024))
        free = os.statvfs(small_disk)
        too_big = free.f_bavail * free.f_frsize + 4 * 1024 * 1024
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="full", Key="too-big", Body=b"t" * too_big)
        response = refused.value.response
        assert response["Error"]["Code"] == "InsufficientStorage", response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 507
        assert temp_files(small_disk / "data") == []
        assert s3.get_object(Bucket="full", Key="kept")["Body"].read() == b"k" * (8 * 1024 * 1024)
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]] == ["kept"]
        s3.put_object(Bucket="full", Key="fits", Body=b"f" * (1024 * 1024))
        s3.delete_object(Bucket="full", Key="kept")
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]] == ["fits"]
    finally:
        srv.stop()
