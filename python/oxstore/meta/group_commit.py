"""Group commit: the writes an event loop queues while a commit is in flight share the next
SQLite transaction, and its one fsync.

A write's work runs on the event loop's own thread, inside a SAVEPOINT of its own (a write
that fails rolls back alone). On a committer thread it would fight the loop for the GIL at
every SQLite call, and did: 260 µs of that thread per 4 KiB PUT, so 64 concurrent PUTs queued
behind it. Only what waits leaves the loop: the COMMIT (its fsync), and taking the write lock
while another process holds it. A caller hears back only after its transaction committed.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

MAX_BATCH = 256  # writes per transaction: a batch's work holds the event loop meanwhile
T = TypeVar("T")

Write = Callable[[sqlite3.Connection], Any]
Outcome = tuple["asyncio.Future[Any]", bool, Any]  # future, succeeded, result or exception


class WriteLock:
    """The right to write the database, one batch at a time: a thread lock between the event
    loops of this process, an flock on a file beside the database between processes (a
    blocked flock wakes the moment it is released; SQLite's busy handler sleeps 1, 2, 5,
    10... ms and tries again)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = 0
        self._fd = -1
        self._threads = threading.Lock()

    def _for_this_process(self) -> None:
        """A forked child starts unlocked, on a descriptor of its own (an flock belongs to the
        open file, which a child's inherited descriptor shares with its parent)."""
        if self._pid != os.getpid():
            self._threads = threading.Lock()
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()

    def try_acquire(self) -> bool:
        self._for_this_process()
        if not self._threads.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._threads.release()
            return False
        return True

    def acquire(self) -> None:
        self._for_this_process()
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    async def acquire_async(self) -> None:
        if not self.try_acquire():
            await asyncio.to_thread(self.acquire)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class _Queue:
    """The writes one event loop queued for the next transaction."""

    __slots__ = ("flushing", "pending")

    def __init__(self) -> None:
        self.pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self.flushing = False


class GroupCommitter:
    def __init__(self, connect: Callable[[], sqlite3.Connection], lock: WriteLock) -> None:
        self._connect = connect  # opens the writer connection (one per process)
        self.lock = lock
        self._db: sqlite3.Connection | None = None
        self._pid = 0
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )
        self._queues_lock = threading.Lock()

    async def run(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Runs write(db) in a group transaction; returns once that transaction committed."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            with self._queues_lock:
                queue = self._queues.setdefault(loop, _Queue())
        future: asyncio.Future[T] = loop.create_future()
        queue.pending.append((write, future))
        if not queue.flushing:  # starts on the next turn: this turn's writes join the batch
            queue.flushing = True
            loop.create_task(self._flush(queue))
        return await future

    async def _flush(self, queue: _Queue) -> None:
        try:
            while queue.pending:
                batch = queue.pending[:MAX_BATCH]
                del queue.pending[:MAX_BATCH]
                _set_all(await self._commit(batch))
        finally:
            queue.flushing = False

    def _writer(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            self._db = self._connect()
            self._db.execute("PRAGMA busy_timeout = 0")  # see _begin
            self._pid = os.getpid()
        return self._db

    async def _commit(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> list[Outcome]:
        await self.lock.acquire_async()
        db = self._writer()
        try:
            await _begin(db)
            outcomes: list[Outcome] = []
            for write, future in batch:
                db.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((future, True, write(db)))
                except BaseException as exc:  # noqa: BLE001 - handed to its caller
                    db.execute("ROLLBACK TO one_write")
                    outcomes.append((future, False, exc))
                db.execute("RELEASE one_write")
            await asyncio.to_thread(db.execute, "COMMIT")
            return outcomes
        except BaseException as exc:  # noqa: BLE001 - the whole batch failed to commit
            if db.in_transaction:
                db.execute("ROLLBACK")
            return [(future, False, exc) for _, future in batch]
        finally:
            self.lock.release()

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None


async def _begin(db: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on the loop: with the write lock held no oxstore process holds
    SQLite's, so it does not wait; something else may (the sqlite3 shell, a backup), and
    then it is waited for on a thread."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
            raise
        await asyncio.to_thread(_begin_waiting, db)


def _begin_waiting(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA busy_timeout = 30000")
    try:
        db.execute("BEGIN IMMEDIATE")
    finally:
        db.execute("PRAGMA busy_timeout = 0")


def _set_all(outcomes: list[Outcome]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
