"""What only the SQLite store does: its settings, its schema, migrating the typed schemas of
earlier releases, and the SQL its scans run."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxstore.meta.records import PartRecord, encode_record
from oxstore.meta.sqlite import SCHEMA_VERSION
from oxstore.meta.store import COUNTER_TABLES, TABLES
from tests.meta.helpers import Blocking, bucket_record, object_record, open_sqlite

LATER = 1e12
SCHEMA_4 = Path(__file__).parent / "data" / "schema4.sqlite3"


@pytest.fixture
def meta(db_path: str) -> Iterator[Blocking]:
    """These tests are about SQLite: the model over it, whatever BACKENDS hold."""
    blocking = open_sqlite(db_path)
    yield blocking
    blocking.close()


def test_settings_and_tables(meta: Blocking) -> None:
    db = meta.store._db()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    schema = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
    assert schema == str(SCHEMA_VERSION)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta"} | {f"kv_{table}" for table in TABLES} | {
        f"cnt_{table}" for table in COUNTER_TABLES
    }


def test_reopen_keeps_data(db_path: str) -> None:
    first = open_sqlite(db_path)
    first.create_bucket(bucket_record("b"))
    first.put_object(object_record("b", "k", inline=b"v"))
    first.close()
    second = open_sqlite(db_path)
    assert second.get_object("b", "k").inline == b"v"  # type: ignore[union-attr]
    second.close()


def test_a_write_waits_for_a_foreign_writer(meta: Blocking, db_path: str) -> None:
    """Something that is not oxstore (the sqlite3 shell, a backup) holding SQLite's write lock:
    a write waits for it, off the event loop, and then commits."""
    meta.create_bucket(bucket_record("b"))
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, other.execute, ("COMMIT",))
    timer.start()
    started = time.monotonic()
    meta.put_object(object_record("b", "k", inline=b"v"))
    assert time.monotonic() - started >= 0.25
    timer.join()
    other.close()
    assert meta.get_object("b", "k").inline == b"v"  # type: ignore[union-attr]


def test_refuses_a_newer_schema(db_path: str) -> None:
    open_sqlite(db_path).close()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("UPDATE meta SET value = '99' WHERE name = 'schema'")
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        open_sqlite(db_path)


def test_migrates_schema_1(db_path: str) -> None:
    db = sqlite3.connect(db_path, isolation_level=None)
    db.executescript(
        """
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE buckets (name TEXT PRIMARY KEY, owner TEXT NOT NULL, record BLOB NOT NULL);
        CREATE INDEX buckets_by_owner ON buckets (owner);
        CREATE TABLE objects (
            bucket TEXT NOT NULL, key BLOB NOT NULL, data_id TEXT NOT NULL, record BLOB NOT NULL,
            PRIMARY KEY (bucket, key)) WITHOUT ROWID;
        CREATE INDEX objects_by_data ON objects (data_id) WHERE data_id != '';
        CREATE TABLE garbage (data_id TEXT PRIMARY KEY, since REAL NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        """
    )
    rec = object_record("b", "k", data_id="d1")
    db.execute(
        "INSERT INTO buckets VALUES (?, ?, ?)", ("b", "O", encode_record(bucket_record("b", "O")))
    )
    db.execute("INSERT INTO objects VALUES (?, ?, ?, ?)", ("b", b"k", "d1", encode_record(rec)))
    db.close()
    meta = open_sqlite(db_path)
    assert meta.get_object("b", "k") == rec
    assert meta.put_object(object_record("b", "k", inline=b"x")) == rec
    assert meta.get_object("b", "k").inline == b"x"  # type: ignore[union-attr]
    assert meta.take_garbage(time.time() + 1, 10) == ["d1"]
    meta.close()


@pytest.fixture
def migrated(tmp_path: Path) -> Blocking:
    """A database the previous release (schema 4) wrote, opened by this one.

    It was made through that release's store: buckets "plain" (unversioned) and "versioned"
    (Enabled, then Suspended); in "plain" inline objects, a data file, two copies sharing
    "shared", a deleted object whose "old-data" is garbage, upload "upload-open" (parts 1-2 in
    "open-p1", "open-p2") and the multipart object "big/done" of upload "upload-done"; in
    "versioned" key "k" with, newest first, a null version, v3 (file), a delete marker, v2
    (inline) and v1 (file), and key "only-marker" whose newest version is a delete marker.
    """
    path = tmp_path / "meta.sqlite3"
    shutil.copy(SCHEMA_4, path)
    return open_sqlite(str(path))


def test_migrates_schema_4(migrated: Blocking) -> None:
    meta = migrated
    db = meta.store._db()
    assert db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta"} | {f"kv_{table}" for table in TABLES} | {
        f"cnt_{table}" for table in COUNTER_TABLES
    }
    plain, versioned = meta.list_buckets(None)
    assert (plain.name, plain.owner, plain.tags) == ("plain", "ALICE", {"team": "a"})
    assert (versioned.owner, versioned.versioning, versioned.region) == ("BOB", "Suspended", "eu-1")
    listed = [o.key for o in meta.list_objects("plain").contents]
    assert listed == ["big/done", "café/😀", "copy-a", "copy-b", "dir/file.bin", "inline.txt"]
    assert meta.get_object("plain", "inline.txt").inline == b"hello"  # type: ignore[union-attr]
    assert meta.get_object("plain", "café/😀").inline == b""  # type: ignore[union-attr]
    file = meta.get_object("plain", "dir/file.bin")
    assert file is not None and file.data_id == "data-file" and file.user_meta == {"color": "blue"}
    assert meta.take_garbage(LATER, 10) == ["old-data"]


def test_migrated_versions(migrated: Blocking) -> None:
    meta = migrated
    page = meta.list_versions("versioned")
    got = [(r.key, r.delete_marker, r.data_id, latest) for r, latest in page.versions]
    assert got == [
        ("k", False, "", True),
        ("k", False, "v3-data", False),
        ("k", True, "", False),
        ("k", False, "", False),
        ("k", False, "v1-data", False),
        ("only-marker", True, "", True),
        ("only-marker", False, "", False),
    ]
    assert meta.get_object("versioned", "k").inline == b"null-version"  # type: ignore[union-attr]
    v2 = page.versions[3][0]
    assert meta.get_version("versioned", "k", v2.version_id).inline == b"v2"  # type: ignore[union-attr]
    assert meta.latest_delete_marker("versioned", "only-marker") is not None
    # the versions carry their order: deleting the current one promotes v3
    meta.delete_version("versioned", "k", "null")
    assert meta.get_object("versioned", "k").data_id == "v3-data"  # type: ignore[union-attr]


def test_migrated_references_and_uploads(migrated: Blocking) -> None:
    meta = migrated
    meta.claim_garbage(LATER, 10)
    meta.delete_object("plain", "copy-a")
    assert meta.take_garbage(LATER, 10) == []  # copy-b still references "shared"
    meta.delete_object("plain", "copy-b")
    assert meta.take_garbage(LATER, 10) == ["shared"]
    assert [u.upload_id for u in meta.list_uploads("plain").uploads] == ["upload-open"]
    assert [p.data_id for p in meta.list_parts("upload-open")] == ["open-p1", "open-p2"]
    assert [p.data_id for p in meta.list_parts("upload-done")] == ["done-p1", "done-p2"]
    meta.put_part(
        "upload-open",
        PartRecord(number=1, data_id="open-p1b", size=5, etag="2" * 32, last_modified=1.0),
    )
    meta.abort_upload("upload-open")
    meta.delete_object("plain", "big/done")
    claimed = meta.claim_garbage(LATER, 10)
    expected = ["shared", "open-p1", "open-p1b", "open-p2", "upload-done", "done-p1", "done-p2"]
    assert sorted(claimed) == sorted(expected)
    assert not any(meta.is_data_referenced(d) for d in expected)
    assert meta.is_data_referenced("data-file")


def test_scans_are_ranges_of_the_primary_key(meta: Blocking) -> None:
    db = meta.store._db()
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        meta.store.read_here(lambda tx: list(tx.scan("objects", b"pre", b"prf", 10)))
        meta.store.read_here(lambda tx: list(tx.scan("versions", b"pre", None, 10, reverse=True)))
    finally:
        db.set_trace_callback(None)
    scans = [s for s in statements if s.startswith("SELECT")]
    assert len(scans) == 2
    for sql in scans:
        plan = " ".join(str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SEARCH" in plan and "PRIMARY KEY" in plan and "TEMP B-TREE" not in plan, plan
