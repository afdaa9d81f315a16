"""What a bucket policy costs: HEAD operations per second on one oxstore against a bucket
without a policy and with a 20-statement one (every statement evaluated for each request:
none applies to the owner's HEADs but the last, conditions included), in alternating rounds
so that both see the same machine. Issue 14's target: with the policy >= 80% of without.

    python bench/e2e/policy.py [--rounds N] [--seconds N] [--clients N] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from compare import Target, presigned, replay, start_oxstore  # noqa: E402
from harness import request  # noqa: E402

BUCKET = "bench"


def twenty_statements() -> str:
    """19 statements that never apply to the owner's HEADs (other prefixes, other actions),
    each with a condition, and a last one that does."""
    statements = [
        {
            "Sid": f"s{n}",
            "Effect": "Deny" if n % 2 else "Allow",
            "Principal": "*",
            "Action": ["s3:PutObject", "s3:DeleteObject"] if n % 3 else "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/private-{n}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": f"10.{n}.0.0/16"}},
        }
        for n in range(19)
    ]
    statements.append(
        {
            "Sid": "last",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def heads_per_second(server: Target, paths: list[str], clients: int, seconds: int) -> float:
    load = replay(server, "HEAD", paths, clients, seconds)
    if load.failed:
        raise RuntimeError(f"HEADs failed: {load.failed}")
    return load.amount / load.seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        server = start_oxstore(Path(home), args.workers)
        try:
            conn = server.connection()
            request(conn, server.port, "PUT", f"/{BUCKET}")
            keys = [f"/{BUCKET}/o{n}" for n in range(100)]
            for key in keys:
                request(conn, server.port, "PUT", key)  # empty: wrk reads no HEAD body
            paths = [presigned(server.port, "HEAD", key) for key in keys]
            document = twenty_statements().encode()
            pairs: list[tuple[float, float]] = []
            for n in range(args.rounds):
                plain = heads_per_second(server, paths, args.clients, args.seconds)
                request(conn, server.port, "PUT", f"/{BUCKET}?policy", document)
                governed = heads_per_second(server, paths, args.clients, args.seconds)
                request(conn, server.port, "DELETE", f"/{BUCKET}?policy")
                pairs.append((governed, plain))
                print(f"  round {n}: HEAD/s with the policy {governed:.0f}, without {plain:.0f}")
            a, b = (statistics.median(p[i] for p in pairs) for i in (0, 1))
            print(f"HEAD/s with a 20-statement policy / without: {a:.0f} / {b:.0f} = {a / b:.0%}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
