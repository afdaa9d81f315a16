"""Whole-server throughput: starts oxstore (one worker) and measures, in one run,

- single-stream PUT and GET of a large object (default 1 GiB) in MB/s, and the server's memory
  growth during the upload; the first GET reads from disk (uploads bypass the page cache), the
  second from the page cache;
- 4 KiB PUT and GET operations per second at 32 concurrent clients;
- beside them, this machine's limits measured in the same run: single-core MD5 speed and
  loopback TCP speed, with the ratios the targets are stated in.

    python bench/e2e/throughput.py [--size-mib 1024] [--small-ops 2000] [--clients 32]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MiB = 1024 * 1024
ACCESS, SECRET = "BENCHACCESSKEY000001", "bench-secret-key-0123456789"
BLOCK = os.urandom(64 * MiB)


def md5_speed(total: int = 512 * MiB) -> float:
    started = time.perf_counter()
    h = hashlib.md5()
    for _ in range(total // len(BLOCK)):
        h.update(BLOCK)
    return total / MiB / (time.perf_counter() - started)


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


class Server:
    def __init__(self, data_dir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, OXSTORE_ROOT_USER=ACCESS, OXSTORE_ROOT_PASSWORD=SECRET)
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
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/health", timeout=1)
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


def big_put(server: Server, size: int) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    headers = signed_headers(server.port, "PUT", "/bench/big", {"content-length": str(size)})
    rss_before = server.rss_mib()
    peak = [rss_before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server.rss_mib())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    conn.putrequest("PUT", "/bench/big", skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    view = memoryview(BLOCK)
    sent = 0
    while sent < size:
        n = min(len(BLOCK), size - sent)
        conn.send(view[:n])
        sent += n
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if response.status != 200:
        raise RuntimeError(f"PUT failed: {response.status} {body[:400]!r}")
    return size / MiB / elapsed, peak[0] - rss_before


def big_get(server: Server, size: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    headers = signed_headers(server.port, "GET", "/bench/big", {})
    started = time.perf_counter()
    conn.request("GET", "/bench/big", headers=headers)
    response = conn.getresponse()
    buf = bytearray(4 * MiB)
    got = 0
    while (n := response.readinto(buf)) > 0:
        got += n
    elapsed = time.perf_counter() - started
    assert got == size, (got, size)
    return size / MiB / elapsed


def small_ops(server: Server, ops: int, clients: int) -> tuple[float, float]:
    payload = os.urandom(4096)
    local = threading.local()

    def conn() -> http.client.HTTPConnection:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        return local.conn

    def put(i: int) -> None:
        request(conn(), server.port, "PUT", f"/bench/small/{i}", payload)

    def get(i: int) -> None:
        assert request(conn(), server.port, "GET", f"/bench/small/{i}") == payload

    rates = []
    for op in (put, get):
        with ThreadPoolExecutor(clients) as pool:
            started = time.perf_counter()
            list(pool.map(op, range(ops)))
            rates.append(ops / (time.perf_counter() - started))
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-ops", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--dir", default=None, help="data directory parent (default: a temp dir)")
    args = parser.parse_args()
    size = args.size_mib * MiB
    md5 = md5_speed()
    loopback = loopback_speed()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        server = Server(Path(tmp) / "data")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            request(conn, server.port, "PUT", "/bench")
            put_rate, rss_growth = big_put(server, size)
            cold_get = big_get(server, size)  # written with O_DIRECT: read from disk
            get_rate = big_get(server, size)  # now in the page cache
            put_ops, get_ops = small_ops(server, args.small_ops, args.clients)
        finally:
            server.stop()
    mib = args.size_mib
    print(f"machine: single-core MD5 {md5:8.0f} MB/s   loopback TCP {loopback:8.0f} MB/s")
    print(f"PUT {mib} MiB single stream: {put_rate:8.0f} MB/s = {put_rate / md5:5.0%} of MD5")
    print(f"    server memory growth during the upload: {rss_growth:.0f} MiB")
    share = get_rate / loopback
    print(f"GET {mib} MiB single stream: {get_rate:8.0f} MB/s = {share:5.0%} of loopback")
    print(f"    (page cache); the first GET, from disk: {cold_get:.0f} MB/s")
    print(f"4 KiB, {args.small_ops} ops at {args.clients} clients:")
    print(f"    PUT {put_ops:7.0f} ops/s   GET {get_ops:7.0f} ops/s")


if __name__ == "__main__":
    main()
