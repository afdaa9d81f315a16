"""The access log: a JSON line per request with the fields an operator needs, to a file or to
stdout, never a signature or a secret, and rotated by size across writers."""

from __future__ import annotations

import asyncio
import json
import select
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from oxstore.access_log import AccessLog, Entry, whole_lines
from tests.conftest import SECRET_KEY

Start = Any
T = TypeVar("T")
FIELDS = {
    "time",
    "request_id",
    "remote",
    "requester",
    "bucket",
    "key",
    "api",
    "status",
    "error",
    "bytes_in",
    "bytes_out",
    "seconds",
}


def eventually(lines: Callable[[], list[T]], done: Callable[[list[T]], bool]) -> list[T]:
    """The lines once they are `done` (a line is written when its event-loop turn ends, just
    after its answer)."""
    deadline = time.monotonic() + 10
    while not done(found := lines()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_a_line_per_request(tmp_path: Path, server_factory: Start) -> None:
    path = tmp_path / "logs" / "access.log"
    server = server_factory(data_dir=tmp_path / "data", extra_args=["--access-log", str(path)])
    s3 = server.client()
    s3.create_bucket(Bucket="logged")
    s3.put_object(Bucket="logged", Key="a/b", Body=b"x" * 1234)
    assert s3.get_object(Bucket="logged", Key="a/b")["Body"].read() == b"x" * 1234
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "logged", "Key": "nope"})
    assert requests.get(url, timeout=10).status_code == 404
    lines = eventually(
        lambda: [json.loads(line) for line in path.read_text().splitlines()],
        lambda lines: any(line["error"] == "NoSuchKey" for line in lines),  # the last request
    )
    assert all(set(line) == FIELDS for line in lines)
    by_api = {line["api"]: line for line in lines if line["status"] < 300}
    put, get = by_api["PutObject"], by_api["GetObject"]
    assert (put["bucket"], put["key"], put["status"], put["bytes_in"]) == (
        "logged",
        "a/b",
        200,
        1234,
    )
    assert (get["bytes_out"], get["requester"]) == (1234, server.owner_id)
    missing = [line for line in lines if line["error"] == "NoSuchKey"]
    assert missing and missing[0]["status"] == 404 and missing[0]["remote"].startswith("127.0.0.1")
    text = path.read_text()
    assert "Signature" not in text and SECRET_KEY not in text and server.access_key not in text


def test_stdout(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(data_dir=tmp_path / "data", extra_args=["--access-log", "stdout"])
    server.client().list_buckets()

    def s3_lines() -> list[str]:
        logged = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
        return [line["api"] for line in logged if line["api"] != "Operator"]  # (health probes)

    assert eventually(s3_lines, bool) == ["ListBuckets"]


def test_rotation_by_size(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    writers = [AccessLog(str(path), rotate_bytes=2000) for _ in range(2)]
    entry = Entry("t", "id", "127.0.0.1:1", "", "b", "k", "GetObject", 200, "", 0, 10, 0.001)
    for _ in range(300):
        for writer in writers:
            writer._checked = 0.0  # (look at the file each time: no 1-second wait in a test)
            writer.write(entry)
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert files[0] == "access.log" and "access.log.1" in files and len(files) <= 6
    for name in files:  # every line whole
        for line in (tmp_path / name).read_text().splitlines():
            assert json.loads(line)["api"] == "GetObject"


def test_the_lines_of_a_turn_in_one_write(tmp_path: Path) -> None:
    """Inside an event loop, lines wait for the turn's end and leave together, whole."""
    path = tmp_path / "access.log"
    log = AccessLog(str(path))
    entry = Entry("t", "id", "127.0.0.1:1", "", "b", "k", "GetObject", 200, "", 0, 10, 0.001)

    async def three_requests() -> int:
        for _ in range(3):
            log.write(entry)
        waiting = path.stat().st_size
        await asyncio.sleep(0)  # the turn ends
        return waiting

    assert asyncio.run(three_requests()) == 0
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["key"] == "k" for line in lines)


def test_writes_to_a_pipe_keep_lines_whole() -> None:
    lines = [b"x" * 1000 + b"\n"] * 9 + [b"y" * 5000 + b"\n"]
    writes = list(whole_lines(lines, select.PIPE_BUF))
    assert b"".join(writes) == b"".join(lines)
    assert [len(w) for w in writes] == [4004, 4004, 1001, 5001]  # a longer line goes alone
