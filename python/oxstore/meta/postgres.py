"""The scale-out metadata store: the model's tables in PostgreSQL (or a database that speaks
its protocol and SQL: CockroachDB, YugabyteDB), shared by any number of gateways.

Each table of the model is a `kv_<name> (k bytea PRIMARY KEY, v bytea)`: bytea compares
bytewise, the model's order. The model's work is a plain function of a Tx, so it runs on a
thread of this store's pool with a psycopg connection in pipeline mode: a write's statements
(and its BEGIN and COMMIT) go out without waiting, and only a read waits for the server.
Writes are SERIALIZABLE and run again after a serialization failure or a deadlock (SQLSTATE
40001, 40P01); reads see one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from oxstore.meta.store import TABLES

try:
    import psycopg
    from psycopg import errors, pq
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - said to the operator who asked for PostgreSQL
    raise ImportError(
        "a postgresql:// metadata store needs psycopg: pip install 'oxstore[postgres]'"
    ) from exc

T = TypeVar("T")

SCHEMA_VERSION = 1
POOL_SIZE = 16  # connections (and threads) per process
ATTEMPTS = 30  # runs of a write that keeps meeting serialization failures
RETRYABLE = (errors.SerializationFailure, errors.DeadlockDetected)
FIRST_PAGE = 32  # rows a scan without a limit fetches first; each next page is twice as big
MAX_PAGE = 1024
BEGIN_WRITE = "BEGIN ISOLATION LEVEL SERIALIZABLE"
BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class PostgresTx:
    """A transaction on one connection in pipeline mode; the caller began it."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.fetched = 0  # rows the scans fetched from the server (tests count them)

    def get(self, table: str, key: bytes) -> bytes | None:
        cursor = self.conn.execute(f"SELECT v FROM kv_{table} WHERE k = %b", (key,), binary=True)
        row = cursor.fetchone()
        return bytes(row[0]) if row is not None else None

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.conn.execute(
            f"INSERT INTO kv_{table} (k, v) VALUES (%b, %b)"
            " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            (key, value),
        )

    def delete(self, table: str, key: bytes) -> None:
        self.conn.execute(f"DELETE FROM kv_{table} WHERE k = %b", (key,))

    def scan(
        self,
        table: str,
        start: bytes,
        end: bytes | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Pages of rows, each a query from where the last one stopped: a walk that stops
        early (a listing rolling keys up) fetched little more than it used."""
        low, high, left = start, end, limit
        page = FIRST_PAGE if limit is None else min(limit, MAX_PAGE)
        while left is None or left > 0:
            size = page if left is None else min(page, left)
            rows = self._page(table, low, high, size, reverse)
            self.fetched += len(rows)
            yield from rows
            if len(rows) < size:
                return
            if reverse:
                high = rows[-1][0]
            else:
                low = rows[-1][0] + b"\x00"  # the smallest key after the last one
            if left is not None:
                left -= len(rows)
            page = min(page * 2, MAX_PAGE)

    def _page(
        self, table: str, low: bytes, high: bytes | None, size: int, reverse: bool
    ) -> list[tuple[bytes, bytes]]:
        sql = f"SELECT k, v FROM kv_{table} WHERE k >= %b"
        args: list[object] = [low]
        if high is not None:
            sql += " AND k < %b"
            args.append(high)
        sql += (" ORDER BY k DESC" if reverse else " ORDER BY k") + " LIMIT %b"
        args.append(size)
        cursor = self.conn.execute(sql, args, binary=True)
        return [(bytes(k), bytes(v)) for k, v in cursor.fetchall()]


class PostgresStore:
    """The Store over one PostgreSQL database (a libpq connection string or URL)."""

    def __init__(self, dsn: str, pool_size: int = POOL_SIZE) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._lock = threading.Lock()
        self._pid = 0
        self._pool: ConnectionPool[Any] | None = None
        self._threads: ThreadPoolExecutor | None = None
        self.schema = SCHEMA_VERSION
        self.store_id = ""  # the database's own id (set by _create_schema)
        self.schema_found = 0  # the schema version the database had when opened (0: new)
        self._create_schema()

    def _for_this_process(self) -> tuple[ConnectionPool[Any], ThreadPoolExecutor]:
        """The pool and threads of this process (a forked worker opens its own)."""
        with self._lock:
            if self._pool is None or self._threads is None or self._pid != os.getpid():
                self._pool = ConnectionPool(
                    self.dsn,
                    min_size=1,
                    max_size=self.pool_size,
                    # transactions are explicit (BEGIN ... COMMIT); no server-side prepared
                    # statements: a pipeline aborted by a serialization failure can leave
                    # psycopg believing in one the server dropped
                    kwargs={"autocommit": True, "prepare_threshold": None},
                    open=True,
                )
                self._threads = ThreadPoolExecutor(self.pool_size, "postgres")
                self._pid = os.getpid()
            return self._pool, self._threads

    async def read(self, work: Callable[[PostgresTx], T], large: bool = False) -> T:
        _, threads = self._for_this_process()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(threads, self._run, BEGIN_READ, work)

    async def write(self, work: Callable[[PostgresTx], T]) -> T:
        _, threads = self._for_this_process()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(threads, self._run, BEGIN_WRITE, work)

    def _run(self, begin: str, work: Callable[[PostgresTx], T]) -> T:
        """One transaction, run again (with a random, growing pause) while the database
        refuses it as not serializable."""
        pool, _ = self._for_this_process()
        for attempt in range(ATTEMPTS):
            with pool.connection() as conn:
                try:
                    return _transaction(conn, begin, work)
                except RETRYABLE:
                    if attempt == ATTEMPTS - 1:
                        raise
            time.sleep(random.uniform(0, min(0.001 * 2**attempt, 0.1)))
        raise AssertionError("unreachable")

    def _create_schema(self) -> None:
        """Creates or upgrades the tables, once however many gateways start together (a
        concurrent upgrade is a serialization failure here: run again, it finds it done)."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for attempt in range(ATTEMPTS):
                try:
                    _transaction(conn, BEGIN_WRITE, lambda tx: self._schema(conn))
                    return
                except (*RETRYABLE, errors.UniqueViolation, errors.DuplicateTable):
                    if attempt == ATTEMPTS - 1:
                        raise
                    time.sleep(random.uniform(0, 0.05))

    def _schema(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS oxstore_schema (name text PRIMARY KEY, value text NOT NULL)"
        )
        conn.execute(
            "INSERT INTO oxstore_schema (name, value) VALUES ('store_id', %s)"
            " ON CONFLICT (name) DO NOTHING",
            (uuid.uuid4().hex,),
        )
        row = conn.execute("SELECT value FROM oxstore_schema WHERE name = 'store_id'").fetchone()
        self.store_id = str(row[0]) if row else ""
        row = conn.execute("SELECT value FROM oxstore_schema WHERE name = 'version'").fetchone()
        version = self.schema_found = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the PostgreSQL metadata schema is {version}, newer than this oxstore's "
                f"({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        for table in TABLES:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS kv_{table} (k bytea PRIMARY KEY, v bytea NOT NULL)"
            )
        conn.execute(
            "INSERT INTO oxstore_schema (name, value) VALUES ('version', %s)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            if self._threads is not None and self._pid == os.getpid():
                self._threads.shutdown(wait=False)
            self._pool = self._threads = None


def _transaction(conn: psycopg.Connection[Any], begin: str, work: Callable[[PostgresTx], T]) -> T:
    """work in one transaction, its statements pipelined; whatever it raises rolls it back."""
    try:
        with conn.pipeline() as pipeline:
            try:
                conn.execute(begin)
                result = work(PostgresTx(conn))
                conn.execute("COMMIT")
            except BaseException:
                # the statements queued after a failed one answer "pipeline aborted": take
                # those answers here, so that leaving the pipeline raises (and logs) nothing
                with contextlib.suppress(psycopg.Error):
                    pipeline.sync()
                raise
        return result
    except BaseException:
        # a broken connection cannot roll back: the pool drops it, the server aborts it
        with contextlib.suppress(psycopg.Error):
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        raise
