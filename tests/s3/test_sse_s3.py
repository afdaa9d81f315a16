"""SSE-S3 (`x-amz-server-side-encryption: AES256`) end to end with boto3: objects of every
size, inline, in one file and erasure-coded over four drives, read back whole and by ranges
across package boundaries; said on PUT, GET, HEAD and copies; no plaintext byte anywhere under
the data directory; a flipped byte fails the read; copies and UploadPartCopy of encrypted
sources."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.s3.helpers import MARKER, expect_error, files_under, holds, payload

KiB, MiB = 1024, 1024 * 1024
PACKAGE = 64 * KiB
SIZES = [0, 1, 13, 1000, PACKAGE, 200 * KiB + 7, MiB + 17, 9 * MiB + 3]

Start = Callable[..., Server]


@pytest.fixture(params=["one-drive", "four-drives"])
def encrypting(request, tmp_path: Path, server_factory: Start) -> Server:  # type: ignore[no-untyped-def]
    if request.param == "one-drive":
        return server_factory(data_dir=tmp_path / "data")
    drives = [tmp_path / f"drive-{i}" for i in range(4)]
    return server_factory(data_dir=drives[0], drives=drives[1:])


def test_encrypted_objects_read_back_whole_and_by_ranges(encrypting: Server) -> None:
    s3 = encrypting.client()
    s3.create_bucket(Bucket="sealed")
    for size in SIZES:
        body = payload(size)
        put = s3.put_object(
            Bucket="sealed", Key=f"o{size}", Body=body, ServerSideEncryption="AES256"
        )
        assert put["ServerSideEncryption"] == "AES256"
        got = s3.get_object(Bucket="sealed", Key=f"o{size}")
        assert got["ServerSideEncryption"] == "AES256"
        assert got["Body"].read() == body, size
        head = s3.head_object(Bucket="sealed", Key=f"o{size}")
        assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == size
        for start, end in [
            (0, 0),
            (PACKAGE - 1, PACKAGE + 1),
            (size // 3, size - 1),
            (size - 1, size - 1),
        ]:
            if 0 <= start <= end < size:
                ranged = s3.get_object(
                    Bucket="sealed", Key=f"o{size}", Range=f"bytes={start}-{end}"
                )
                assert ranged["Body"].read() == body[start : end + 1], (size, start, end)
    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket="sealed")["Contents"]}
    assert listed == {f"o{size}": size for size in SIZES}
    # no plaintext under any drive (files and the metadata store), while a plain object's is
    roots = [encrypting.data_dir, *encrypting.drives]
    assert holds(files_under(*roots), MARKER * 3) == []
    s3.put_object(Bucket="sealed", Key="plain", Body=payload(MiB))
    assert holds(files_under(*roots), MARKER * 3) != []


def test_a_flipped_byte_fails_the_read(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    s3 = server.client()
    s3.create_bucket(Bucket="rot")
    body = os.urandom(3 * MiB)
    s3.put_object(Bucket="rot", Key="k", Body=body, ServerSideEncryption="AES256")
    (path,) = [p for p in files_under(server.data_dir / ".oxstore" / "objects")]
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    expect_error("InternalError", 500, lambda: s3.get_object(Bucket="rot", Key="k")["Body"].read())
    tail = s3.get_object(Bucket="rot", Key="k", Range=f"bytes={2 * MiB}-")["Body"].read()
    assert tail == body[2 * MiB :]  # packages that were not touched still open


def test_copies_of_encrypted_objects(server: Server) -> None:
    s3 = server.client()  # (the bucket is this test's own)
    s3.create_bucket(Bucket="copies")
    body = payload(2 * MiB)
    s3.put_object(Bucket="copies", Key="src", Body=body, ServerSideEncryption="AES256")
    source = {"Bucket": "copies", "Key": "src"}
    for key, extra in [("same", {}), ("asked", {"ServerSideEncryption": "AES256"})]:
        copied = s3.copy_object(Bucket="copies", Key=key, CopySource=source, **extra)
        assert copied["ServerSideEncryption"] == "AES256"
        got = s3.get_object(Bucket="copies", Key=key)
        assert got["ServerSideEncryption"] == "AES256" and got["Body"].read() == body
    # a part copied from an encrypted object holds its plaintext
    upload = s3.create_multipart_upload(Bucket="copies", Key="assembled")["UploadId"]
    part = s3.upload_part_copy(
        Bucket="copies", Key="assembled", UploadId=upload, PartNumber=1, CopySource=source
    )
    s3.complete_multipart_upload(
        Bucket="copies",
        Key="assembled",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )
    assert s3.get_object(Bucket="copies", Key="assembled")["Body"].read() == body


def test_encrypted_shards_are_rebuilt_and_healed(tmp_path: Path, server_factory: Start) -> None:
    drives = [tmp_path / f"drive-{i}" for i in range(4)]
    server = server_factory(
        data_dir=drives[0], drives=drives[1:], extra_args=["--gc-interval", "0.2"]
    )
    s3 = server.client()
    s3.create_bucket(Bucket="heals")
    body = payload(3 * MiB + 5)
    s3.put_object(Bucket="heals", Key="k", Body=body, ServerSideEncryption="AES256")
    shards = [p for d in drives for p in files_under(d / ".oxstore" / "objects")]
    whole = {p: p.read_bytes() for p in shards}
    shards[0].unlink()  # a data or parity shard: either way rebuilt from the others
    assert s3.get_object(Bucket="heals", Key="k")["Body"].read() == body
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not shards[0].exists():
        time.sleep(0.2)
    assert {p: p.read_bytes() for p in shards} == whole, "the shard was not rebuilt as it was"
    command = [sys.executable, "-m", "oxstore", "scrub", str(drives[0]), *server.meta_flag]
    scrubbed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert scrubbed.returncode == 0, scrubbed.stdout + scrubbed.stderr
    assert "checked 1" in scrubbed.stdout and "damaged 0" in scrubbed.stdout, scrubbed.stdout
