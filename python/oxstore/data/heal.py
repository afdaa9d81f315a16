"""Healing and scrubbing: sharded data back to full redundancy, plain data checked.

The healer drains the metadata's heal queue (shards missing when written, or found damaged by
a read or a scrub): each entry's damaged shards on drives online are rebuilt from the others;
an entry whose drive is still offline stays queued for a later pass. The scrubber reads every
block of every shard of all sharded data, a slice at a time at a bounded rate, and queues what
it finds damaged; a plain file with block sums is read through too (a sealed one under a key the
server holds, SSE-S3 or SSE-KMS: every package opened), and one that fails is reported lost (it
has no other copy). Both run on the gateway holding the collector's lease,
and `oxstore scrub` runs a whole pass at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from oxstore._native import NativeS3Error, sealed_size
from oxstore.data.store import DataStore
from oxstore.meta.model import Metadata
from oxstore.meta.model.heal import DATA_TABLES, SealedFile
from oxstore.meta.records import HealRecord, Layout, Plain, Sharded

log = logging.getLogger(__name__)
HEAL_BATCH = 100
# a queued entry whose data nothing references is dropped only after this long: the write
# that queued it may not have committed yet
HEAL_GRACE = 300.0
LOST = "the stripe is lost"  # what the core says of a stripe with fewer than k good shards
SCRUB_PAGE = 200  # records read per page of a scrub
SCRUB_SLICE = 64 * 1024 * 1024  # bytes of shards a command-line scrub reads between pauses


@dataclass
class Report:
    """What a pass found and did."""

    checked: int = 0  # data read through
    bytes: int = 0  # bytes of shard files read
    damaged: int = 0  # data with at least one damaged shard
    healed: int = 0  # shards rebuilt
    waiting: int = 0  # data with shards on drives offline: still queued
    lost: list[str] = field(default_factory=list)  # data ids with fewer than k good shards
    unopened: int = 0  # sealed plain files under a customer's key (SSE-C): not checked

    def line(self) -> str:
        return (
            f"checked {self.checked} ({self.bytes} bytes), damaged {self.damaged}, "
            f"healed {self.healed} shards, waiting for drives {self.waiting}, lost {len(self.lost)}"
            + (f", not checked (SSE-C) {self.unopened}" if self.unopened else "")
        )


async def heal_queued(meta: Metadata, data: DataStore, now: float, report: Report) -> None:
    """One pass over the heal queue."""
    after = ""
    while batch := await meta.heal_pending(after, HEAL_BATCH):
        for data_id, record in batch:
            await heal_one(meta, data, data_id, record, now, report)
        after = batch[-1][0]


async def heal_one(
    meta: Metadata, data: DataStore, data_id: str, record: HealRecord, now: float, report: Report
) -> None:
    if not await meta.is_data_referenced(data_id):
        if now - record.since > HEAL_GRACE:
            await meta.healed(data_id)  # the data is gone: nothing to heal
        return
    try:
        healed, left = await asyncio.to_thread(data.heal, data_id, record.layout, record.size)
    except NativeS3Error as err:
        if LOST in err.message:
            log.error("data %s: too few good shards left to heal", data_id)
            report.lost.append(data_id)
        else:  # a drive failing as it is written to: the entry stays for a later pass
            log.warning("data %s: healing failed: %s", data_id, err.message)
            report.waiting += 1
        return
    report.healed += len(healed)
    if healed:
        log.info("data %s: rebuilt shards %s", data_id, healed)
    if left:
        report.waiting += 1
    else:
        await meta.healed(data_id)


# the data key of a sealed file, when the server holds the means to open it (s3.encryption)
KeyOpener = Callable[[SealedFile, str], Awaitable[bytes | None]]


class Scrubber:
    """A pass over every verifiable data's records, resumable a slice at a time; sealed plain
    files are checked when `keys` opens theirs."""

    def __init__(self, meta: Metadata, data: DataStore, keys: KeyOpener | None = None) -> None:
        self.meta = meta
        self.data = data
        self.keys = keys
        self.table = 0
        self.after = b""
        self.report = Report()

    @property
    def done(self) -> bool:
        return self.table >= len(DATA_TABLES)

    async def slice(self, budget: int) -> None:
        """Verifies data until about `budget` bytes of shards were read (or the pass ends);
        damaged data is queued for healing."""
        spent = 0
        while spent < budget and not self.done:
            table = DATA_TABLES[self.table]
            found, last = await self.meta.verifiable_data(table, self.after, SCRUB_PAGE)
            for data_id, layout, size, sealed in found:
                spent += await self._verify(data_id, layout, size, sealed)
            if last is None:
                self.table, self.after = self.table + 1, b""
            else:
                self.after = last

    async def _verify(
        self, data_id: str, layout: Layout, size: int, sealed: SealedFile | None
    ) -> int:
        plain = isinstance(layout, Plain)
        read = size if isinstance(layout, Plain) else -(-size // layout.k) * (layout.k + layout.m)
        seal = None
        if sealed is not None:
            try:
                seal = await self.keys(sealed, data_id) if self.keys else None
            except Exception as exc:  # the KMS key is gone: nothing can read these bytes
                self._lost(data_id, f"its key does not open ({exc})")
                return 0
            if seal is None:
                self.report.unopened += 1
                return 0
            read = sealed_size(size)
        self.report.checked += 1
        self.report.bytes += read
        try:
            damaged = await asyncio.to_thread(self.data.verify, data_id, layout, size, seal)
        except (NativeS3Error, OSError):
            damaged = []
            self._lost(data_id, "too few good shards" if not plain else "the file is gone")
        if damaged:
            self.report.damaged += 1
            if isinstance(layout, Sharded):
                await self.data.report_damage(data_id, layout, size, damaged)
            else:  # one copy: nothing to rebuild it from
                self._lost(data_id, f"blocks {damaged} are corrupt")
        return read

    def _lost(self, data_id: str, why: str) -> None:
        log.error("data %s is lost: %s", data_id, why)
        self.report.lost.append(data_id)


async def scrub(
    meta: Metadata, data: DataStore, rate: float = 0.0, keys: KeyOpener | None = None
) -> Report:
    """A whole pass: verify everything (at most `rate` bytes/s; 0: as fast as the drives
    go), then heal what was found."""
    scrubber = Scrubber(meta, data, keys)
    while not scrubber.done:
        started, before = time.monotonic(), scrubber.report.bytes
        await scrubber.slice(SCRUB_SLICE)
        if rate:
            due = (scrubber.report.bytes - before) / rate
            await asyncio.sleep(max(0.0, due - (time.monotonic() - started)))
    await heal_queued(meta, data, time.time(), scrubber.report)
    return scrubber.report
