"""Garbage collection under a sustained overwrite load: starts oxstore (one worker), lets
16 clients overwrite a small set of keys with 64 KiB objects (each overwrite leaves a data
file for the collector) and samples the garbage backlog (data files beyond the live ones)
during the load and after it, until it is drained.

    python bench/e2e/collector.py [--seconds 30] [--clients 16] [--keys 256]

The collector runs with --gc-grace 1 --gc-interval 1, so the backlog measures how well it
keeps up rather than the grace period.
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
from harness import Server, request  # noqa: E402

OBJECT = 64 * 1024


def data_files(data_dir: Path) -> int:
    objects = data_dir / ".oxstore" / "objects"
    return sum(1 for fan in objects.iterdir() for _ in os.scandir(fan))


def overwrite(server: Server, keys: int, stop: threading.Event, counts: list[int], n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    payload = os.urandom(OBJECT)
    i = n
    while not stop.is_set():
        request(conn, server.port, "PUT", f"/gcbench/k{i % keys}", payload)
        counts[n] += 1
        i += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--keys", type=int, default=256)
    parser.add_argument("--dir", default=None, help="data directory parent (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        data_dir = Path(tmp) / "data"
        server = Server(data_dir, ("--gc-grace", "1", "--gc-interval", "1"))
        try:
            request(
                http.client.HTTPConnection("127.0.0.1", server.port), server.port, "PUT", "/gcbench"
            )
            stop = threading.Event()
            counts = [0] * args.clients
            peak = 0
            with ThreadPoolExecutor(args.clients) as pool:
                for n in range(args.clients):
                    pool.submit(overwrite, server, args.keys, stop, counts, n)
                started = time.monotonic()
                while time.monotonic() - started < args.seconds:
                    time.sleep(1)
                    peak = max(peak, data_files(data_dir) - args.keys)
                stop.set()
            elapsed = time.monotonic() - started
            at_stop = data_files(data_dir) - args.keys
            drained = time.monotonic()
            while data_files(data_dir) > args.keys and time.monotonic() - drained < 120:
                time.sleep(0.2)
            drain = time.monotonic() - drained
            left = data_files(data_dir) - args.keys
        finally:
            server.stop()
    writes = sum(counts)
    print(f"{args.clients} clients overwrote {args.keys} keys of 64 KiB for {elapsed:.0f} s:")
    print(f"    {writes / elapsed:7.0f} PUT/s, {writes} data files made")
    print(f"    garbage backlog: peak {peak} files, {at_stop} when the load stopped")
    print(f"    drained to {left} files {drain:.1f} s after the load stopped")


if __name__ == "__main__":
    main()
