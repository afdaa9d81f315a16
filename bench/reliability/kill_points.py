"""The kill -9 harness at scale: SIGKILL at N seeded random points (1,000 by default) of the
mixed workload of tests/reliability/kill_points.py, each followed by a restart and the full
check, half of them on one drive (plain files) and half on four (erasure 2+2); prints what
was acknowledged and checked. A layout named after N ("plain" or "erasure") runs only that
half.

    python bench/reliability/kill_points.py [N [plain|erasure]]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    points = sys.argv[1] if len(sys.argv) > 1 else "1000"
    only = ["-k", sys.argv[2]] if len(sys.argv) > 2 else []
    env = dict(os.environ, OXSTORE_KILL_POINTS=str(int(points) // 2))  # each layout
    started = time.monotonic()
    test = "tests/reliability/test_kill_points.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test, *only],
        cwd=ROOT,
        env=env,
        check=False,
    )
    print(f"{points} kill points in {time.monotonic() - started:.0f} s: exit {done.returncode}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
