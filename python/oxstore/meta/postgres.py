"""The scale-out metadata store: the model's tables in PostgreSQL (or a database that speaks
its protocol and SQL: CockroachDB, YugabyteDB), shared by any number of gateways.

Each table of the model is a `kv_<name> (k bytea PRIMARY KEY, v bytea)`, each counter table a
`cnt_<name> (k bytea PRIMARY KEY, c0 ... c5 int8)`: bytea compares bytewise, the model's order.
The model's work is a plain function of a Tx, so it runs on a thread of this store's own, each
with a pipelined connection (`pg_pipeline`): statements go out without waiting, and only a read
of a row waits for the server.

Writes are SERIALIZABLE and run again after a serialization failure or a deadlock (SQLSTATE
40001, 40P01). The writes a process makes while its write transaction is in flight share the
next one, a savepoint each (as the embedded store's group commit does): they never conflict
with each other, only with other processes and gateways. Reads see one REPEATABLE READ
snapshot and do not wait for their COMMIT; first_rows() (what GET and HEAD read) is one
statement sent from the event loop itself (`pg_loop_reads`).
"""

from __future__ import annotations

import asyncio
import os
import random
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from oxstore.meta.store import COUNTER_TABLES, COUNTERS, TABLES, Counts, Range

try:
    import psycopg
    from psycopg import errors, pq

    from oxstore.meta.pg_loop_reads import LoopReads
    from oxstore.meta.pg_pipeline import (
        PipelineConnection,
        PostgresError,
        first_rows_statement,
        int8,
        statement,
        statements,
    )
except ImportError as exc:  # pragma: no cover - said to the operator who asked for PostgreSQL
    raise ImportError(
        "a postgresql:// metadata store needs psycopg: pip install 'oxstore[postgres]'"
    ) from exc

T = TypeVar("T")
Waiting = tuple[Callable[["PostgresTx"], Any], "Future[Any]"]  # a write and who waits for it

# 1: the model's tables; 2: owners and access keys; 3: usage counters and quotas; 4: limits;
# 5: usage statistics
SCHEMA_VERSION = 6
POOL_SIZE = 8  # connections (and threads) per process
ATTEMPTS = 30  # runs of a write that keeps meeting serialization failures
_INT4 = struct.Struct(">i")
_INT8 = struct.Struct(">q")
FIRST_PAGE = 32  # rows a scan without a limit fetches first; each next page is twice as big
MAX_PAGE = 1024
BEGIN_WRITE = b"BEGIN ISOLATION LEVEL SERIALIZABLE"
BEGIN_READ = b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"


class PostgresTx:
    """A transaction on one pipelined connection; the caller began it.

    It remembers the rows it read and wrote: within one snapshot a row read again is the
    same (or what this transaction wrote), so no second round trip is needed for it.
    """

    def __init__(self, conn: PipelineConnection) -> None:
        self.conn = conn
        self.fetched = 0  # rows the scans fetched from the server (tests count them)
        self.known: dict[tuple[str, bytes], bytes | None] = {}

    def get(self, table: str, key: bytes) -> bytes | None:
        if (table, key) in self.known:
            return self.known[table, key]
        result = self.conn.fetch(GET[table], [key])
        value = result.get_value(0, 0) if result.ntuples else None
        self.known[table, key] = value
        return value

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.conn.send(PUT[table], [key, value])
        self.known[table, key] = value

    def delete(self, table: str, key: bytes) -> None:
        self.conn.send(DELETE[table], [key])
        self.known[table, key] = None

    def add(self, table: str, key: bytes, deltas: Sequence[int]) -> None:
        padded = [*deltas, *[0] * (COUNTERS - len(deltas))]
        self.conn.send(ADD[table], [key, *(int8(d) for d in padded)])

    def counts(self, table: str, start: bytes, end: bytes) -> list[tuple[bytes, Counts]]:
        result = self.conn.fetch(COUNTS[table], [start, end])
        return [
            (
                result.get_value(n, 0) or b"",
                tuple(_INT8.unpack(result.get_value(n, c + 1) or b"")[0] for c in range(COUNTERS)),
            )
            for n in range(result.ntuples)
        ]

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
        kind = ("scan" if high is None else "scan_to") + (" DESC" if reverse else "")
        bounds = [low] if high is None else [low, high]
        result = self.conn.fetch(statement(kind, table), [*bounds, int8(size)])
        return [_row(result, n) for n in range(result.ntuples)]


def _first_rows_found(result: pq.abc.PGresult, ranges: int) -> list[tuple[bytes, bytes] | None]:
    """first_rows_statement()'s rows, each in its range's place."""
    found: list[tuple[bytes, bytes] | None] = [None] * ranges
    for n in range(result.ntuples):
        place = _INT4.unpack(result.get_value(n, 0) or b"")[0]
        found[place] = (result.get_value(n, 1) or b"", result.get_value(n, 2) or b"")
    return found


def _row(result: pq.abc.PGresult, n: int) -> tuple[bytes, bytes]:
    return result.get_value(n, 0) or b"", result.get_value(n, 1) or b""


GET = {table: statement("get", table) for table in TABLES}
PUT = {table: statement("put", table) for table in TABLES}
DELETE = {table: statement("delete", table) for table in TABLES + COUNTER_TABLES}
ADD = {table: statement("add", table) for table in COUNTER_TABLES}
COUNTS = {table: statement("counts", table) for table in COUNTER_TABLES}
PREPARED = statements(TABLES, COUNTER_TABLES, COUNTERS)


class PostgresStore:
    """The Store over one PostgreSQL database (a libpq connection string or URL)."""

    def __init__(self, dsn: str, pool_size: int = POOL_SIZE) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._lock = threading.Lock()
        self._pid = 0
        self._local = threading.local()
        self._connections: list[PipelineConnection] = []
        self._threads: ThreadPoolExecutor | None = None
        self._reads: dict[asyncio.AbstractEventLoop, LoopReads] = {}  # first_rows, per loop
        self._waiting: list[Waiting] = []  # writes for the next transaction
        self._writing = False  # a thread runs the waiting writes
        self.schema = SCHEMA_VERSION
        self.store_id = ""  # the database's own id (set by _create_schema)
        self.schema_found = 0  # the schema version the database had when opened (0: new)
        self._create_schema()

    def _threads_here(self) -> ThreadPoolExecutor:
        """This process's threads (a forked worker starts its own), each with a connection."""
        with self._lock:
            if self._threads is None or self._pid != os.getpid():
                self._threads = ThreadPoolExecutor(self.pool_size, "postgres")
                self._connections = []
                self._reads = {}
                self._local = threading.local()
                self._pid = os.getpid()
            return self._threads

    def _connection(self) -> PipelineConnection:
        """This thread's connection, opened (again) when it has none that works."""
        conn: PipelineConnection | None = getattr(self._local, "conn", None)
        if conn is None or conn.broken:
            conn = PipelineConnection(self.dsn, PREPARED)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def read(self, work: Callable[[PostgresTx], T], large: bool = False) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads_here(), self._read, work)

    async def first_rows(self, ranges: Sequence[Range]) -> list[tuple[bytes, bytes] | None]:
        """One statement, outside any transaction (a statement is one snapshot), sent from
        the event loop on its own connection; run again on a new one if that one is lost (a
        read changes nothing)."""
        name, sql, types = first_rows_statement(tuple(table for table, _, _ in ranges))
        params = [bound for _, start, end in ranges for bound in (start, end)]
        reads = self._loop_reads()
        try:
            result = await reads.fetch(name, sql, types, params)
        except PostgresError:
            if not reads.broken:
                raise
            # it was lost (a restarted server): once more, on a new connection
            result = await self._loop_reads().fetch(name, sql, types, params)
        return _first_rows_found(result, len(ranges))

    def _loop_reads(self) -> LoopReads:
        """The running loop's connection for first_rows() (a new one after it was lost)."""
        loop = asyncio.get_running_loop()
        self._threads_here()  # (forgets a parent's connections after a fork)
        reads = self._reads.get(loop)
        if reads is None or reads.broken:
            if reads is not None:
                reads.close()  # (its reader off the loop, the answers it still owed failed)
            reads = self._reads[loop] = LoopReads(self.dsn, loop)
        return reads

    async def write(self, work: Callable[[PostgresTx], T]) -> T:
        """Writes made while this process's transaction is in flight wait and share the next
        one (a savepoint each): concurrent writes of one gateway never conflict with each
        other, and share round trips and the commit's flush."""
        done: Future[T] = Future()
        with self._lock:
            self._waiting.append((work, done))
            start, self._writing = not self._writing, True
        if start:
            self._threads_here().submit(self._write_batches)
        return await asyncio.wrap_future(done)

    def _write_batches(self) -> None:
        """Runs the waiting writes, a batch per transaction, until none wait."""
        while True:
            with self._lock:
                batch, self._waiting = self._waiting, []
                if not batch:
                    self._writing = False
                    return
            self._write_batch(batch)

    def _write_batch(self, batch: list[Waiting]) -> None:
        for attempt in range(ATTEMPTS):
            conn = self._connection()
            try:
                outcomes = _batch_transaction(conn, [w for w, _ in batch])
            except PostgresError as error:
                # a connection found lost before its COMMIT went out committed nothing
                lost_before_commit = conn.broken and not conn.committing and attempt == 0
                if (error.retryable or lost_before_commit) and attempt < ATTEMPTS - 1:
                    _pause(attempt)
                    continue
                if len(batch) > 1 and not conn.broken:
                    for waiting in batch:  # one write's statement failed: alone, each tells
                        self._write_batch([waiting])
                    return
                # (a connection lost during COMMIT leaves its outcome unknown: not run again)
                outcomes = [error] * len(batch)
            except BaseException as error:
                outcomes = [error] * len(batch)
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)
            return

    def _read(self, work: Callable[[PostgresTx], T]) -> T:
        """A read; run again on a new connection when the one it had was found lost (a
        restarted server: a read changes nothing, so running it twice is harmless)."""
        for attempt in range(ATTEMPTS):
            conn = self._connection()
            try:
                return _read_transaction(conn, work)
            except PostgresError as error:
                lost = conn.broken and attempt == 0
                if not (lost or error.retryable) or attempt == ATTEMPTS - 1:
                    raise
            _pause(attempt)
        raise AssertionError("unreachable")

    def _create_schema(self) -> None:
        """Creates or upgrades the tables, once however many gateways start together (a
        concurrent upgrade is a serialization failure here: run again, it finds it done)."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for attempt in range(ATTEMPTS):
                try:
                    with conn.transaction():
                        conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                        self._schema(conn)
                    return
                except (
                    errors.SerializationFailure,
                    errors.DeadlockDetected,
                    errors.UniqueViolation,
                    errors.DuplicateTable,
                ):
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
        columns = ", ".join(f"c{n} int8 NOT NULL DEFAULT 0" for n in range(COUNTERS))
        for table in COUNTER_TABLES:
            conn.execute(f"CREATE TABLE IF NOT EXISTS cnt_{table} (k bytea PRIMARY KEY, {columns})")
        conn.execute(
            "INSERT INTO oxstore_schema (name, value) VALUES ('version', %s)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                for conn in self._connections:
                    conn.close()
                for reads in self._reads.values():
                    reads.close()
                if self._threads is not None:
                    self._threads.shutdown(wait=False)
            self._reads = {}
            self._connections = []
            self._threads = None
            self._local = threading.local()


def _batch_transaction(
    conn: PipelineConnection, works: list[Callable[[PostgresTx], Any]]
) -> list[Any]:
    """The works in one SERIALIZABLE transaction, each inside a savepoint: what one raises
    undoes its own statements only. Returns each one's result or exception once the COMMIT
    is durable; a failure of the database (a serialization failure) is raised for all."""
    conn.settle()
    conn.committing = False
    conn.send_command(BEGIN_WRITE)
    tx = PostgresTx(conn)
    outcomes: list[Any] = []
    try:
        for work in works:
            conn.send_command(b"SAVEPOINT w")
            try:
                outcomes.append(work(tx))
            except PostgresError:
                raise
            except Exception as refused:  # the model's answer (NoSuchBucket, a condition)
                conn.send_command(b"ROLLBACK TO SAVEPOINT w")
                tx.known.clear()  # it may have remembered what it wrote
                outcomes.append(refused)
            conn.send_command(b"RELEASE SAVEPOINT w")
        conn.committing = True
        conn.send_command(b"COMMIT")
        conn.sync()
    except BaseException:
        conn.abandon()
        raise
    return outcomes


def _read_transaction(conn: PipelineConnection, work: Callable[[PostgresTx], T]) -> T:
    """work in one read-only transaction, its statements pipelined. Its COMMIT (which only
    ends its snapshot) is not waited for: it is taken with the connection's next transaction.
    Whatever work raises ends it too."""
    conn.settle()  # the COMMIT of the read before, if any
    conn.send_command(BEGIN_READ)
    try:
        result = work(PostgresTx(conn))
        conn.send_command(b"COMMIT")
        conn.sync_later()
    except BaseException:
        conn.abandon()
        raise
    return result


def _pause(attempt: int) -> None:
    """Before running a transaction again: a random pause, growing with the attempts."""
    time.sleep(random.uniform(0, min(0.001 * 2**attempt, 0.1)))
