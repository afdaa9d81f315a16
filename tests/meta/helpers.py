"""Record builders, a blocking face of the metadata model and a brute-force model of S3's
listing, shared by the metadata tests."""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from oxstore.meta.model import Metadata
from oxstore.meta.records import PLAIN, BucketRecord, Layout, ObjectRecord
from oxstore.meta.sqlite import SqliteStore
from oxstore.meta.store import Tx
from tests.listing_model import model, utf8

T = TypeVar("T")

__all__ = [
    "Blocking",
    "CountingTx",
    "bucket_record",
    "model",
    "object_record",
    "open_sqlite",
    "utf8",
]


class Blocking:
    """Metadata's coroutines called from plain test code and its threads: every thread (of
    every process: a forked copy included) runs them to completion on an event loop of its
    own, as each server worker does."""

    def __init__(self, meta: Metadata) -> None:
        self.meta = meta
        self.store = meta.store
        self._loops: dict[tuple[int, int], asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()

    def _loop(self) -> asyncio.AbstractEventLoop:
        place = (os.getpid(), threading.get_ident())
        with self._lock:
            loop = self._loops.get(place)
            if loop is None:
                loop = self._loops[place] = asyncio.new_event_loop()
        return loop

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.meta, name)
        if not inspect.iscoroutinefunction(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop().run_until_complete(method(*args, **kwargs))

        return call

    def snapshot(self, work: Callable[[Tx], T]) -> T:
        """A read straight through the store (on this thread, for SQLite)."""
        return self._loop().run_until_complete(self.store.read(work))

    def write(self, work: Callable[[Tx], T]) -> T:
        """A write straight through the store."""
        return self._loop().run_until_complete(self.store.write(work))

    def close(self) -> None:
        with self._lock:
            for (pid, _), loop in self._loops.items():
                if pid == os.getpid():
                    loop.close()
            self._loops.clear()
        self.meta.close()


def open_sqlite(path: str) -> Blocking:
    return Blocking(Metadata(SqliteStore(path)))


def bucket_record(name: str, owner: str = "OWNER") -> BucketRecord:
    return BucketRecord(name=name, owner=owner, created=time.time(), region="us-east-1")


def object_record(
    bucket: str,
    key: str,
    data_id: str = "",
    inline: bytes | None = None,
    size: int = 0,
    layout: Layout = PLAIN,
) -> ObjectRecord:
    return ObjectRecord(
        layout=layout,
        bucket=bucket,
        key=key,
        size=len(inline) if inline is not None else size,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        last_modified=time.time(),
        content_type="application/octet-stream",
        data_id=data_id,
        inline=inline,
    )


class CountingTx:
    """A transaction that counts what a walk over it reads: scans started, rows read."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.scans = 0
        self.rows = 0
        self.gets = 0

    def get(self, table: str, key: bytes) -> bytes | None:
        self.gets += 1
        return self.tx.get(table, key)

    def put(self, table: str, key: bytes, value: bytes) -> None:
        self.tx.put(table, key, value)

    def delete(self, table: str, key: bytes) -> None:
        self.tx.delete(table, key)

    def scan(
        self,
        table: str,
        start: bytes,
        end: bytes | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        self.scans += 1
        for row in self.tx.scan(table, start, end, limit, reverse):
            self.rows += 1
            yield row
