"""Fixtures of the metadata tests. Every backend in BACKENDS runs the seam's suite and the
model's tests; what only one backend does is tested in its own module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from oxstore.meta.model import Metadata
from oxstore.meta.postgres import PostgresStore
from oxstore.meta.sqlite import SqliteStore
from oxstore.meta.store import Store
from tests.meta.helpers import Blocking, bucket_record

OpenStore = Callable[[], Store]
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "meta.sqlite3")


@pytest.fixture(params=BACKENDS)
def open_store(request: pytest.FixtureRequest, db_path: str) -> Iterator[OpenStore]:
    """Opens a store over one backing database, fresh for the test: every call opens another
    Store over the same data (as another worker process would)."""
    opened: list[Store] = []
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres").new_database()

    def open_one() -> Store:
        if request.param == "postgres":
            opened.append(PostgresStore(dsn, pool_size=8))
        else:
            opened.append(SqliteStore(db_path))
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def meta(open_store: OpenStore) -> Iterator[Blocking]:
    """The metadata model over a fresh store, called without an event loop."""
    blocking = Blocking(Metadata(open_store()))
    yield blocking
    blocking.close()


@pytest.fixture
def bucket(meta: Blocking) -> str:
    meta.create_bucket(bucket_record("bkt"))
    return "bkt"
