"""SIGKILL during multipart uploads and versioned overwrites: what was acknowledged survives,
and once the collector and the orphan sweep ran, no byte is left that nothing references."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import temp_files

PART = 64 * 1024


def _data_files(data_dir: Path) -> set[str]:
    objects = data_dir / ".oxstore" / "objects"
    return {f.name for fan in objects.iterdir() for f in fan.iterdir()}


def _parts_until_killed(server, upload_id: str, acked: dict[int, str], stop) -> None:  # type: ignore[no-untyped-def]
    client = server.client(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10)
    number = 1
    while not stop.is_set() and number <= 10_000:
        body = os.urandom(PART)
        try:
            answer = client.upload_part(
                Bucket="crash", Key="big", UploadId=upload_id, PartNumber=number, Body=body
            )
        except (BotoCoreError, ClientError):
            return
        acked[number] = answer["ETag"]
        acked[-number] = hashlib.md5(body).hexdigest()  # what the part holds
        number += 1


def _versions_until_killed(server, acked: list[tuple[str, str]], stop) -> None:  # type: ignore[no-untyped-def]
    client = server.client(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10)
    while not stop.is_set():
        body = os.urandom(48 * 1024)
        try:
            version = client.put_object(Bucket="crash", Key="doc", Body=body)["VersionId"]
        except (BotoCoreError, ClientError):
            return
        acked.append((version, hashlib.sha256(body).hexdigest()))


def test_sigkill_during_parts_and_versions(server_factory, tmp_path: Path) -> None:
    data_dir = tmp_path / "crash-mp"
    args = ["--min-part-size", "1", "--gc-grace", "0", "--gc-interval", "0.1"]
    first = server_factory(data_dir, args)
    client = first.client(s3={"addressing_style": "path"})
    client.create_bucket(Bucket="crash")
    client.put_bucket_versioning(Bucket="crash", VersioningConfiguration={"Status": "Enabled"})
    upload_id = client.create_multipart_upload(Bucket="crash", Key="big")["UploadId"]
    parts: dict[int, str] = {}
    versions: list[tuple[str, str]] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_parts_until_killed, args=(first, upload_id, parts, stop)),
        threading.Thread(target=_versions_until_killed, args=(first, versions, stop)),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while (len(parts) < 20 or len(versions) < 10) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()
    stop.set()
    for t in threads:
        t.join(30)

    second = server_factory(data_dir, args)
    client = second.client(s3={"addressing_style": "path"})
    # every acknowledged version is there, byte-exact, newest last acknowledged or later
    listed = {v["VersionId"] for v in client.list_object_versions(Bucket="crash")["Versions"]}
    for version, digest in versions:
        assert version in listed
        body = client.get_object(Bucket="crash", Key="doc", VersionId=version)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == digest
    # every acknowledged part is listed with its ETag; the upload completes from them
    acked_numbers = sorted(n for n in parts if n > 0)
    stored = {
        p["PartNumber"]: p["ETag"]
        for page in client.get_paginator("list_parts").paginate(
            Bucket="crash", Key="big", UploadId=upload_id
        )
        for p in page.get("Parts", [])
    }
    for number in acked_numbers:
        assert stored[number] == parts[number]
    chosen = [{"PartNumber": n, "ETag": parts[n]} for n in acked_numbers]
    client.complete_multipart_upload(
        Bucket="crash", Key="big", UploadId=upload_id, MultipartUpload={"Parts": chosen}
    )
    for index, number in enumerate(acked_numbers, start=1):
        body = client.get_object(Bucket="crash", Key="big", PartNumber=index)["Body"].read()
        assert hashlib.md5(body).hexdigest() == parts[-number]
    # nothing unreferenced stays: the files are exactly the parts used and the versions kept
    expected = (
        len(acked_numbers) + len(client.list_object_versions(Bucket="crash")["Versions"]) - 1
    )  # the multipart object is one version, but its bytes are its part files
    deadline = time.monotonic() + 20
    while len(_data_files(data_dir)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_data_files(data_dir)) == expected
    assert temp_files(data_dir) == []
