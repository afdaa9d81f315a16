"""A 10 GiB object end to end: one single-stream PUT and one GET of generated data, checking
every byte that comes back and the server's memory while it works.

The server must accept the object (its single-PUT limit is 10 GiB by default) and its memory
must stay bounded: the script fails if resident memory grows by more than --max-growth-mib.

    python bench/e2e/large_object.py [--size-gib 10] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import MiB, Server, big_get, big_put, peak_growth, request  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-gib", type=float, default=10.0)
    parser.add_argument("--max-growth-mib", type=float, default=256.0)
    parser.add_argument("--dir", default=None, help="data directory parent (default: a temp dir)")
    args = parser.parse_args()
    size = int(args.size_gib * 1024) * MiB
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        server = Server(Path(tmp) / "data")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            request(conn, server.port, "PUT", "/bench")
            put_rate, put_growth = big_put(server, size)
            get_rate, get_growth = peak_growth(server, lambda: big_get(server, size, verify=True))
        finally:
            server.stop()
    print(
        f"PUT {args.size_gib:g} GiB single stream: {put_rate:6.0f} MB/s, "
        f"server memory +{put_growth:.0f} MiB"
    )
    print(
        f"GET {args.size_gib:g} GiB single stream, every byte checked: {get_rate:6.0f} MB/s, "
        f"server memory +{get_growth:.0f} MiB"
    )
    worst = max(put_growth, get_growth)
    if worst > args.max_growth_mib:
        raise SystemExit(f"server memory grew by {worst:.0f} MiB (limit {args.max_growth_mib})")


if __name__ == "__main__":
    main()
