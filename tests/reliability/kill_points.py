"""The kill -9 harness: a seeded mixed workload from many clients against one server, SIGKILL of
the whole server at a random moment, a restart, and a check of everything the clients were told.

Each client owns its keys (`c<n>/...`), so the operations on a key happen one after another and
the log of one client says, for every key, what it must hold: the outcome of its last
acknowledged operation, or of the one operation in flight when the server died (old or new).
Operations: PUT of 0 B to 8 MiB, overwrite, copy, delete, multi-delete and multipart uploads,
into an unversioned and a versioned bucket. After the restart: every key holds an allowed
state with whole, matching bytes; every acknowledged version of the versioned bucket is there;
no temp file is left; and once the collector has run, every data file is referenced.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import Server, temp_files

BUCKETS = ("plain", "versioned")
KEYS_PER_CLIENT = 6
PART = 256 * 1024  # multipart parts (the server runs with --min-part-size 1)
SIZES = (0, 1, 4096, 40_000, 300_000, 1 << 20, 8 << 20)
ABSENT = "absent"


def payload(seed: int, size: int) -> bytes:
    """Bytes of a size from a seed, cheaply (a repeated random block)."""
    block = random.Random(seed).randbytes(min(size, 4096) or 1)
    return (block * (size // len(block) + 1))[:size]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class KeyLog:
    """What one key may hold: the acknowledged state, and a state in flight."""

    acked: str = ABSENT
    in_flight: str | None = None
    versions: set[str] = field(default_factory=set)  # acknowledged versions (versioned bucket)
    checked: set[str] = field(default_factory=set)  # of those, found since their writing

    def allowed(self) -> set[str]:
        return {self.acked} | ({self.in_flight} if self.in_flight is not None else set())


@dataclass
class ClientLog:
    keys: dict[tuple[str, str], KeyLog] = field(default_factory=dict)
    acked_ops: int = 0

    def of(self, bucket: str, key: str) -> KeyLog:
        return self.keys.setdefault((bucket, key), KeyLog())


class Workload:
    def __init__(self, server: Server, client_id: int, seed: int, log: ClientLog) -> None:
        self.s3 = server.client(
            s3={"addressing_style": "path"},
            connect_timeout=2,
            read_timeout=20,
            retries={"max_attempts": 1},
        )
        self.id = client_id
        self.rng = random.Random(seed)
        self.log = log

    def _key(self) -> tuple[str, str]:
        return self.rng.choice(BUCKETS), f"c{self.id}/k{self.rng.randrange(KEYS_PER_CLIENT)}"

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._one()
            except (BotoCoreError, ClientError):
                return  # the server is gone: what was in flight stays in flight

    def _one(self) -> None:
        bucket, key = self._key()
        entry = self.log.of(bucket, key)
        op = self.rng.choices(("put", "copy", "delete", "multi", "multipart"), (6, 1, 1, 1, 1))[0]
        if op == "put":
            data = payload(self.rng.randrange(1 << 30), self.rng.choice(SIZES))
            entry.in_flight = digest(data)
            answer = self.s3.put_object(Bucket=bucket, Key=key, Body=data)
            self._acked(bucket, entry, answer)
        elif op == "copy":
            _, source = self._key()
            origin = self.log.of(bucket, source)
            if origin.in_flight is not None or origin.acked == ABSENT:
                return
            entry.in_flight = origin.acked
            answer = self.s3.copy_object(Bucket=bucket, Key=key, CopySource=f"{bucket}/{source}")
            self._acked(bucket, entry, answer)
        elif op == "delete":
            entry.in_flight = ABSENT
            self.s3.delete_object(Bucket=bucket, Key=key)
            self._acked(bucket, entry, {})
        elif op == "multi":
            others = {key, self._key()[1]}
            entries = [self.log.of(bucket, k) for k in others]
            for each in entries:
                each.in_flight = ABSENT
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in others]})
            for each in entries:
                self._acked(bucket, each, {})
        else:
            self._multipart(bucket, key, entry)

    def _multipart(self, bucket: str, key: str, entry: KeyLog) -> None:
        parts = [payload(self.rng.randrange(1 << 30), PART) for _ in range(self.rng.randint(1, 3))]
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        etags = [
            self.s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload, PartNumber=n + 1, Body=part
            )["ETag"]
            for n, part in enumerate(parts)
        ]
        entry.in_flight = digest(b"".join(parts))
        answer = self.s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload,
            MultipartUpload={
                "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]
            },
        )
        self._acked(bucket, entry, answer)

    def _acked(self, bucket: str, entry: KeyLog, answer: dict[str, Any]) -> None:
        assert entry.in_flight is not None
        if bucket == "versioned" and entry.in_flight != ABSENT and answer.get("VersionId"):
            entry.versions.add(f"{answer['VersionId']}:{entry.in_flight}")
        entry.acked, entry.in_flight = entry.in_flight, None
        self.log.acked_ops += 1


def state_of(s3: Any, bucket: str, key: str) -> str:
    """The key's current bytes, checked whole against its size and (single-part) ETag."""
    try:
        answer = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchKey":
            return ABSENT
        raise
    data = answer["Body"].read()
    assert len(data) == answer["ContentLength"], (bucket, key)
    etag = answer["ETag"].strip('"')
    if "-" not in etag:
        assert hashlib.md5(data).hexdigest() == etag, (bucket, key)
    return digest(data)


def check(
    server: Server, logs: list[ClientLog], drives: list[Path], every_version: bool = False
) -> None:
    """Every key in an allowed state (then known: what was in flight has resolved), the
    acknowledged versions not checked yet there (every one: every_version), no temp file."""
    s3 = server.client(s3={"addressing_style": "path"})
    for log in logs:
        for (bucket, key), entry in log.keys.items():
            found = state_of(s3, bucket, key)
            assert found in entry.allowed(), f"{bucket}/{key}: {found} not in {entry.allowed()}"
            entry.acked, entry.in_flight = found, None
            unchecked = entry.versions if every_version else entry.versions - entry.checked
            if unchecked:
                listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
                ids = {v["VersionId"] for v in listed if v["Key"] == key}
                for version in unchecked:
                    version_id, expected = version.split(":")
                    assert version_id in ids, f"{bucket}/{key} lost version {version_id}"
                    body = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"]
                    assert digest(body.read()) == expected, f"{bucket}/{key}@{version_id}"
                    entry.checked.add(version)
    assert [f for drive in drives for f in temp_files(drive)] == []


def unreferenced_data(server: Server, drives: list[Path]) -> list[str]:
    import asyncio

    meta = server.metadata()
    try:
        objects = [drive / ".oxstore" / "objects" for drive in drives]
        files = {p.name for tree in objects for p in tree.rglob("*") if p.is_file()}
        return [f for f in files if not asyncio.run(meta.is_data_referenced(f))]
    finally:
        meta.close()


def prepare(server: Server) -> None:
    s3 = server.client()
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})


SERVER_ARGS = ["--workers", "2", "--min-part-size", "1", "--gc-grace", "0", "--gc-interval", "0.2"]


def kill_point(
    start: Callable[[], Server], drives: list[Path], logs: list[ClientLog], seed: int, clients: int
) -> int:
    """One run: the workload until a random moment, SIGKILL, restart, check. Returns how many
    operations were acknowledged in it."""
    server = start()
    rng = random.Random(seed)
    stop = threading.Event()
    before = sum(log.acked_ops for log in logs)
    workers = [
        threading.Thread(
            target=Workload(server, n, rng.randrange(1 << 30), logs[n]).run, args=(stop,)
        )
        for n in range(clients)
    ]
    for worker in workers:
        worker.start()
    time.sleep(rng.uniform(0.2, 1.5))
    server.kill()
    stop.set()
    for worker in workers:
        worker.join(60)
    restarted = start()
    try:
        check(restarted, logs, drives)
    finally:
        restarted.stop()
    return sum(log.acked_ops for log in logs) - before


def collected(start: Callable[[], Server], drives: list[Path], logs: list[ClientLog]) -> list[str]:
    """After the last kill point: a clean start, every version checked once more, a collector
    pass; what is still unreferenced."""
    server = start()
    try:
        check(server, logs, drives, every_version=True)
        deadline = time.monotonic() + 30
        while (left := unreferenced_data(server, drives)) and time.monotonic() < deadline:
            time.sleep(0.5)
        return left
    finally:
        server.stop()
