"""Object versions in the SQLite store: states, delete markers, promotion, listing order."""

from __future__ import annotations

import uuid

from oxstore.meta.records import BucketRecord
from oxstore.meta.sqlite import SqliteMetaStore
from oxstore.meta.sqlite_versions import seq_in_version_id
from tests.meta.helpers import object_record

LATER = 1e12


def _versioning(store: SqliteMetaStore, bucket: str, state: str) -> None:
    def change(record: BucketRecord) -> None:
        record.versioning = state

    store.change_bucket(bucket, change)


def test_enabled_suspended_and_promotion(store: SqliteMetaStore, bucket: str) -> None:
    _versioning(store, bucket, "Enabled")
    first = object_record(bucket, "k", data_id="d1")
    second = object_record(bucket, "k", data_id="d2")
    store.put_object(first)
    store.put_object(second)
    assert first.version_id != second.version_id and second.seq > first.seq
    marker = store.delete_object(bucket, "k")
    assert marker is not None and marker.delete_marker
    assert store.get_object(bucket, "k") is None
    assert store.latest_delete_marker(bucket, "k") == marker
    store.delete_version(bucket, "k", marker.version_id)
    assert store.get_object(bucket, "k").version_id == second.version_id  # type: ignore[union-attr]
    store.delete_version(bucket, "k", second.version_id)
    assert store.get_object(bucket, "k").version_id == first.version_id  # type: ignore[union-attr]
    assert store.take_garbage(LATER, 10) == ["d2"]
    _versioning(store, bucket, "Suspended")
    null_one = object_record(bucket, "k", data_id="n1")
    store.put_object(null_one)
    store.put_object(object_record(bucket, "k", data_id="n2"))
    assert null_one.version_id == "null"
    page = store.list_versions(bucket)
    assert [(r.version_id, latest) for r, latest in page.versions] == [
        ("null", True),
        (first.version_id, False),
    ]
    assert sorted(store.take_garbage(LATER, 10)) == ["d2", "n1"]
    assert store.delete_bucket(bucket) == "not_empty"


def test_version_listing_reads_in_index_order(store: SqliteMetaStore, bucket: str) -> None:
    """A page of ListObjectVersions never sorts the bucket's versions: both tables are read
    in the order of their primary keys and merged."""
    from oxstore.meta.sqlite_versions import _VersionListing

    db = store._db()
    walk = _VersionListing(db, bucket, "", "/")
    sql, args = walk.query(b"k", 5)
    plan = " ".join(str(row[3]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, args))
    assert "MERGE" in plan and "TEMP B-TREE" not in plan, plan


def test_version_ids_carry_their_place(store: SqliteMetaStore, bucket: str) -> None:
    """A marker naming a version deleted since: the page goes on below where it stood."""
    _versioning(store, bucket, "Enabled")
    records = [object_record(bucket, "k", data_id=f"d{n}") for n in range(4)]
    for record in records:
        store.put_object(record)
    assert all(seq_in_version_id(r.version_id) == r.seq for r in records)
    assert seq_in_version_id("null") is None
    assert seq_in_version_id(uuid.uuid4().hex) is None  # ids of older servers
    store.delete_version(bucket, "k", records[2].version_id)
    page = store.list_versions(bucket, key_marker="k", version_id_marker=records[2].version_id)
    assert [(r.version_id, latest) for r, latest in page.versions] == [
        (records[1].version_id, False),
        (records[0].version_id, False),
    ]
    store.delete_version(bucket, "k", records[3].version_id)  # records[1] becomes current
    page = store.list_versions(bucket, key_marker="k", version_id_marker=records[3].version_id)
    assert [(r.version_id, latest) for r, latest in page.versions] == [
        (records[1].version_id, True),
        (records[0].version_id, False),
    ]
