"""Encrypted (SSE-S3) against unencrypted objects on one oxstore, in alternating rounds so
that both see the same machine: a 1 GiB PUT and a GET of it from the page cache. Prints each
round and the medians' ratios (issue 13's targets: encrypted PUT and GET >= 80% of
unencrypted).

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
from compare import start_oxstore  # noqa: E402
from harness import MiB, big_get, big_put, request  # noqa: E402

SEALED = {"x-amz-server-side-encryption": "AES256"}


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
        finally:
            server.stop()


if __name__ == "__main__":
    main()
