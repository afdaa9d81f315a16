"""The embedded metadata store: the model's tables in SQLite (WAL), shared by every worker.

Each table of the model is a `kv_<name> (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID`, each
counter table a `cnt_<name> (k BLOB PRIMARY KEY, c0 ... c5 INTEGER)`: SQLite's memcmp order of
the keys is the model's order. Reads run on the calling thread over its own
connection (no network, so the model reads on the event loop); the writes an event loop makes
while a commit is in flight share the next SQLite transaction (a savepoint each) and its one
fsync (synchronous=FULL), and hear back only after it (`group_commit`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from oxstore.meta.group_commit import GroupCommitter, WriteLock
from oxstore.meta.sqlite_migrate import migrate_typed_schema
from oxstore.meta.store import COUNTER_TABLES, COUNTERS, TABLES, Counts, Range

T = TypeVar("T")

# 1-4: the typed tables of earlier releases (migrated at open); 5: the model's tables;
# 6: the leases table; 7: owners and access keys; 8: usage counters and quotas; 9: limits;
# 10: usage statistics
SCHEMA_VERSION = 11
_COLUMNS = [f"c{n}" for n in range(COUNTERS)]
_ADD = {
    table: f"INSERT INTO cnt_{table} (k, {', '.join(_COLUMNS)}) VALUES (?{', ?' * COUNTERS})"
    f" ON CONFLICT (k) DO UPDATE SET {', '.join(f'{c} = {c} + excluded.{c}' for c in _COLUMNS)}"
    for table in COUNTER_TABLES
}


def sql_table(table: str) -> str:
    return f"cnt_{table}" if table in COUNTER_TABLES else f"kv_{table}"


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
        self.db.execute(f"DELETE FROM {sql_table(table)} WHERE k = ?", (key,))

    def add(self, table: str, key: bytes, deltas: Sequence[int]) -> None:
        padded = [*deltas, *[0] * (COUNTERS - len(deltas))]
        self.db.execute(_ADD[table], (key, *padded))

    def counts(self, table: str, start: bytes, end: bytes) -> list[tuple[bytes, Counts]]:
        rows = self.db.execute(
            f"SELECT k, {', '.join(_COLUMNS)} FROM cnt_{table} WHERE k >= ? AND k < ? ORDER BY k",
            (start, end),
        )
        return [(row[0], tuple(row[1:])) for row in rows]

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

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._write_lock = WriteLock(path + ".lock")
        self._group = GroupCommitter(self._open, self._write_lock)
        self.schema = SCHEMA_VERSION
        self.store_id = ""  # the database's own id (set by _create_schema)
        self.schema_found = 0  # the schema version the file had when opened (0: new)
        self._create_schema()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            isolation_level=None,  # autocommit; transactions are explicit
            # close() closes every thread's connection; the writer's COMMIT runs on a thread
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        return db

    def _db(self) -> sqlite3.Connection:
        """This thread's connection for reads (a new one after a fork: connections never
        cross one)."""
        local = self._local
        pid = os.getpid()
        db: sqlite3.Connection | None = getattr(local, "db", None)
        if db is None or local.pid != pid:
            db = self._open()
            local.db = db
            local.pid = pid
            with self._lock:
                self._connections.append((pid, db))
        return db

    async def read(self, work: Callable[[SqliteTx], T], large: bool = False) -> T:
        """On the event loop: no round trip to wait for. A large read (a listing) runs on a
        thread so that the loop serves other requests meanwhile."""
        if large:
            return await asyncio.to_thread(self.read_here, work)
        return self.read_here(work)

    def read_here(self, work: Callable[[SqliteTx], T]) -> T:
        """The read, on this thread's connection."""
        db = self._db()
        db.execute("BEGIN")
        try:
            return work(SqliteTx(db))
        finally:
            db.execute("COMMIT")

    async def first_rows(self, ranges: Sequence[Range]) -> list[tuple[bytes, bytes] | None]:
        return self.read_here(lambda tx: [_first(tx, *where) for where in ranges])

    async def write(self, work: Callable[[SqliteTx], T]) -> T:
        return await self._group.run(lambda db: work(SqliteTx(db)))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write outside group commit (the schema, at open)."""
        db = self._db()
        self._write_lock.acquire()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            self._write_lock.release()

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            self.store_id = _store_id(db)
            row = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            version = self.schema_found = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: metadata schema {version} is newer than this oxstore "
                    f"(schema {SCHEMA_VERSION})"
                )
            if version == SCHEMA_VERSION:
                return
            for table in TABLES:
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS kv_{table} (k BLOB PRIMARY KEY, v BLOB NOT NULL)"
                    " WITHOUT ROWID"
                )
            for table in COUNTER_TABLES:
                columns = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in _COLUMNS)
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS cnt_{table} (k BLOB PRIMARY KEY, {columns})"
                    " WITHOUT ROWID"
                )
            if 0 < version < 5:
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
        self._group.close()


def _store_id(db: sqlite3.Connection) -> str:
    """The database's own random id, made once (what a data directory is bound to)."""
    db.execute(
        "INSERT OR IGNORE INTO meta (name, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,)
    )
    return str(db.execute("SELECT value FROM meta WHERE name = 'store_id'").fetchone()[0])


def _first(tx: SqliteTx, table: str, start: bytes, end: bytes) -> tuple[bytes, bytes] | None:
    if end == start + b"\0":  # one key: a lookup, cheaper than a scan here
        value = tx.get(table, start)
        return (start, value) if value is not None else None
    row: tuple[bytes, bytes] | None = tx.db.execute(
        f"SELECT k, v FROM kv_{table} WHERE k >= ? AND k < ? ORDER BY k LIMIT 1", (start, end)
    ).fetchone()
    return row
