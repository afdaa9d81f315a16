"""Buckets, objects, garbage, records and schema of the SQLite metadata store."""

from __future__ import annotations

import sqlite3
import time

import msgspec
import pytest

from oxstore.meta.keys import after_prefix
from oxstore.meta.records import BucketRecord, ObjectRecord, decode_object, encode_record
from oxstore.meta.sqlite import SCHEMA_VERSION, SqliteMetaStore
from oxstore.meta.store import BucketExistsError, MetaStore, NoSuchBucketError
from tests.meta.helpers import bucket_record, object_record


def test_implements_the_protocol(store: SqliteMetaStore) -> None:
    meta: MetaStore = store  # checked by type checkers; the attributes at run time
    for name in MetaStore.__dict__:
        if not name.startswith("_"):
            assert callable(getattr(meta, name)), name


def test_pragmas(store: SqliteMetaStore) -> None:
    db = store._db()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    schema = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
    assert schema == str(SCHEMA_VERSION)


# -- buckets -----------------------------------------------------------------------------------


def test_bucket_crud(store: SqliteMetaStore) -> None:
    assert store.get_bucket("b1") is None
    rec = bucket_record("b1", owner="ALICE")
    store.create_bucket(rec)
    assert store.get_bucket("b1") == rec
    with pytest.raises(BucketExistsError) as info:
        store.create_bucket(bucket_record("b1", owner="BOB"))
    assert info.value.owner == "ALICE"
    assert store.get_bucket("b1") == rec  # unchanged


def test_list_and_count_buckets(store: SqliteMetaStore) -> None:
    for name, owner in [("zeta", "A"), ("alpha", "B"), ("mid", "A"), ("beta", "A")]:
        store.create_bucket(bucket_record(name, owner))
    assert [b.name for b in store.list_buckets("A")] == ["beta", "mid", "zeta"]
    assert [b.name for b in store.list_buckets("B")] == ["alpha"]
    assert [b.name for b in store.list_buckets(None)] == ["alpha", "beta", "mid", "zeta"]
    assert store.list_buckets("nobody") == []
    assert store.count_buckets("A") == 3
    assert store.count_buckets("nobody") == 0


def test_delete_bucket(store: SqliteMetaStore) -> None:
    assert store.delete_bucket("b") == "missing"
    store.create_bucket(bucket_record("b"))
    store.put_object(object_record("b", "k"))
    assert store.delete_bucket("b") == "not_empty"
    store.delete_object("b", "k")
    assert store.delete_bucket("b") == "deleted"
    assert store.get_bucket("b") is None
    assert store.delete_bucket("b") == "missing"


def test_bucket_settings_round_trip(store: SqliteMetaStore) -> None:
    rec = bucket_record("b")
    store.create_bucket(rec)

    def change(bucket: BucketRecord) -> None:
        bucket.versioning = "Enabled"
        bucket.acl = "[]"
        bucket.cors = "[]"
        bucket.tags = {"a": "1"}

    changed = store.change_bucket("b", change)
    assert changed is not None and store.get_bucket("b") == changed
    assert changed.owner == rec.owner and changed.tags == {"a": "1"}
    assert store.change_bucket("nope", change) is None


# -- objects -----------------------------------------------------------------------------------


def test_object_crud(store: SqliteMetaStore, bucket: str) -> None:
    assert store.get_object(bucket, "k") is None
    rec = ObjectRecord(
        bucket=bucket,
        key="dir/k",
        size=10,
        etag="0123456789abcdef0123456789abcdef-3",
        last_modified=1700000000.5,
        content_type="text/plain",
        headers={"content-encoding": "gzip", "cache-control": "no-cache"},
        user_meta={"color": "blue", "ünïcode": "välue"},
        checksums={"crc32": "AAAAAA=="},
        storage_class="REDUCED_REDUNDANCY",
        owner="OWNER",
        data_id="d1",
    )
    assert store.put_object(rec) is None
    assert store.get_object(bucket, "dir/k") == rec
    assert store.get_object(bucket, "dir") is None
    assert store.get_object("other", "dir/k") is None
    assert store.delete_object(bucket, "dir/k") == rec
    assert store.get_object(bucket, "dir/k") is None
    assert store.delete_object(bucket, "dir/k") is None


def test_put_into_missing_bucket(store: SqliteMetaStore) -> None:
    with pytest.raises(NoSuchBucketError):
        store.put_object(object_record("ghost", "k"))
    store.create_bucket(bucket_record("b"))
    assert store.delete_bucket("b") == "deleted"
    with pytest.raises(NoSuchBucketError):  # deleted meanwhile
        store.put_object(object_record("b", "k", data_id="d"))
    assert store.take_garbage(time.time() + 1, 10) == []


def test_replace_returns_the_old_record(store: SqliteMetaStore, bucket: str) -> None:
    first = object_record(bucket, "k", data_id="d1", size=5)
    second = object_record(bucket, "k", data_id="d2", size=7)
    assert store.put_object(first) is None
    assert store.put_object(second) == first
    assert store.get_object(bucket, "k") == second


def test_inline_payloads(store: SqliteMetaStore, bucket: str) -> None:
    small = object_record(bucket, "k", inline=b"hello")
    empty = object_record(bucket, "e", inline=b"")
    store.put_object(small)
    store.put_object(empty)
    assert store.get_object(bucket, "k") == small
    got = store.get_object(bucket, "e")
    assert got is not None and got.inline == b""
    # replacing inline by inline reuses the payload row; by a data file drops it
    old = store.put_object(object_record(bucket, "k", inline=b"bye"))
    assert old is not None and old.inline is None and old.size == 5
    assert store.get_object(bucket, "k").inline == b"bye"  # type: ignore[union-attr]
    store.put_object(object_record(bucket, "k", data_id="d9", size=100))
    rec = store.get_object(bucket, "k")
    assert rec is not None and rec.inline is None and rec.data_id == "d9"
    store.delete_object(bucket, "e")
    db = store._db()
    assert db.execute("SELECT count(*) FROM payloads").fetchone()[0] == 0
    # listings never carry payloads
    store.put_object(object_record(bucket, "x", inline=b"data"))
    page = store.list_objects(bucket)
    assert [(o.key, o.inline) for o in page.contents] == [("k", None), ("x", None)]


def test_unusual_keys_round_trip(store: SqliteMetaStore, bucket: str) -> None:
    keys = ["é", "😀/x", "\ud800lone", "\udc80", "a\x00b", "\uffff", " ", "a" * 1024]
    for key in keys:
        store.put_object(object_record(bucket, key, inline=key.encode("utf-8", "surrogatepass")))
    for key in keys:
        rec = store.get_object(bucket, key)
        assert rec is not None and rec.key == key and rec.bucket == bucket
    listed = [o.key for o in store.list_objects(bucket).contents]
    assert listed == sorted(keys)  # code point order == UTF-8 byte order


def test_records_are_versioned_maps() -> None:
    rec = object_record("b", "k", data_id="d")
    raw = encode_record(rec)
    as_map = msgspec.msgpack.decode(raw)
    assert as_map["format"] == 1
    # a newer writer's unknown field is ignored; a missing optional field takes its default
    as_map["future_field"] = [1, 2]
    del as_map["storage_class"]
    again = decode_object(msgspec.msgpack.encode(as_map))
    assert again == rec
    bucket = BucketRecord(name="b", owner="o", created=1.0, region="r")
    assert msgspec.msgpack.decode(encode_record(bucket))["format"] == 1


# -- garbage -----------------------------------------------------------------------------------


def test_garbage_from_replace_and_delete(store: SqliteMetaStore, bucket: str) -> None:
    store.put_object(object_record(bucket, "k", data_id="d1"))
    assert store.is_data_referenced("d1")
    assert not store.is_data_referenced("d2")
    store.put_object(object_record(bucket, "k", data_id="d2"))  # d1 orphaned
    store.put_object(object_record(bucket, "k", data_id="d2"))  # same data: nothing orphaned
    store.put_object(object_record(bucket, "j", data_id="d3"))
    store.delete_object(bucket, "j")  # d3 orphaned
    store.put_object(object_record(bucket, "k", inline=b"x"))  # d2 orphaned
    store.put_object(object_record(bucket, "k", inline=b"y"))  # inline: nothing orphaned
    later = time.time() + 1
    assert sorted(store.take_garbage(later, 100)) == ["d1", "d2", "d3"]
    assert store.take_garbage(0.0, 100) == []  # nothing that old
    assert len(store.take_garbage(later, 2)) == 2
    assert store.take_garbage(later, 100) == store.take_garbage(later, 100)  # taking is a read
    assert store.is_data_referenced("d1")  # queued garbage counts as referenced
    assert sorted(store.claim_garbage(later, 100)) == ["d1", "d2", "d3"]  # claimed: gone
    assert store.take_garbage(later, 100) == []
    assert not store.is_data_referenced("d1")


def test_shared_data_is_not_garbage_while_referenced(store: SqliteMetaStore, bucket: str) -> None:
    store.put_object(object_record(bucket, "a", data_id="shared"))
    store.put_object(object_record(bucket, "b", data_id="shared"))
    store.delete_object(bucket, "a")
    assert store.take_garbage(time.time() + 1, 10) == []
    store.delete_object(bucket, "b")
    assert store.take_garbage(time.time() + 1, 10) == ["shared"]


def test_garbage_is_claimed_oldest_first(store: SqliteMetaStore, bucket: str) -> None:
    for n in (1, 2, 3):
        store.put_object(object_record(bucket, f"k{n}", data_id=f"g{n}"))
    for n in (2, 1, 3):
        store.delete_object(bucket, f"k{n}")
        time.sleep(0.01)
    assert store.claim_garbage(time.time() + 1, 2) == ["g2", "g1"]
    assert store.claim_garbage(time.time() + 1, 2) == ["g3"]


def test_is_data_referenced_uses_the_index(store: SqliteMetaStore) -> None:
    plan = store._db().execute(
        "EXPLAIN QUERY PLAN SELECT 1 FROM objects WHERE data_id = ? AND data_id != '' LIMIT 1",
        ("x",),
    )
    assert "objects_by_data" in " ".join(str(r) for r in plan)


# -- schema ------------------------------------------------------------------------------------


def test_reopen_keeps_data(db_path: str) -> None:
    first = SqliteMetaStore(db_path)
    first.create_bucket(bucket_record("b"))
    first.put_object(object_record("b", "k", inline=b"v"))
    first.close()
    second = SqliteMetaStore(db_path)
    assert second.get_object("b", "k").inline == b"v"  # type: ignore[union-attr]
    second.close()


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
    store = SqliteMetaStore(db_path)
    assert store.get_object("b", "k") == rec
    assert store.put_object(object_record("b", "k", inline=b"x")) == rec
    assert store.get_object("b", "k").inline == b"x"  # type: ignore[union-attr]
    assert store.take_garbage(time.time() + 1, 10) == ["d1"]
    store.close()


def test_refuses_a_newer_schema(db_path: str) -> None:
    SqliteMetaStore(db_path).close()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("UPDATE meta SET value = '99' WHERE name = 'schema'")
    db.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteMetaStore(db_path)


def test_after_prefix() -> None:
    assert after_prefix(b"") is None
    assert after_prefix(b"a") == b"b"
    assert after_prefix(b"a/") == b"a0"
    assert after_prefix(b"a\xff\xff") == b"b"
    assert after_prefix(b"\xff") is None
    assert after_prefix("é".encode()) == b"\xc3\xaa"
    assert after_prefix("\U0010ffff".encode()) == b"\xf4\x8f\xbf\xc0"
    for text in ["é", "😀", "\uffff", "\U0010ffff", "a/"]:
        upper = after_prefix(text.encode())
        assert upper is not None
        for tail in ["", "\x00", "z", "\U0010ffff" * 3]:
            assert (text + tail).encode() < upper


def test_a_copy_onto_itself_keeps_its_shared_data(store: SqliteMetaStore, bucket: str) -> None:
    store.put_object(object_record(bucket, "k", data_id="d1", size=10))
    store.put_object(object_record(bucket, "k", data_id="d1", size=10), shares_data=True)
    assert store.take_garbage(time.time() + 1, 10) == []
    assert store.is_data_referenced("d1")
    store.put_object(object_record(bucket, "k", data_id="d2", size=10))
    assert store.take_garbage(time.time() + 1, 10) == ["d1"]
