"""Scrubbing and healing sharded data: verify finds every damaged shard, heal rebuilds each one
byte for byte on drives online and leaves those offline for later, and the passes over a store
queue, heal and report."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from oxstore.data.heal import Report, heal_queued, scrub
from oxstore.data.layouts import STRIPE_SIZE, Spec
from oxstore.meta.model import Metadata
from oxstore.meta.records import Sharded
from oxstore.meta.sqlite import SqliteStore
from tests.data.test_layouts import _flip, data_store, payload_of, shard_files, write
from tests.meta.helpers import bucket_record, object_record

SIZE = 2 * STRIPE_SIZE + 333


def test_verify_and_heal_rebuild_every_damaged_shard(tmp_path: Path) -> None:
    store = data_store(tmp_path, 4)
    data_id, layout, _ = write(store, Spec(2, 2), payload_of(SIZE))
    assert isinstance(layout, Sharded)
    files = shard_files(store, data_id, layout)
    whole = [f.read_bytes() for f in files]
    assert store.verify(data_id, layout, SIZE) == []
    files[0].unlink()
    _flip(files[3], len(whole[3]) - 10)  # the last block of a parity shard
    assert store.verify(data_id, layout, SIZE) == [0, 3]
    assert store.heal(data_id, layout, SIZE) == ([0, 3], [])
    assert [f.read_bytes() for f in files] == whole
    assert store.verify(data_id, layout, SIZE) == []


def test_a_shard_on_a_drive_offline_waits(tmp_path: Path) -> None:
    store = data_store(tmp_path, 4)
    data_id, layout, _ = write(store, Spec(2, 2), payload_of(SIZE))
    assert isinstance(layout, Sharded)
    files = shard_files(store, data_id, layout)
    files[1].unlink()
    store.drives[layout.drives[2]].marker.unlink()  # and another drive is gone
    store.drives.forget()
    assert store.heal(data_id, layout, SIZE) == ([1], [2])
    assert files[1].exists()


def test_beyond_parity_heal_fails(tmp_path: Path) -> None:
    store = data_store(tmp_path, 3)
    data_id, layout, _ = write(store, Spec(2, 1), payload_of(SIZE))
    assert isinstance(layout, Sharded)
    for f in shard_files(store, data_id, layout)[:2]:
        os.truncate(f, 100)
    with pytest.raises(Exception):  # noqa: B017 - the native error of lost data
        store.heal(data_id, layout, SIZE)


def test_a_scrub_pass_queues_heals_and_reports(tmp_path: Path) -> None:
    store = data_store(tmp_path, 4)
    meta = Metadata(SqliteStore(str(tmp_path / "meta.sqlite3")))
    store.damaged = meta.queue_heal

    written = [write(store, Spec(2, 2), payload_of(SIZE + n))[:2] for n in range(5)]
    ids = [data_id for data_id, _ in written]

    async def scenario() -> tuple[Report, Report]:
        await meta.create_bucket(bucket_record("b"))
        for n, (data_id, layout) in enumerate(written):
            record = object_record("b", f"k{n}", data_id=data_id, size=SIZE + n, layout=layout)
            await meta.put_object(record)
        for data_id in ids[:2]:
            os.unlink(store.drives[1].file(data_id))
        first = await scrub(meta, store)
        return first, await scrub(meta, store)

    try:
        first, second = asyncio.run(scenario())
    finally:
        meta.store.close()
    assert (first.checked, first.damaged, first.healed, first.lost) == (5, 2, 2, [])
    assert (second.checked, second.damaged, second.healed) == (5, 0, 0)
    assert all(os.path.exists(store.drives[1].file(i)) for i in ids)


def test_entries_of_data_gone_leave_the_queue_after_the_grace(tmp_path: Path) -> None:
    store = data_store(tmp_path, 4)
    meta = Metadata(SqliteStore(str(tmp_path / "meta.sqlite3")))
    layout = Sharded(k=2, m=2, stripe=STRIPE_SIZE, drives=(0, 1, 2, 3))

    async def scenario() -> tuple[int, int]:
        await meta.queue_heal("0" * 32, layout, 10)  # nothing references it
        await heal_queued(meta, store, 0.0, Report())  # within the grace: kept
        kept = len(await meta.heal_pending("", 10))
        await heal_queued(meta, store, 1e12, Report())
        return kept, len(await meta.heal_pending("", 10))

    try:
        assert asyncio.run(scenario()) == (1, 0)
    finally:
        meta.store.close()
