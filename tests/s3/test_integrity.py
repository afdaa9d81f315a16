"""What a GET of a plain file (one drive) answers when the disk under it rotted: never wrong
bytes. Rot found before the answer starts is a 500 InternalError; found mid-stream, the
connection is cut before the declared length. The scrub reports the file lost. Bytes the page
cache holds are served by the HTTP server itself; bytes from the disk are verified."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import Server
from tests.s3.helpers import expect_error

MiB = 1024 * 1024


def data_file(server: Server) -> Path:
    (path,) = [p for p in (server.data_dir / ".oxstore" / "objects").rglob("*") if p.is_file()]
    return path


def rot(path: Path, at: int) -> None:
    """Flips a byte on the disk: written, synced, and dropped from the page cache, as if
    the disk had changed it."""
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0x20]))
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


@pytest.fixture
def one_drive(server_factory) -> Server:  # type: ignore[no-untyped-def]
    return server_factory()


def test_rot_at_the_start_is_an_error_answer(one_drive: Server) -> None:
    s3 = one_drive.client()
    s3.create_bucket(Bucket="rot")
    body = os.urandom(3 * MiB)
    s3.put_object(Bucket="rot", Key="k", Body=body)
    path = data_file(one_drive)
    assert path.stat().st_size > len(body)  # the block sums follow the bytes
    assert s3.get_object(Bucket="rot", Key="k")["Body"].read() == body  # cold: verified
    assert s3.get_object(Bucket="rot", Key="k")["Body"].read() == body  # hot: the file
    rot(path, MiB + 5)
    expect_error("InternalError", 500, s3.get_object, Bucket="rot", Key="k")
    ranged = s3.get_object(Bucket="rot", Key="k", Range=f"bytes=0-{MiB - 1}")  # block 0 is good
    assert ranged["Body"].read() == body[:MiB]
    tail = s3.get_object(Bucket="rot", Key="k", Range="bytes=-10")  # block 2 is good too
    assert tail["Body"].read() == body[-10:]
    inside = f"bytes={MiB}-{MiB + 10}"
    expect_error("InternalError", 500, s3.get_object, Bucket="rot", Key="k", Range=inside)


def test_rot_mid_stream_cuts_the_connection(one_drive: Server) -> None:
    s3 = one_drive.client()
    s3.create_bucket(Bucket="late")
    body = os.urandom(10 * MiB)
    s3.put_object(Bucket="late", Key="k", Body=body)
    rot(data_file(one_drive), 9 * MiB)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "late", "Key": "k"})
    got = b""
    with pytest.raises(requests.exceptions.RequestException) as cut:
        with requests.get(url, stream=True, timeout=20) as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_content(MiB):
                got += chunk
    assert len(got) < len(body) and body.startswith(got)  # what came was right, and short
    # cut at once, not left open until the client gives up waiting for the rest
    assert "timed out" not in str(cut.value), cut.value


def test_the_scrub_reports_a_rotten_file_lost(one_drive: Server) -> None:
    s3 = one_drive.client()
    s3.create_bucket(Bucket="scrubbed")
    s3.put_object(Bucket="scrubbed", Key="k", Body=os.urandom(2 * MiB))
    path = data_file(one_drive)
    rot(path, 100)
    command = [sys.executable, "-m", "oxstore", "scrub", str(one_drive.data_dir)]
    command += one_drive.meta_flag
    scrubbed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert scrubbed.returncode == 1, scrubbed.stdout + scrubbed.stderr
    assert "lost 1" in scrubbed.stdout and path.name in scrubbed.stdout


def scrub(server: Server) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "oxstore", "scrub", str(server.data_dir), *server.meta_flag]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_scrub_opens_encrypted_files_it_holds_the_keys_of(one_drive: Server) -> None:
    """SSE-S3 and SSE-KMS files (no block sums: the packages' tags verify) are opened package
    by package with the server's keys; an SSE-C file is counted, not checked."""
    s3 = one_drive.client()
    s3.create_bucket(Bucket="sealed")
    s3.put_object(
        Bucket="sealed", Key="s3", Body=os.urandom(2 * MiB), ServerSideEncryption="AES256"
    )
    customer = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}
    s3.put_object(Bucket="sealed", Key="c", Body=os.urandom(3 * MiB), **customer)
    whole = scrub(one_drive)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "checked 1 " in whole.stdout and "lost 0, not checked (SSE-C) 1" in whole.stdout
    s3.delete_object(Bucket="sealed", Key="c")
    s3.put_object(Bucket="sealed", Key="kms", Body=os.urandom(MiB), ServerSideEncryption="aws:kms")
    upload = s3.create_multipart_upload(Bucket="sealed", Key="parts", ServerSideEncryption="AES256")
    parts = []
    for number in (1, 2):  # each part's key is derived from the upload's
        body = os.urandom(5 * MiB if number == 1 else MiB // 2)
        sent = s3.upload_part(
            Bucket="sealed", Key="parts", UploadId=upload["UploadId"], PartNumber=number, Body=body
        )
        parts.append({"PartNumber": number, "ETag": sent["ETag"]})
    s3.complete_multipart_upload(
        Bucket="sealed", Key="parts", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    both = scrub(one_drive)
    assert "checked 4 " in both.stdout and "lost 0" in both.stdout, both.stdout + both.stderr
    files = (one_drive.data_dir / ".oxstore" / "objects").rglob("*")
    (path,) = [p for p in files if p.is_file() and 2 * MiB < p.stat().st_size < 3 * MiB]  # SSE-S3
    rot(path, MiB + 100)
    rotten = scrub(one_drive)
    assert rotten.returncode == 1, rotten.stdout + rotten.stderr
    assert "lost 1" in rotten.stdout and path.name in rotten.stdout
