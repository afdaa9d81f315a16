"""Object versions in the metadata model: states, delete markers, promotion, listing order."""

from __future__ import annotations

import uuid

from oxstore.meta.model.listing import VersionListing
from oxstore.meta.model.objects import seq_in_version_id
from oxstore.meta.records import BucketRecord, VersionPage
from oxstore.meta.store import Tx
from tests.meta.helpers import Blocking, CountingTx, object_record

LATER = 1e12


def _versioning(meta: Blocking, bucket: str, state: str) -> None:
    def change(record: BucketRecord) -> None:
        record.versioning = state

    meta.change_bucket(bucket, change)


def test_enabled_suspended_and_promotion(meta: Blocking, bucket: str) -> None:
    _versioning(meta, bucket, "Enabled")
    first = object_record(bucket, "k", data_id="d1")
    second = object_record(bucket, "k", data_id="d2")
    meta.put_object(first)
    meta.put_object(second)
    assert first.version_id != second.version_id and second.seq > first.seq
    marker = meta.delete_object(bucket, "k")
    assert marker is not None and marker.delete_marker
    assert meta.get_object(bucket, "k") is None
    assert meta.latest_delete_marker(bucket, "k") == marker
    meta.delete_version(bucket, "k", marker.version_id)
    assert meta.get_object(bucket, "k").version_id == second.version_id  # type: ignore[union-attr]
    meta.delete_version(bucket, "k", second.version_id)
    assert meta.get_object(bucket, "k").version_id == first.version_id  # type: ignore[union-attr]
    assert meta.take_garbage(LATER, 10) == ["d2"]
    _versioning(meta, bucket, "Suspended")
    null_one = object_record(bucket, "k", data_id="n1")
    meta.put_object(null_one)
    meta.put_object(object_record(bucket, "k", data_id="n2"))
    assert null_one.version_id == "null"
    page = meta.list_versions(bucket)
    assert [(r.version_id, latest) for r, latest in page.versions] == [
        ("null", True),
        (first.version_id, False),
    ]
    assert sorted(meta.take_garbage(LATER, 10)) == ["d2", "n1"]
    assert meta.delete_bucket(bucket) == "not_empty"


def test_version_listing_reads_what_it_lists(meta: Blocking, bucket: str) -> None:
    """A page of ListObjectVersions never reads the bucket's versions to sort them: the
    current ones and the older ones are read in key order, lazily, and merged."""
    _versioning(meta, bucket, "Enabled")
    for n in range(40):
        for _ in range(3):
            meta.put_object(object_record(bucket, f"k{n:02d}", data_id="d"))
    counted: list[CountingTx] = []

    def page(tx: Tx) -> VersionPage:
        counted.append(CountingTx(tx))
        return VersionListing(counted[-1], bucket, "", "").page("k10", "", 5)

    got = meta.snapshot(page)
    assert [(r.key, latest) for r, latest in got.versions] == [
        ("k11", True),
        ("k11", False),
        ("k11", False),
        ("k12", True),
        ("k12", False),
    ]
    assert counted[0].rows <= 5 + 2 and counted[0].scans <= 2


def test_version_ids_carry_their_place(meta: Blocking, bucket: str) -> None:
    """A marker naming a version deleted since: the page goes on below where it stood."""
    _versioning(meta, bucket, "Enabled")
    records = [object_record(bucket, "k", data_id=f"d{n}") for n in range(4)]
    for record in records:
        meta.put_object(record)
    assert all(seq_in_version_id(r.version_id) == r.seq for r in records)
    assert seq_in_version_id("null") is None
    assert seq_in_version_id(uuid.uuid4().hex) is None  # ids of older servers
    meta.delete_version(bucket, "k", records[2].version_id)
    page = meta.list_versions(bucket, key_marker="k", version_id_marker=records[2].version_id)
    assert [(r.version_id, latest) for r, latest in page.versions] == [
        (records[1].version_id, False),
        (records[0].version_id, False),
    ]
    meta.delete_version(bucket, "k", records[3].version_id)  # records[1] becomes current
    page = meta.list_versions(bucket, key_marker="k", version_id_marker=records[3].version_id)
    assert [(r.version_id, latest) for r, latest in page.versions] == [
        (records[1].version_id, True),
        (records[0].version_id, False),
    ]
