"""SIGKILL during uploads: every acknowledged object survives intact, nothing partial remains."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import temp_files

UPLOADERS = 6


def _upload_until_killed(
    server, bucket: str, stop: threading.Event, acked: dict[str, str], worker: int
) -> None:  # type: ignore[no-untyped-def]
    client = server.client(s3={"addressing_style": "path"}, connect_timeout=2, read_timeout=10)
    n = 0
    while not stop.is_set():
        key = f"w{worker}/obj-{n}"
        data = os.urandom(256 * 1024 * (1 + n % 8))
        try:
            client.put_object(Bucket=bucket, Key=key, Body=data)
        except (BotoCoreError, ClientError):
            return  # the server is gone
        acked[key] = hashlib.sha256(data).hexdigest()
        n += 1


def test_sigkill_mid_upload_keeps_acknowledged_objects(server_factory, tmp_path: Path) -> None:
    data_dir = tmp_path / "crash-data"
    first = server_factory(data_dir)
    first.client().create_bucket(Bucket="crash")
    acked: dict[str, str] = {}
    stop = threading.Event()
    threads = [
        threading.Thread(target=_upload_until_killed, args=(first, "crash", stop, acked, i))
        for i in range(UPLOADERS)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()  # SIGKILL, uploads in flight
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 20, "the uploads did not get going"

    second = server_factory(data_dir)
    client = second.client()
    listed = {
        o["Key"]: o["Size"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket="crash")
        for o in page.get("Contents", [])
    }
    for key, digest in acked.items():
        body = client.get_object(Bucket="crash", Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == digest, key
    for key, size in listed.items():  # unacknowledged but committed objects are whole
        body = client.get_object(Bucket="crash", Key=key)["Body"].read()
        assert len(body) == size, key
    assert temp_files(data_dir) == []
    # every data file belongs to a listed object once the orphan sweep has run
    objects_dir = data_dir / ".oxstore" / "objects"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        files = [f for fan in objects_dir.iterdir() for f in fan.iterdir()]
        if len(files) == len(listed):
            break
        time.sleep(0.2)
    assert len(files) == len(listed)
