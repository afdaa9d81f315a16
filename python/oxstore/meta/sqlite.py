"""The embedded metadata store: the model's tables in SQLite (WAL), shared by every worker.

Each table of the model is a `kv_<name> (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID`: SQLite's
memcmp order of the keys is the model's order. Reads run on the calling thread over its own
connection (no network, so the model reads on the event loop); writes queue for the group
committer, which runs concurrent transactions in one SQLite transaction (a savepoint each) and
commits them with one fsync (synchronous=FULL) before any caller hears back.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

from oxstore.meta.group_commit import GroupCommitter
from oxstore.meta.sqlite_migrate import migrate_typed_schema
from oxstore.meta.store import TABLES

T = TypeVar("T")

SCHEMA_VERSION = 5  # 1-4: the typed tables of earlier releases (migrated at open)
BUSY_TIMEOUT_MS = 30_000


class SqliteTx:
    """A transaction (or snapshot) on one connection; the caller began it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def get(self, table: str, key: bytes) -> bytes | None:
        row = self.db.execute(f"SELECT v FROM kv_{table} WHERE k = ?", (key,)).fetchone()
        return row[0] if row is not None else None

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.db.execute(f"INSERT OR REPLACE INTO kv_{table} (k, v) VALUES (?, ?)", (key, value))

    def delete(self, table: str, key: bytes) -> None:
        self.db.execute(f"DELETE FROM kv_{table} WHERE k = ?", (key,))

    def scan(
        self,
        table: str,
        start: bytes,
        end: bytes | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        sql = f"SELECT k, v FROM kv_{table} WHERE k >= ?"
        args: list[object] = [start]
        if end is not None:
            sql += " AND k < ?"
            args.append(end)
        sql += " ORDER BY k DESC" if reverse else " ORDER BY k"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        cursor = self.db.execute(sql, args)
        try:
            yield from cursor
        finally:
            cursor.close()


class SqliteStore:
    """The Store over one SQLite database file."""

    reads_inline = True

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._group = GroupCommitter(self._db)
        self._create_schema()

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections never cross one)."""
        local = self._local
        pid = os.getpid()
        db: sqlite3.Connection | None = getattr(local, "db", None)
        if db is None or local.pid != pid:
            db = sqlite3.connect(
                self.path,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,  # only so close() can close every thread's connection
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            local.db = db
            local.pid = pid
            with self._lock:
                self._connections.append((pid, db))
        return db

    def read(self, work: Callable[[SqliteTx], T]) -> T:
        db = self._db()
        db.execute("BEGIN")
        try:
            return work(SqliteTx(db))
        finally:
            db.execute("COMMIT")

    def submit(self, work: Callable[[SqliteTx], T]) -> Future[T]:
        return self._group.submit(lambda db: work(SqliteTx(db)))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: metadata schema {version} is newer than this oxstore "
                    f"(schema {SCHEMA_VERSION})"
                )
            if version == SCHEMA_VERSION:
                return
            for table in TABLES:
                db.execute(
                    f"CREATE TABLE kv_{table} (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
                )
            if version:
                migrate_typed_schema(db, SqliteTx(db))
            db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        """Closes every connection this process opened; a later call opens new ones."""
        pid = os.getpid()
        with self._lock:
            for owner, db in self._connections:
                if owner == pid:
                    db.close()
            self._connections.clear()
        self._local = threading.local()
