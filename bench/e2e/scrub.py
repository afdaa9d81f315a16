"""How fast a scrub pass (`oxstore scrub`, beside the running server) reads an encrypted
plain file (SSE-S3: every 64 KiB package opened with the server's key) against an unencrypted
one (its block sums checked), each a 1 GiB object on one drive, from the page cache and after
dropping it, in alternating rounds. Prints each round and the medians' ratio.

    python bench/e2e/scrub.py [--rounds N] [--size-mib N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from compare import Target, start_oxstore  # noqa: E402
from harness import MiB, big_put, drop_cached, request  # noqa: E402

SEALED = {"x-amz-server-side-encryption": "AES256"}


def scrub_seconds(server: Target) -> float:
    """One whole pass over the server's only object; fails unless it checked it and lost none."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "oxstore", "scrub", str(server.home / "data")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    assert done.returncode == 0 and "checked 1 " in done.stdout, done.stdout + done.stderr
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory() as home:
        servers = {}
        for kind, extra in (("sealed", SEALED), ("plain", {})):
            (Path(home) / kind).mkdir()
            servers[kind] = server = start_oxstore(Path(home) / kind, 1)
            request(server.connection(), server.port, "PUT", "/bench")
            big_put(server, size, "/bench/one", extra)
        try:
            speeds: dict[str, list[float]] = {
                f"{k} {c}": [] for k in servers for c in ("hot", "cold")
            }
            for n in range(args.rounds):
                for kind, server in servers.items():
                    scrub_seconds(server)  # in the page cache
                    hot = size / scrub_seconds(server) / 1e6
                    drop_cached(server.home / "data")
                    cold = size / scrub_seconds(server) / 1e6
                    speeds[f"{kind} hot"].append(hot)
                    speeds[f"{kind} cold"].append(cold)
                    print(f"round {n + 1} {kind:6}: hot {hot:7.0f} MB/s, cold {cold:7.0f} MB/s")
        finally:
            for server in servers.values():
                server.stop()
    medians = {name: statistics.median(values) for name, values in speeds.items()}
    for case in ("hot", "cold"):
        sealed, plain = medians[f"sealed {case}"], medians[f"plain {case}"]
        print(f"{case}: sealed {sealed:.0f} MB/s, plain {plain:.0f} MB/s = {sealed / plain:.0%}")


if __name__ == "__main__":
    main()
