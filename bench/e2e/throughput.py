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
import http.client
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import (  # noqa: E402
    MiB,
    Server,
    big_get,
    big_put,
    loopback_speed,
    md5_speed,
    request,
)


def small_ops(server: Server, ops: int, clients: int) -> tuple[float, float]:
    payload = os.urandom(4096)
    local = threading.local()

    def conn() -> http.client.HTTPConnection:
        if not hasattr(local, "conn"):
            local.conn = server.connection(60)
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
            conn = server.connection()
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
