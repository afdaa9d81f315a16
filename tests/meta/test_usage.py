"""Bucket usage counted in each write's transaction, equal to a recount from the records;
quotas checked in the same transaction, on every backend."""

from __future__ import annotations

import threading

import msgspec
import pytest

from oxstore.meta.model import Quota, QuotaExceededError
from oxstore.meta.model.usage import COUNTED
from tests.meta.helpers import Blocking, object_record
from tests.meta.test_uploads import assemble_all, part, upload


def held(meta: Blocking, bucket: str) -> tuple[int, int]:
    usage = meta.bucket_usage(bucket)
    return usage.bytes, usage.objects


def sized(bucket: str, key: str, size: int, data_id: str = ""):  # type: ignore[no-untyped-def]
    return msgspec.structs.replace(object_record(bucket, key, data_id=data_id), size=size)


def test_writes_count_what_the_bucket_holds(meta: Blocking, bucket: str) -> None:
    meta.put_object(sized(bucket, "a", 100, "d1"))
    meta.put_object(sized(bucket, "b", 50, "d2"))
    meta.put_object(sized(bucket, "a", 30, "d3"))  # replaces 100
    assert held(meta, bucket) == (80, 2)
    meta.create_upload(upload(bucket, "m", "u1"))
    meta.put_part("u1", part(1, "p1", 40))
    meta.put_part("u1", part(1, "p2", 45))  # replaces the part
    meta.put_part("u1", part(2, "p3", 5))
    assert held(meta, bucket) == (130, 2)
    meta.complete_upload("u1", assemble_all([1]))  # part 2 dropped
    assert held(meta, bucket) == (125, 3)
    meta.change_bucket(bucket, lambda b: setattr(b, "versioning", "Enabled"))
    meta.put_object(sized(bucket, "b", 7, "d4"))  # the old b stays a version
    meta.delete_object(bucket, "a")  # a delete marker
    assert held(meta, bucket) == (132, 4)
    versions = meta.list_versions(bucket).versions
    old_b = [v for v, latest in versions if v.key == "b" and not latest][0]
    meta.delete_version(bucket, "b", old_b.version_id)
    assert held(meta, bucket) == (82, 3)
    # a recount from the records finds the same
    counted = meta.bucket_usage(bucket)
    meta.write(lambda tx: tx.delete("settings", COUNTED))
    assert meta.count_usage() == 1
    assert (meta.bucket_usage(bucket).bytes, meta.bucket_usage(bucket).objects) == (
        counted.bytes,
        counted.objects,
    )


def test_a_write_past_the_quota_changes_nothing(meta: Blocking, bucket: str) -> None:
    quota = Quota(bucket=100, owner_id="OWNER", owner=0)
    meta.put_object(sized(bucket, "a", 60, "d1"), quota=quota)
    with pytest.raises(QuotaExceededError):
        meta.put_object(sized(bucket, "b", 50, "d2"), quota=quota)
    assert meta.get_object(bucket, "b") is None and held(meta, bucket) == (60, 1)
    meta.put_object(sized(bucket, "a", 90, "d3"), quota=quota)  # an overwrite that fits
    assert held(meta, bucket) == (90, 1)
    owner = Quota(bucket=0, owner_id="OWNER", owner=100)
    with pytest.raises(QuotaExceededError):
        meta.put_object(sized(bucket, "c", 20, "d4"), quota=owner)


def test_concurrent_writes_never_pass_the_quota_together(meta: Blocking, bucket: str) -> None:
    """Eight writers of 30 bytes each into 100 bytes of quota: three fit, whoever they are."""
    quota = Quota(bucket=100, owner_id="OWNER", owner=0)
    results: list[bool] = []

    def write(n: int) -> None:
        try:
            meta.put_object(sized(bucket, f"k{n}", 30, f"d{n}"), quota=quota)
            results.append(True)
        except QuotaExceededError:
            results.append(False)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3 and held(meta, bucket) == (90, 3)


def test_hourly_statistics_are_sampled_from_the_counters(meta: Blocking, bucket: str) -> None:
    from oxstore.meta.model import usage

    hour = 3600.0
    start = 500_000 * hour
    meta.put_object(sized(bucket, "a", 100, "d1"))
    meta.write(lambda tx: usage.roll_up(tx, bucket, start))
    meta.put_object(sized(bucket, "b", 50, "d2"))
    meta.write(lambda tx: usage.roll_up(tx, bucket, start + 0.5 * hour))  # 150 held
    meta.delete_object(bucket, "b")
    meta.write(lambda tx: usage.roll_up(tx, bucket, start + 0.9 * hour))  # 100 held
    stats = meta.snapshot(lambda tx: usage._stats(tx, bucket))
    assert stats == (150, 0, 500_000, 100)  # the hour's most, no whole hour passed yet
    meta.write(lambda tx: usage.roll_up(tx, bucket, start + 3.2 * hour))
    hmax, integral, at, last = meta.snapshot(lambda tx: usage._stats(tx, bucket))
    assert (hmax, integral, at, last) == (100, 300, 500_003, 100)  # 100 bytes for 3 hours


def test_every_buckets_statistics_are_sampled_at_once(meta: Blocking, bucket: str) -> None:
    from oxstore.meta.model import usage
    from tests.meta.helpers import bucket_record

    meta.create_bucket(bucket_record("other"))
    meta.put_object(sized("other", "k", 70, "d1"))
    meta.roll_up_usage(1_800_000_000.0)
    for name, size in ((bucket, 0), ("other", 70)):
        assert meta.snapshot(lambda tx, name=name: usage._stats(tx, name))[3] == size
