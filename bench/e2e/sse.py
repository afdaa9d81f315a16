"""Encrypted (SSE-S3) against unencrypted objects on one oxstore, in alternating rounds so
that both see the same machine: a 1 GiB PUT and a GET of it from the page cache. Prints each
round and the medians' ratios (issue 13's targets: encrypted PUT and GET >= 80% of
unencrypted), then what a 1-byte ranged GET of an encrypted object reads (the target: at most
two 64 KiB packages).

    python bench/e2e/sse.py [--rounds N] [--size-mib N] [--workers N] [--drives N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from compare import Target, start_oxstore  # noqa: E402
from harness import MiB, big_get, big_put, request, signed_headers  # noqa: E402

SEALED = {"x-amz-server-side-encryption": "AES256"}
SEALED_PACKAGE = 64 * 1024 + 16  # a package of plaintext and its tag


def one_byte_read(server: Target, path: str, offset: int) -> int:
    """Bytes the server reads (by system calls) to answer a GET of the byte at offset."""
    conn = server.connection()
    extra = {"range": f"bytes={offset}-{offset}"}
    headers = signed_headers(server.port, "GET", path, extra)
    conn.request("GET", path, headers=headers)  # the connection is set up before counting
    conn.getresponse().read()
    before = server.bytes_read()
    conn.request("GET", path, headers=signed_headers(server.port, "GET", path, extra))
    response = conn.getresponse()
    assert response.status == 206 and len(response.read()) == 1
    return server.bytes_read() - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--drives", type=int, default=1)
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory() as home:
        server = start_oxstore(Path(home), args.workers, drives=args.drives)
        try:
            request(server.connection(), server.port, "PUT", "/bench")
            rows: dict[str, list[tuple[float, float]]] = {"PUT": [], "GET": []}
            for n in range(args.rounds):
                sealed_put = big_put(server, size, f"/bench/sealed-{n}", SEALED)[0]
                plain_put = big_put(server, size, f"/bench/plain-{n}")[0]
                for key in (f"sealed-{n}", f"plain-{n}"):  # verified once, then from the cache
                    big_get(server, size, f"/bench/{key}", verify=True)
                sealed_get = big_get(server, size, f"/bench/sealed-{n}")
                plain_get = big_get(server, size, f"/bench/plain-{n}")
                rows["PUT"].append((sealed_put, plain_put))
                rows["GET"].append((sealed_get, plain_get))
                puts, gets = (
                    f"{sealed_put:.0f} / {plain_put:.0f}",
                    f"{sealed_get:.0f} / {plain_get:.0f}",
                )
                print(f"  round {n}: PUT {puts}, GET {gets} MB/s")
                for key in (f"sealed-{n}", f"plain-{n}"):
                    request(server.connection(), server.port, "DELETE", f"/bench/{key}")
            for row, pairs in rows.items():
                a, b = (statistics.median(p[i] for p in pairs) for i in (0, 1))
                print(f"{row} encrypted / plain: medians {a:.0f} / {b:.0f} MB/s = {a / b:.0%}")
            big_put(server, size, "/bench/sealed", SEALED)
            for offset in (0, size // 2 + 12345, size - 1):
                read = one_byte_read(server, "/bench/sealed", offset)
                print(
                    f"1-byte ranged GET at {offset} of {args.size_mib} MiB encrypted: the server "
                    f"read {read} bytes = {read / SEALED_PACKAGE:.2f} packages"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
