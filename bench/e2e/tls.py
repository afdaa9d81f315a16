"""HTTPS beside plain HTTP, in one run: starts two oxstore servers (one worker each), one with
a certificate made for the run (trustme), and measures on both a single-stream PUT and GET of
a large object (default 1 GiB; the GET from the page cache) and 4 KiB PUT/GET operations per
second at 32 concurrent clients.

    python bench/e2e/tls.py [--size-mib 1024] [--small-ops 2000] [--clients 32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import MiB, Server, big_get, big_put, request  # noqa: E402
from throughput import small_ops  # noqa: E402


def measure(server: Server, size: int, ops: int, clients: int) -> tuple[float, ...]:
    request(server.connection(), server.port, "PUT", "/bench")
    put_rate, _ = big_put(server, size)
    big_get(server, size)  # the first GET reads from disk; the second from the page cache
    get_rate = big_get(server, size)
    put_ops, get_ops = small_ops(server, ops, clients)
    return put_rate, get_rate, put_ops, get_ops


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-ops", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--dir", default=None, help="data directory parent (default: a temp dir)")
    args = parser.parse_args()
    results = {}
    for name, tls in (("plain HTTP", False), ("HTTPS", True)):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            server = Server(Path(tmp) / "data", tls=tls)
            try:
                results[name] = measure(server, args.size_mib * MiB, args.small_ops, args.clients)
            finally:
                server.stop()
    plain = results["plain HTTP"]
    print(f"{args.size_mib} MiB single stream; 4 KiB ops at {args.clients} clients:")
    for name, (put, get, put_ops, get_ops) in results.items():
        print(
            f"  {name:10}  PUT {put:6.0f} MB/s ({put / plain[0]:4.0%})  "
            f"GET {get:6.0f} MB/s ({get / plain[1]:4.0%})  "
            f"4 KiB PUT {put_ops:6.0f}/s ({put_ops / plain[2]:4.0%})  "
            f"GET {get_ops:6.0f}/s ({get_ops / plain[3]:4.0%})"
        )


if __name__ == "__main__":
    main()
