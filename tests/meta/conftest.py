from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oxstore.meta.sqlite import SqliteMetaStore
from tests.meta.helpers import bucket_record


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "meta.sqlite3")


@pytest.fixture
def store(db_path: str) -> Iterator[SqliteMetaStore]:
    meta = SqliteMetaStore(db_path)
    yield meta
    meta.close()


@pytest.fixture
def bucket(store: SqliteMetaStore) -> str:
    store.create_bucket(bucket_record("bkt"))
    return "bkt"
