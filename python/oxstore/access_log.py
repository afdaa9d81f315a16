"""The access log: one JSON line per request (time, request id, remote address, requester,
bucket, key, API, status, error code, bytes in and out, seconds), to stdout or to a file.

Every worker appends to the same file (O_APPEND: each write lands whole, never interleaved).
The lines of one turn of a worker's event loop go out in one write (under load, many requests
end in a turn: one system call for all of them, not one each); to a pipe (stdout), in writes
of at most PIPE_BUF bytes of whole lines, the most a pipe keeps whole. The file is rotated by
size: the worker that finds it over the limit renames it (FILE.1, FILE.2, ... under a lock, so
only one does) and the others see the new file within a second and reopen theirs. Signatures,
credentials and query strings are never logged."""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec

ROTATE_BYTES = 64 * 1024 * 1024
KEPT = 5  # rotated files kept
REOPEN_CHECK = 1.0  # seconds between looks at whether the file was rotated elsewhere
FILE_WRITE = 1024 * 1024  # the most bytes of lines one write to a file carries


class Entry(msgspec.Struct):
    time: str
    request_id: str
    remote: str
    requester: str
    bucket: str
    key: str
    api: str
    status: int
    error: str
    bytes_in: int
    bytes_out: int
    seconds: float


_encode = msgspec.json.Encoder().encode


class AccessLog:
    """Where this worker writes its lines: stdout (path "-") or a file."""

    def __init__(self, path: str, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.path = None if path == "-" else Path(path)
        self.rotate_bytes = rotate_bytes
        self._fd = sys.stdout.fileno() if self.path is None else self._open()
        self._checked = time.monotonic()
        self._pending: list[bytes] = []
        self._atomic = select.PIPE_BUF if self.path is None else FILE_WRITE

    def write(self, entry: Entry) -> None:
        """Queues the line; it is written once this turn of the event loop is over (at once
        where no loop runs)."""
        self._pending.append(_encode(entry) + b"\n")
        if len(self._pending) > 1:
            return  # the flush is on its way
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:
            self.flush()

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        if self.path is not None:
            self._follow_rotation()
        for chunk in whole_lines(lines, self._atomic):
            os.write(self._fd, chunk)

    def _open(self) -> int:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def _follow_rotation(self) -> None:
        now = time.monotonic()
        if now - self._checked < REOPEN_CHECK:
            return
        self._checked = now
        assert self.path is not None
        mine = os.fstat(self._fd)
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is None or current.st_ino != mine.st_ino:  # rotated by another worker
            os.close(self._fd)
            self._fd = self._open()
        elif mine.st_size > self.rotate_bytes:
            self._rotate()

    def _rotate(self) -> None:
        assert self.path is not None
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if os.stat(self.path).st_ino == os.fstat(self._fd).st_ino:  # nobody did it yet
                for n in range(KEPT - 1, 0, -1):
                    older = self.path.with_name(f"{self.path.name}.{n}")
                    if older.exists():
                        older.rename(self.path.with_name(f"{self.path.name}.{n + 1}"))
                self.path.rename(self.path.with_name(self.path.name + ".1"))
        os.close(self._fd)
        self._fd = self._open()


def whole_lines(lines: list[bytes], most: int) -> Iterator[bytes]:
    """The lines joined into writes of at most `most` bytes (a longer line alone)."""
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) > most:
            yield b"".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield b"".join(chunk)


_second = (-1, "")  # the last whole second formatted, and its text


def now_iso() -> str:
    """The time in ISO 8601 with milliseconds (UTC); the seconds formatted once each."""
    global _second
    moment = time.time()
    whole = int(moment)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((moment - whole) * 1000):03d}Z"
