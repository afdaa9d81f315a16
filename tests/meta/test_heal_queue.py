"""The heal queue and the scrub's walk over sharded data, on every backend: entries persist
across stores (a restart), keep their first age, leave when healed; the walk pages through
objects, versions and parts and finds exactly the sharded data."""

from __future__ import annotations

from oxstore.meta.model import Metadata
from oxstore.meta.model.heal import DATA_TABLES
from oxstore.meta.records import Plain, Sharded
from tests.meta.conftest import OpenStore
from tests.meta.helpers import Blocking, object_record

LAYOUT = Sharded(k=2, m=2, stripe=1 << 20, drives=(0, 1, 2, 3))


def test_entries_persist_keep_their_age_and_leave_when_healed(
    meta: Blocking, open_store: OpenStore
) -> None:
    meta.queue_heal("b" * 32, LAYOUT, 10)
    meta.queue_heal("a" * 32, LAYOUT, 20)
    first = meta.heal_pending("", 10)
    meta.queue_heal("a" * 32, LAYOUT, 20)  # again: one entry, its first age
    again = Blocking(Metadata(open_store()))  # another store over the same data: a restart
    try:
        assert again.heal_pending("", 10) == first
        assert [i for i, _ in first] == ["a" * 32, "b" * 32]
        assert first[0][1].layout == LAYOUT and first[0][1].size == 20
        assert again.heal_pending("a" * 32, 10) == first[1:]
        again.healed("a" * 32)
        assert [i for i, _ in meta.heal_pending("", 10)] == ["b" * 32]
    finally:
        again.close()


def test_the_walk_finds_every_sharded_data(meta: Blocking, bucket: str) -> None:
    for n in range(7):
        meta.put_object(object_record(bucket, f"k{n}", data_id=f"{n:032x}", layout=LAYOUT))
    meta.put_object(object_record(bucket, "plain", data_id="f" * 32))  # no sums: not verifiable
    summed = Plain(drive=0, sums=True)
    meta.put_object(object_record(bucket, "summed", data_id="e" * 32, layout=summed))
    found = []
    for table in DATA_TABLES:
        after = b""
        while True:
            page, last = meta.verifiable_data(table, after, 3)
            found += page
            if last is None:
                break
            after = last
    assert sorted(i for i, _, _, _ in found) == [f"{n:032x}" for n in range(7)] + ["e" * 32]
    assert {layout for _, layout, _, _ in found} == {LAYOUT, summed}
    assert all(envelope is None for *_, envelope in found)
