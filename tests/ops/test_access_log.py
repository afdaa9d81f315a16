"""The access log: a JSON line per request with the fields an operator needs, to a file or to
stdout, never a signature or a secret, and rotated by size across writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from oxstore.access_log import AccessLog, Entry
from tests.conftest import SECRET_KEY

Start = Any
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


def test_a_line_per_request(tmp_path: Path, server_factory: Start) -> None:
    path = tmp_path / "logs" / "access.log"
    server = server_factory(data_dir=tmp_path / "data", extra_args=["--access-log", str(path)])
    s3 = server.client()
    s3.create_bucket(Bucket="logged")
    s3.put_object(Bucket="logged", Key="a/b", Body=b"x" * 1234)
    assert s3.get_object(Bucket="logged", Key="a/b")["Body"].read() == b"x" * 1234
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "logged", "Key": "nope"})
    assert requests.get(url, timeout=10).status_code == 404
    lines = [json.loads(line) for line in path.read_text().splitlines()]
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
    logged = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    s3_lines = [line["api"] for line in logged if line["api"] != "Operator"]  # (health probes)
    assert s3_lines == ["ListBuckets"]


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
