"""Server life cycle and hostile clients: graceful stop, dropped uploads, size limits, workers."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

from tests.conftest import temp_files
from tests.s3.helpers import expect_error
from tests.s3.signing import error_code, send, sign


def _tmp_files(data_dir: Path) -> list[Path]:
    return temp_files(data_dir)


def _raw_put_head(server, path: str, size: int) -> bytes:  # type: ignore[no-untyped-def]
    """The request line and signed headers of a PUT whose body the test sends by hand."""
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-length": str(size)}
    prepared = sign(server, "PUT", path, headers).prepare()
    lines = [f"PUT {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{k}: {v}" for k, v in prepared.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_client_disconnect_mid_upload_leaves_nothing(server, s3, bucket: str) -> None:
    # A signed request with its Host header: without one the server refuses the signature and
    # closes before reading the body, and the test would prove nothing about a dropped upload.
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(_raw_put_head(server, f"/{bucket}/dropped", 10_000_000) + os.urandom(3_000_000))
    deadline = time.monotonic() + 10
    while not _tmp_files(server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tmp_files(server.data_dir), "the server never began writing the upload"
    sock.close()
    deadline = time.monotonic() + 10
    while _tmp_files(server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tmp_files(server.data_dir) == []
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="dropped")


def test_entity_too_large_is_refused_before_the_body(server_factory) -> None:
    srv = server_factory(extra_args=["--max-object-size", "1000"])
    client = srv.client()
    client.create_bucket(Bucket="limits")
    client.put_object(Bucket="limits", Key="ok", Body=b"x" * 1000)
    expect_error(
        "EntityTooLarge", 400, client.put_object, Bucket="limits", Key="big", Body=b"x" * 1001
    )
    response = send(
        sign(
            srv,
            "PUT",
            "/limits/huge",
            {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-length": str(10 * 1024**3)},
        )
    )
    assert (response.status_code, error_code(response)) == (400, "EntityTooLarge")


def test_sigterm_lets_an_in_flight_upload_finish(server_factory) -> None:
    srv = server_factory()
    client = srv.client()
    client.create_bucket(Bucket="graceful")
    size = 8_000_000
    sock = socket.create_connection(("127.0.0.1", srv.port))
    body = os.urandom(size)
    sock.sendall(_raw_put_head(srv, "/graceful/slow", size) + body[: size // 2])
    time.sleep(0.3)
    assert srv.process is not None
    os.killpg(srv.process.pid, signal.SIGTERM)
    time.sleep(0.3)
    sender = threading.Thread(target=sock.sendall, args=(body[size // 2 :],))
    sender.start()
    sender.join(30)
    reply = sock.recv(4096).decode(errors="replace")
    sock.close()
    assert reply.startswith("HTTP/1.1 200"), reply
    assert srv.process.wait(30) == 0
    srv.process = None
    restarted = server_factory(srv.data_dir)
    got = restarted.client().get_object(Bucket="graceful", Key="slow")["Body"].read()
    assert got == body
    assert _tmp_files(srv.data_dir) == []


def test_two_workers_share_one_namespace(server_factory) -> None:
    srv = server_factory(extra_args=["--workers", "2"])
    clients = [srv.client() for _ in range(4)]
    clients[0].create_bucket(Bucket="shared")
    for i, client in enumerate(clients * 5):
        client.put_object(Bucket="shared", Key=f"k{i}", Body=str(i).encode())
    for i, client in enumerate(reversed(clients * 5)):
        assert client.get_object(Bucket="shared", Key=f"k{i}")["Body"].read() == str(i).encode()
    listed = clients[1].list_objects_v2(Bucket="shared")["KeyCount"]
    assert listed == 20
