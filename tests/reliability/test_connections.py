"""Connections that send nothing cost no service: a server started with a soft limit of 1,024
open files lifts it to the hard limit and keeps answering beside 1,100 silent connections
(granian closes no connection that never sends a byte, so below a hard limit of 1,024 they
still starve a worker); stalled bodies end in RequestTimeout leaving nothing; idle and
half-sent requests are closed."""

from __future__ import annotations

import http.client
import resource
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import Server, free_port, temp_files
from tests.s3.signing import sign

SILENT = 1_100


def _low_file_limit() -> None:
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )


@pytest.fixture
def guarded(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A server started the way a default shell starts it: 1,024 open files allowed."""
    args = ["--header-timeout", "2", "--body-timeout", "2"]
    srv = Server(tmp_path / "data", free_port(), args, preexec=_low_file_limit)
    srv.start()
    yield srv
    srv.stop()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""
    except (TimeoutError, ConnectionResetError):
        return False


def test_silent_connections_do_not_starve_the_worker(guarded) -> None:
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 4 * SILENT:
        pytest.skip("the hard open-file limit leaves no room above 1,024")
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (4 * SILENT, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )
    silent = [socket.create_connection(("127.0.0.1", guarded.port)) for _ in range(SILENT)]
    try:
        time.sleep(0.5)  # let the worker accept them all
        client = guarded.client(s3={"addressing_style": "path"})
        for n in range(20):
            client.create_bucket(Bucket=f"still-serving-{n}")
        assert len(client.list_buckets()["Buckets"]) == 20
    finally:
        for sock in silent:
            sock.close()
    assert "open files: " in guarded.log()


def test_a_stalled_body_times_out_and_leaves_nothing(guarded) -> None:
    client = guarded.client(s3={"addressing_style": "path"})
    client.create_bucket(Bucket="stalled")
    path = "/stalled/half"
    request = sign(guarded, "PUT", path, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    connection = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=30)
    connection.putrequest("PUT", path, skip_accept_encoding=True)
    for name, value in request.headers.items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(4_000_000))
    connection.endheaders()
    connection.send(b"x" * 2_000_000)  # then nothing
    answer = connection.getresponse()
    body = answer.read().decode()
    assert answer.status == 400 and "<Code>RequestTimeout</Code>" in body, body
    assert answer.getheader("connection") == "close"
    assert "Contents" not in client.list_objects_v2(Bucket="stalled")
    assert temp_files(guarded.data_dir) == []


def test_half_sent_and_idle_connections_are_closed(guarded) -> None:
    half = socket.create_connection(("127.0.0.1", guarded.port))
    half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the headers never end
    assert _closed_within(half, 10)
    idle = socket.create_connection(("127.0.0.1", guarded.port))
    idle.sendall(b"GET /-/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert idle.recv(1024).startswith(b"HTTP/1.1 200")
    assert _closed_within(idle, 10)  # kept alive, then idle past the header timeout
