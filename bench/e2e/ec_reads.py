"""Hot GETs of erasure-coded objects against plain ones, interleaved so that both see the
same machine: one oxstore on one drive and one on four (2+2), each holding a 1 GiB object
read from the page cache in alternating rounds; then, on the four drives, the healthy object
against one that lost a data shard; then plain GETs from the disk against O_DIRECT reads of
files written alike. Prints each round and the medians' ratios (the targets: EC GET >= 80%
of plain, degraded >= 70% of healthy, a GET from the disk >= the disk's direct reads).

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
from compare import Target, data_file, lose_a_data_shard, start_oxstore  # noqa: E402
from harness import MiB, big_get, big_put, direct_read_of, drop_cached, request  # noqa: E402

# the healer would restore the lost shard within a collector pass: none runs here
NO_COLLECTOR = ("--gc-interval", "1000000")


def cold_get(plain: Target, size: int, n: int) -> float:
    return big_get(plain, size, f"/bench/cold-{n}-get")


def cold_rounds(plain: Target, home: Path, size: int, rounds: int) -> None:
    """Per round, two fresh objects, neither read since its PUT (a virtual disk may cache
    what was read): one is read whole with O_DIRECT from its file, the other by a GET, in
    alternating order, each from the disk (the page cache evicted first)."""
    results = []
    for n in range(rounds):
        for key in (f"cold-{n}-direct", f"cold-{n}-get"):
            big_put(plain, size, f"/bench/{key}")
        drop_cached(home)
        if n % 2 == 0:
            g, d = cold_get(plain, size, n), direct_read_of(data_file(home, f"cold-{n}-direct"))
        else:
            d, g = direct_read_of(data_file(home, f"cold-{n}-direct")), cold_get(plain, size, n)
        print(f"  GET from the disk / direct read: {g:6.0f} / {d:6.0f} MB/s")
        results.append((g, d))
    g, d = (statistics.median(r[i] for r in results) for i in (0, 1))
    print(f"GET from the disk / direct read: medians {g:.0f} / {d:.0f} MB/s = {g / d:.0%}")


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
            cold_rounds(plain, Path(one), size, args.rounds)
        finally:
            plain.stop()
            erasure.stop()


if __name__ == "__main__":
    main()
