"""What the whole-server benchmarks share: the machine's limits (MD5, loopback), a server
started for the run, requests signed with UNSIGNED-PAYLOAD, and a large streamed PUT / GET."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import mmap
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MiB = 1024 * 1024
T = TypeVar("T")
ACCESS, SECRET = "BENCHACCESSKEY000001", "bench-secret-key-0123456789"
BLOCK = os.urandom(64 * MiB)


def md5_speed(total: int = 512 * MiB) -> float:
    started = time.perf_counter()
    h = hashlib.md5()
    for _ in range(total // len(BLOCK)):
        h.update(BLOCK)
    return total / MiB / (time.perf_counter() - started)


def direct_read_speed(directory: Path, total: int = 1024 * MiB) -> float:
    """The disk's speed reading one file with O_DIRECT (no page cache) in 4 MiB reads, MB/s:
    what a cold GET of one stream is measured against."""
    path = directory / "direct-read-probe"
    chunk = mmap.mmap(-1, 4 * MiB)  # page-aligned, as O_DIRECT needs
    chunk.write(os.urandom(4 * MiB))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    try:
        for _ in range(total // len(chunk)):
            os.write(fd, chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        return direct_read_of(path)
    finally:
        path.unlink()


def direct_read_of(path: Path) -> float:
    """The speed of reading a file whole with O_DIRECT in 4 MiB reads, MB/s."""
    chunk = mmap.mmap(-1, 4 * MiB)  # page-aligned, as O_DIRECT needs
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        started, total = time.perf_counter(), 0
        while (n := os.readv(fd, [chunk])) > 0:
            total += n
        return total / MiB / (time.perf_counter() - started)
    finally:
        os.close(fd)


def drop_cached(directory: Path) -> None:
    """Evicts every file under directory from the page cache (after a sync, so that none of
    it is dirty): the next read of them comes from the disk."""
    os.sync()
    for path in directory.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def loopback_speed(total: int = 4096 * MiB) -> float:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = [0]

    def sink() -> None:
        conn, _ = server.accept()
        buf = bytearray(4 * MiB)
        while (n := conn.recv_into(buf)) > 0:
            received[0] += n
        conn.close()

    thread = threading.Thread(target=sink)
    thread.start()
    client = socket.create_connection(server.getsockname())
    view = memoryview(BLOCK)
    started = time.perf_counter()
    for _ in range(total // len(BLOCK)):
        client.sendall(view)
    client.close()
    thread.join()
    server.close()
    return received[0] / MiB / (time.perf_counter() - started)


def tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """(certificate chain, key, CA) for 127.0.0.1, made now by trustme."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    chain, key, ca_file = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return chain, key, ca_file


class Server:
    def __init__(self, data_dir: Path, extra_args: tuple[str, ...] = (), tls: bool = False) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.context: ssl.SSLContext | None = None
        if tls:
            data_dir.mkdir(parents=True, exist_ok=True)
            chain, key, ca_file = tls_files(data_dir.parent)
            extra_args = (*extra_args, "--tls-cert", str(chain), "--tls-key", str(key))
            self.context = ssl.create_default_context(cafile=str(ca_file))
        env = dict(os.environ, OXSTORE_ROOT_USER=ACCESS, OXSTORE_ROOT_PASSWORD=SECRET)
        env["OXSTORE_DRAIN_SECONDS"] = "0"  # a bench stops its server at once
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oxstore",
                "server",
                str(data_dir),
                "--address",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                *extra_args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        scheme = "https" if tls else "http"
        for _ in range(600):
            try:
                url = f"{scheme}://127.0.0.1:{self.port}/-/health"
                urllib.request.urlopen(url, timeout=1, context=self.context)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("oxstore did not start")

    def rss_mib(self) -> float:
        """Resident memory of the server and its workers."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def connection(self, timeout: float = 3600) -> http.client.HTTPConnection:
        """A connection to the server, over TLS when it speaks it."""
        if self.context is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.context
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


class UnsignedPayloadAuth(S3SigV4Auth):
    """botocore's signer, declaring UNSIGNED-PAYLOAD so the body can stream unhashed."""

    def payload(self, request: AWSRequest) -> str:  # type: ignore[override]
        return "UNSIGNED-PAYLOAD"


def signed_headers(port: int, method: str, path: str, extra: dict[str, str]) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}{path}"
    request = AWSRequest(
        method=method, url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **extra}
    )
    UnsignedPayloadAuth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def request(
    conn: http.client.HTTPConnection, port: int, method: str, path: str, body: bytes = b""
) -> bytes:
    headers = signed_headers(
        port, method, path, {"content-length": str(len(body))} if method == "PUT" else {}
    )
    conn.request(method, path, body=body if method == "PUT" else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return data


def peak_growth(server: Server, work: Callable[[], T]) -> tuple[T, float]:
    """Runs work(); returns its result and the server's peak memory growth (MiB) meanwhile."""
    before = server.rss_mib()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mib())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return result, peak[0] - before


def big_put(
    server: Server, size: int, path: str = "/bench/big", extra: dict[str, str] | None = None
) -> tuple[float, float]:
    """Streams size bytes (BLOCK repeated) in one PUT with the `extra` headers: (MB/s, server
    memory growth in MiB)."""
    return peak_growth(server, lambda: _stream_put(server, size, path, extra or {}))


def _stream_put(server: Server, size: int, path: str, extra: dict[str, str]) -> float:
    conn = server.connection()
    headers = signed_headers(server.port, "PUT", path, {"content-length": str(size), **extra})
    started = time.perf_counter()
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    send_generated(conn, size)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"PUT failed: {response.status} {body[:400]!r}")
    return size / MiB / elapsed


def send_generated(conn: http.client.HTTPConnection, size: int) -> None:
    """Sends size bytes of generated data: BLOCK repeated (what sent_at checks)."""
    view = memoryview(BLOCK)
    sent = 0
    while sent < size:
        n = min(len(BLOCK), size - sent)
        conn.send(view[:n])
        sent += n


def sent_at(offset: int, data: bytearray) -> bool:
    """Whether data is what big_put sent at offset (BLOCK repeated)."""
    at = 0
    while at < len(data):
        start = (offset + at) % len(BLOCK)
        n = min(len(BLOCK) - start, len(data) - at)
        if data[at : at + n] != BLOCK[start : start + n]:
            return False
        at += n
    return True


def big_get(server: Server, size: int, path: str = "/bench/big", verify: bool = False) -> float:
    """Reads the object in one GET: MB/s. verify: compare every byte with what big_put sent."""
    conn = server.connection()
    headers = signed_headers(server.port, "GET", path, {})
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    buf = bytearray(4 * MiB)
    got = 0
    while (n := response.readinto(buf)) > 0:
        if verify and not sent_at(got, buf[:n]):
            raise RuntimeError(f"GET {path}: wrong bytes at offset {got}")
        got += n
    elapsed = time.perf_counter() - started
    assert got == size, (got, size)
    return size / MiB / elapsed
