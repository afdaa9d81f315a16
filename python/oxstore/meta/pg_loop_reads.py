"""The first_rows() reads of one event loop, on one PostgreSQL connection of their own, sent and
answered on the loop itself: no thread hop, and any number in flight at once (libpq's pipeline
mode, nonblocking). Each statement is followed by a sync point, so each runs in a transaction
of its own: one statement, one snapshot. Answers come back in the order the statements went
out; each goes to the future waiting for it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

import psycopg
from psycopg import pq

from oxstore.meta.pg_pipeline import FORMAT_BINARY, PostgresError, connect_pipelined, error_of


@dataclass
class _Due:
    """A statement sent and not yet answered up to its sync point."""

    future: asyncio.Future[pq.abc.PGresult] | None  # None: a statement's preparation
    name: bytes
    result: pq.abc.PGresult | None = None
    error: PostgresError | None = field(default=None)


class LoopReads:
    def __init__(self, dsn: str, loop: asyncio.AbstractEventLoop) -> None:
        self.pg = connect_pipelined(dsn)
        self.pg.nonblocking = 1
        self.loop = loop
        self._lost = False
        self._due: deque[_Due] = deque()
        self._prepared: set[bytes] = set()
        self._socket = self.pg.socket
        loop.add_reader(self._socket, self._readable)

    @property
    def broken(self) -> bool:
        return self._lost or self.pg.status != pq.ConnStatus.OK

    def fetch(
        self, name: bytes, sql: bytes, types: list[int], params: list[bytes]
    ) -> asyncio.Future[pq.abc.PGresult]:
        """Sends the statement (prepared here on first use); its rows, when they come."""
        try:
            if name not in self._prepared:
                self.pg.send_prepare(name, sql, types)
                self.pg.pipeline_sync()
                self._due.append(_Due(None, name))
                self._prepared.add(name)
            self.pg.send_query_prepared(
                name, params, [FORMAT_BINARY] * len(params), result_format=FORMAT_BINARY
            )
            self.pg.pipeline_sync()
            self._flush()
        except psycopg.OperationalError as exc:
            self._fail(str(exc))
            raise PostgresError("08006", f"PostgreSQL connection lost: {exc}") from exc
        future: asyncio.Future[pq.abc.PGresult] = self.loop.create_future()
        self._due.append(_Due(future, name))
        return future

    def close(self) -> None:
        self._fail("closed")

    def _flush(self) -> None:
        if self.pg.flush() == 1:  # the socket's buffer is full: the rest when it drains
            self.loop.add_writer(self._socket, self._writable)

    def _writable(self) -> None:
        try:
            if self.pg.flush() == 0:
                self.loop.remove_writer(self._socket)
        except psycopg.OperationalError as exc:
            self._fail(str(exc))

    def _readable(self) -> None:
        try:
            self.pg.consume_input()
            ended = False  # the last result was a statement's end (two in a row: none due)
            while self._due and not self.pg.is_busy():
                result = self.pg.get_result()
                if result is None:
                    if ended:
                        break
                    ended = True
                    continue
                ended = False
                self._take(result)
        except psycopg.OperationalError as exc:
            self._fail(str(exc))

    def _take(self, result: pq.abc.PGresult) -> None:
        due = self._due[0]
        if result.status != pq.ExecStatus.PIPELINE_SYNC:
            if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
                due.result = result
            elif due.error is None:
                due.error = error_of(result)
            return
        self._due.popleft()
        if due.future is None:
            if due.error is not None:  # not prepared: the next fetch prepares it again
                self._prepared.discard(due.name)
            return
        if due.future.done():
            return
        if due.error is not None or due.result is None:
            due.future.set_exception(due.error or PostgresError("08P01", "no result"))
        else:
            due.future.set_result(due.result)

    def _fail(self, why: str) -> None:
        """The connection is gone: every read waiting on it fails, and it is closed."""
        if self._lost:
            return
        self._lost = True
        error = PostgresError("08006", f"PostgreSQL connection lost: {why}")
        while self._due:
            due = self._due.popleft()
            if due.future is not None and not due.future.done():
                due.future.set_exception(error)
        if not self.loop.is_closed():
            self.loop.remove_reader(self._socket)
            self.loop.remove_writer(self._socket)
        self.pg.finish()
