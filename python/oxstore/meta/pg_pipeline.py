"""One PostgreSQL connection driven through libpq's pipeline mode (psycopg's `pq` layer, without
its cursors: they cost four times the CPU of the statement itself here).

The statements of the model's few kinds (get, put, delete and four scans per table) are
prepared once per connection. A statement goes out when it is made; a thread waits only for
a result it needs (a get, a scan page, a commit), in select() with the GIL released, and then
takes the results of everything queued before it.
"""

from __future__ import annotations

import contextlib
import select
import struct
from collections.abc import Iterator

import psycopg
from psycopg import pq

BYTEA, INT8 = 17, 20
FORMAT_BINARY = 1
RETRYABLE_STATES = ("40001", "40P01")  # serialization failure, deadlock detected
_INT8 = struct.Struct(">q")
_FAILED = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED, pq.ExecStatus.BAD_RESPONSE)


class PostgresError(Exception):
    """What the server (or the connection) refused, with its SQLSTATE."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{message} (SQLSTATE {sqlstate})" if sqlstate else message)
        self.sqlstate = sqlstate

    @property
    def retryable(self) -> bool:
        """The transaction may succeed when run again."""
        return self.sqlstate in RETRYABLE_STATES


def statements(
    tables: tuple[str, ...], counter_tables: tuple[str, ...] = (), counters: int = 0
) -> dict[bytes, tuple[bytes, list[int]]]:
    """name -> (SQL, parameter types) of every prepared statement."""
    prepared: dict[bytes, tuple[str, list[int]]] = {}
    columns = [f"c{n}" for n in range(counters)]
    for table in counter_tables:
        cnt = f"cnt_{table}"
        prepared[statement("add", table)] = (
            f"INSERT INTO {cnt} (k, {', '.join(columns)}) VALUES "
            f"($1, {', '.join(f'${n + 2}' for n in range(counters))}) ON CONFLICT (k) DO UPDATE "
            f"SET {', '.join(f'{c} = {cnt}.{c} + excluded.{c}' for c in columns)}",
            [BYTEA] + [INT8] * counters,
        )
        prepared[statement("counts", table)] = (
            f"SELECT k, {', '.join(columns)} FROM {cnt} WHERE k >= $1 AND k < $2 ORDER BY k",
            [BYTEA, BYTEA],
        )
        prepared[statement("delete", table)] = (f"DELETE FROM {cnt} WHERE k = $1", [BYTEA])
    for table in tables:
        kv = f"kv_{table}"
        prepared[statement("get", table)] = (f"SELECT v FROM {kv} WHERE k = $1", [BYTEA])
        prepared[statement("put", table)] = (
            f"INSERT INTO {kv} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            [BYTEA, BYTEA],
        )
        prepared[statement("delete", table)] = (f"DELETE FROM {kv} WHERE k = $1", [BYTEA])
        for order in ("", " DESC"):
            prepared[statement("scan" + order, table)] = (
                f"SELECT k, v FROM {kv} WHERE k >= $1 ORDER BY k{order} LIMIT $2",
                [BYTEA, INT8],
            )
            prepared[statement("scan_to" + order, table)] = (
                f"SELECT k, v FROM {kv} WHERE k >= $1 AND k < $2 ORDER BY k{order} LIMIT $3",
                [BYTEA, BYTEA, INT8],
            )
    return {name: (sql.encode(), types) for name, (sql, types) in prepared.items()}


def first_rows_statement(tables: tuple[str, ...]) -> tuple[bytes, bytes, list[int]]:
    """name, SQL and parameter types of the one statement reading the first row of a range
    in each table (its rows tagged with the range's place: int4, then key and value)."""
    selects = [
        f"SELECT {n}, k, v FROM (SELECT k, v FROM kv_{table} WHERE k >= ${2 * n + 1}"
        f" AND k < ${2 * n + 2} ORDER BY k LIMIT 1) AS r{n}"
        for n, table in enumerate(tables)
    ]
    name = ("first:" + ",".join(tables)).encode()
    return name, " UNION ALL ".join(selects).encode(), [BYTEA] * (2 * len(tables))


def statement(kind: str, table: str) -> bytes:
    return f"{kind.replace(' ', '_')}:{table}".encode()


def int8(value: int) -> bytes:
    return _INT8.pack(value)


def connect_pipelined(dsn: str) -> pq.abc.PGconn:
    """A libpq connection in pipeline mode; PostgresError when there is none to have."""
    pg = pq.PGconn.connect(dsn.encode())
    if pg.status != pq.ConnStatus.OK:
        message = pg.error_message.decode(errors="replace").strip()
        pg.finish()
        raise PostgresError("08001", f"cannot connect to PostgreSQL: {message}")
    pg.enter_pipeline_mode()
    return pg


class PipelineConnection:
    def __init__(self, dsn: str, prepared: dict[bytes, tuple[bytes, list[int]]]) -> None:
        self.pg = connect_pipelined(dsn)
        self._unread = 0  # statements sent whose results are not taken yet
        self._syncs = 0  # sync points sent and not reached yet
        self._lost = False  # the connection failed under a pipeline: it is closed
        self.committing = False  # a write's COMMIT went out (its outcome is the server's)
        for name, (sql, types) in prepared.items():
            self.pg.send_prepare(name, sql, types)
            self._unread += 1
        self.sync()

    @property
    def broken(self) -> bool:
        return self._lost or self.pg.status != pq.ConnStatus.OK

    @property
    def idle(self) -> bool:
        """No transaction is open (none began, or it ended)."""
        return self.pg.transaction_status == pq.TransactionStatus.IDLE

    def send(self, name: bytes, params: list[bytes]) -> None:
        """Queues a prepared statement; its result is taken (and checked) later."""
        with self._sending():
            self.pg.send_query_prepared(
                name, params, [FORMAT_BINARY] * len(params), result_format=FORMAT_BINARY
            )
        self._unread += 1

    def send_command(self, sql: bytes) -> None:
        """Queues a command without parameters (BEGIN, COMMIT, ROLLBACK)."""
        with self._sending():
            self.pg.send_query_params(sql, None)
        self._unread += 1

    def fetch(self, name: bytes, params: list[bytes]) -> pq.abc.PGresult:
        """Runs a prepared statement and returns its rows, after the results of everything
        queued before it (the first error among them is raised)."""
        self.send(name, params)
        with self._sending():
            self.pg.send_flush_request()
            self.pg.flush()
        results = self._take(self._unread)
        return results[-1]

    def sync(self) -> None:
        """Waits for everything queued (a COMMIT: until it is durable); raises the first error."""
        self.sync_later()
        self.settle(raise_errors=True)

    def sync_later(self) -> None:
        """Sends a sync point without waiting for it (a read-only transaction's COMMIT)."""
        with self._sending():
            self.pg.pipeline_sync()
            self.pg.flush()
        self._syncs += 1

    def settle(self, raise_errors: bool = False) -> None:
        """Takes every result still due, up to the last sync point sent."""
        error: PostgresError | None = None
        while (self._unread or self._syncs) and not self.broken:
            try:
                if self._unread:
                    self._take(self._unread)
                else:
                    self._reach_sync()
            except PostgresError as failed:
                error = error or failed
        if error is not None and raise_errors:
            raise error

    def abandon(self) -> None:
        """After a failure inside a transaction: everything queued taken, the transaction
        rolled back, the connection ready for the next one."""
        try:
            if self.broken:
                return
            self.sync_later()
            self.settle()
            if not self.idle:
                self.send_command(b"ROLLBACK")
                self.sync()
        except (PostgresError, psycopg.OperationalError):
            if not self._lost:
                self._lose("while rolling back")

    def close(self) -> None:
        if not self._lost:
            self.pg.finish()

    def _take(self, count: int) -> list[pq.abc.PGresult]:
        """The results of the next `count` statements; the first failure raised once all
        are taken (the statements after a failed one answer "pipeline aborted")."""
        results, error = [], None
        for _ in range(count):
            result = self._next()
            if result is None or self._next() is not None:
                raise self._lose("no single result for a statement")
            self._unread -= 1
            if result.status in _FAILED and error is None:
                error = error_of(result)
            results.append(result)
        if error is not None:
            raise error
        return results

    def _reach_sync(self) -> None:
        """Sync points follow the statements before them: this is called with none unread."""
        result = self._next()
        if result is None or result.status != pq.ExecStatus.PIPELINE_SYNC:
            raise self._lose("no sync point where one was due")
        self._syncs -= 1

    def _next(self) -> pq.abc.PGresult | None:
        """The next result (None ends a statement's results), waiting for it in select()."""
        try:
            while self.pg.is_busy():
                select.select([self.pg.socket], [], [])
                self.pg.consume_input()
            return self.pg.get_result()
        except (OSError, psycopg.OperationalError) as exc:
            raise self._lose(str(exc)) from exc

    @contextlib.contextmanager
    def _sending(self) -> Iterator[None]:
        """Around a libpq call that writes to the server: its failure loses the connection."""
        try:
            yield
        except psycopg.OperationalError as exc:
            raise self._lose(str(exc)) from exc

    def _lose(self, what: str) -> PostgresError:
        """The connection cannot be trusted any more (it failed, or answered out of order):
        closed, and the error to raise."""
        message = self.pg.error_message.decode(errors="replace").strip()
        self._lost = True
        self._unread = self._syncs = 0
        with contextlib.suppress(psycopg.Error):
            self.pg.finish()
        return PostgresError("08006", f"PostgreSQL connection lost: {what}: {message}")


def error_of(result: pq.abc.PGresult) -> PostgresError:
    if result.status == pq.ExecStatus.PIPELINE_ABORTED:
        return PostgresError("", "statement not run: an earlier one in its pipeline failed")
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE) or b""
    return PostgresError(sqlstate.decode(), result.error_message.decode(errors="replace").strip())
