"""Hot GETs of erasure-coded objects against plain ones, interleaved so that both see the
same machine: one oxstore on one drive and one on four (2+2), each holding a 1 GiB object
read from the page cache in alternating rounds; then, on the four drives, the healthy object
against one that lost a data shard, also alternating. Prints each round and the medians'
ratios (the issue's targets: EC GET >= 80% of plain, degraded >= 70% of healthy).

    python bench/e2e/ec_reads.py [--rounds N] [--size-mib N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from compare import lose_a_data_shard, start_oxstore  # noqa: E402
from harness import MiB, big_get, big_put, request  # noqa: E402

# the healer would restore the lost shard within a collector pass: none runs here
NO_COLLECTOR = ("--gc-interval", "1000000")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as four:
        plain = start_oxstore(Path(one), args.workers)
        erasure = start_oxstore(Path(four), args.workers, drives=4, extra=NO_COLLECTOR)
        try:
            for server in (plain, erasure):
                request(server.connection(), server.port, "PUT", "/bench")
                big_put(server, size)
                big_get(server, size, verify=True)  # verified whole, now in the page cache
            big_put(erasure, size, "/bench/lost")
            lose_a_data_shard(Path(four), "lost")
            big_get(erasure, size, "/bench/lost", verify=True)  # rebuilt from parity
            pairs = {
                "EC 2+2 / plain": (lambda: big_get(erasure, size), lambda: big_get(plain, size)),
                "degraded / healthy": (
                    lambda: big_get(erasure, size, "/bench/lost"),
                    lambda: big_get(erasure, size),
                ),
            }
            for name, (first, second) in pairs.items():
                rounds = [(first(), second()) for _ in range(args.rounds)]
                for a, b in rounds:
                    print(f"  {name}: {a:6.0f} / {b:6.0f} MB/s")
                a, b = (statistics.median(r[i] for r in rounds) for i in (0, 1))
                print(f"{name}: medians {a:.0f} / {b:.0f} MB/s = {a / b:.0%}")
        finally:
            plain.stop()
            erasure.stop()


if __name__ == "__main__":
    main()
