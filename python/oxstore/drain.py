"""The drain on SIGTERM, as the main process and the workers see it.

The main process marks the drain with a file (whose presence makes every worker's
/-/health/ready answer 503), keeps serving for --drain-seconds, then writes "stopping" in the
file and stops its workers as granian does (SIGTERM to each). A SIGTERM to the whole process
group (systemd's default KillMode, `kill -- -PID`) reaches the workers too, at the same time:
a worker that gets one while the main process drains keeps serving until the main process
stops it, so the drain holds whichever way the signal came.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from oxstore.config import Config

STOPPING = b"stopping"
NOTICE = 0.5  # seconds a worker waits for the main process to begin a drain the signal began
GRACE = 5.0  # seconds past the drain a worker waits for its stop before stopping by itself


def marker(config: Config) -> Path:
    """The file whose presence says this gateway is draining."""
    return config.state_dir / f"draining-{config.gateway.replace(':', '-')}"


def begin(path: Path) -> None:
    path.write_bytes(b"draining")


def end(path: Path) -> None:
    """The drain is over: workers told to stop now stop at once."""
    path.write_bytes(STOPPING)


def _state(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def hold_workers_through_drains(loop: Any, config: Config) -> None:
    """In a worker, after granian set its signal handlers: SIGTERM stops this worker at once
    unless the main process drains; then it waits for the main process (or the drain's end
    and a grace, should the main process be gone)."""
    if config.drain_seconds <= 0:
        return
    path = marker(config)

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGINT)  # granian's own handler of SIGINT stops the worker

    def decide(last_chance: bool) -> None:
        state = _state(path)
        if state == STOPPING or (state is None and last_chance):
            stop()
        elif state is None:  # the group's signal came first: the main process begins soon
            loop.call_later(NOTICE, decide, True)
        else:  # draining: the main process stops this worker when it ends
            loop.call_later(config.drain_seconds + GRACE, stop)

    loop.add_signal_handler(signal.SIGTERM, decide, False)
