"""SIGKILL of the whole server at 50 seeded random points of a mixed workload from 16 clients
(tests/reliability/kill_points.py), on one drive (plain files) and on four (erasure 2+2);
`bench/reliability/kill_points.py` runs 1,000 points."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Server, free_port
from tests.reliability import kill_points

POINTS = int(os.environ.get("OXSTORE_KILL_POINTS", "50"))  # for each layout
CLIENTS = 16


@pytest.mark.parametrize("drive_count", [1, 4], ids=["plain", "erasure-2+2"])
def test_no_acknowledged_write_is_lost_at_any_kill_point(
    tmp_path: Path, meta_args: Callable[[Path], list[str]], drive_count: int
) -> None:
    drives = [tmp_path / f"drive-{n}" for n in range(drive_count)]
    data_dir = drives[0]
    started: list[Server] = []

    def start() -> Server:
        args = [*kill_points.SERVER_ARGS, *meta_args(data_dir)]
        server = Server(data_dir, free_port(), args, drives=drives[1:])
        started.append(server)
        return server.start()

    try:
        first = start()
        kill_points.prepare(first)
        first.stop()
        logs = [kill_points.ClientLog() for _ in range(CLIENTS)]
        acked = sum(
            kill_points.kill_point(start, drives, logs, seed, CLIENTS) for seed in range(POINTS)
        )
        print(f"{POINTS} kill points, {CLIENTS} clients: {acked} operations acknowledged")
        assert acked > POINTS * 10, f"only {acked} operations acknowledged"
        assert kill_points.collected(start, drives, logs) == []
    finally:
        for server in started:
            server.stop()
