"""Group commit: concurrent small writes of one process share one SQLite transaction.

Without it, every write thread takes SQLite's write lock in turn; a thread that finds it taken
sleeps in SQLite's busy handler (1, 2, 5, 10... ms), so many concurrent small PUTs mostly wait.
Here one committer thread per process runs the writes queued meanwhile, each inside its own
SAVEPOINT (a write that fails rolls back alone), then commits once: one lock, one fsync.
A caller's result is released only after that COMMIT, so every answer stays durable.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

MAX_BATCH = 256
T = TypeVar("T")

Write = Callable[[sqlite3.Connection], Any]


class GroupCommitter:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect  # the committer thread's own connection
        self._queue: queue.SimpleQueue[tuple[Write, Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0  # the process whose committer thread is running (threads die with fork)

    def submit(self, write: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queues write(db) for a group transaction; the future resolves once it committed."""
        self._ensure_thread()
        future: Future[T] = Future()
        self._queue.put((write, future))
        return future

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid != pid:
                self._queue = queue.SimpleQueue()  # a forked copy's queue belongs to no one
                committer = threading.Thread(
                    target=self._commit_forever, name="group-commit", daemon=True
                )
                committer.start()
                self._pid = pid

    def _commit_forever(self) -> None:
        db = self._connect()
        pending = self._queue
        while True:
            batch = [pending.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            self._commit(db, batch)

    @staticmethod
    def _commit(db: sqlite3.Connection, batch: list[tuple[Write, Future[Any]]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for write, _ in batch:
                db.execute("SAVEPOINT one_write")
                try:
                    outcomes.append((True, write(db)))
                except BaseException as exc:  # noqa: BLE001 - handed to its caller
                    db.execute("ROLLBACK TO one_write")
                    outcomes.append((False, exc))
                db.execute("RELEASE one_write")
            db.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - the whole batch failed to commit
            if db.in_transaction:
                db.execute("ROLLBACK")
            for _, future in batch:
                future.set_exception(exc)
            return
        for (ok, value), (_, future) in zip(outcomes, batch, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
