"""Usage statistics, as ostor's gateway collects them (S3_GW_USAGE_BUCKET, _PERIOD,
_CACHE_TIMEOUT): for each (bucket, epoch, user, tag), operations (put, get, list, other) and
network bytes (uploaded: request bodies as sent, framing included; downloaded: response bodies).

Each worker counts in memory and adds its counts to the metadata store every cache timeout, and
when it stops: a clean stop loses nothing, a crash at most one cache timeout of counts. Once a
period is over (and a cache timeout more, for every worker's counts to arrive), the gateway
holding the "usage" lease turns its counters into one statistics object,
`s3-usage-<service id>-<ISO start>-<period>`, which `?ostor-usage` lists. A period without a
single operation leaves no object. The service id is the metadata store's id (16 hex digits,
a string in the JSON where ostor's is a number).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec

from oxstore.meta.model import Metadata
from oxstore.meta.model.statistics import Subject
from oxstore.meta.store import Counts
from oxstore.s3.xml import iso8601

log = logging.getLogger("oxstore")
COLUMNS = {"put": 0, "get": 1, "list": 2, "other": 3}  # then uploaded, downloaded
UPLOADED, DOWNLOADED = 4, 5
FMT_VERSION = 1


class UsageMeter:
    """One worker's counts not yet in the store."""

    def __init__(
        self,
        meta: Metadata,
        period: float,
        cache_timeout: float,
        service_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.meta = meta
        self.period = max(1, int(period))
        self.cache_timeout = cache_timeout
        self.service_id = service_id
        self._clock = clock
        self._pending: dict[int, dict[Subject, list[int]]] = {}

    def _counts(self, bucket: str, user: str) -> list[int]:
        start = int(self._clock()) // self.period * self.period
        by_subject = self._pending.setdefault(start, {})
        return by_subject.setdefault((bucket, user, ""), [0] * 6)

    def count(self, kind: str, bucket: str, user: str, uploaded: int, downloaded: int) -> None:
        """One request (kind: an operation kind of limits.rates)."""
        counts = self._counts(bucket, user)
        counts[COLUMNS.get(kind, COLUMNS["other"])] += 1
        counts[UPLOADED] += uploaded
        counts[DOWNLOADED] += downloaded

    async def counted_stream(
        self, chunks: AsyncIterator[bytes], bucket: str, user: str
    ) -> AsyncIterator[bytes]:
        """A response body, its bytes counted as they go out."""
        async for chunk in chunks:
            self._counts(bucket, user)[DOWNLOADED] += len(chunk)
            yield chunk

    async def flush(self) -> None:
        """Adds the pending counts to the store's; kept for the next flush if that fails."""
        pending, self._pending = self._pending, {}
        for start, by_subject in pending.items():
            counts: dict[Subject, Counts] = {s: tuple(c) for s, c in by_subject.items()}
            try:
                await self.meta.add_usage(start, self.period, counts)
            except Exception:
                log.exception("usage statistics: counts kept for the next flush")
                for subject, values in by_subject.items():
                    kept = self._pending.setdefault(start, {}).setdefault(subject, [0] * 6)
                    for n, value in enumerate(values):
                        kept[n] += value

    async def write_objects(self) -> list[str]:
        """The statistics objects of the periods that are over (on the lease holder)."""
        finished_by = int(self._clock() - 2 * self.cache_timeout - 1)
        return await self.meta.write_usage_objects(finished_by, self._render)

    def _render(
        self, start: int, length: int, items: list[tuple[Subject, Counts]]
    ) -> tuple[str, bytes]:
        name = f"s3-usage-{self.service_id}-{iso8601(start)}-{length}"
        body = {
            "fmt_version": FMT_VERSION,
            "service_id": self.service_id,
            "start_ts": start,
            "period": length,
            "nr_items": len(items),
            "items": [
                {
                    "key": {"bucket": bucket, "epoch": 0, "user_id": user, "tag": tag},
                    "counters": {
                        "ops": {kind: counts[column] for kind, column in COLUMNS.items()},
                        "net_io": {"uploaded": counts[UPLOADED], "downloaded": counts[DOWNLOADED]},
                    },
                }
                for (bucket, user, tag), counts in items
            ],
        }
        return name, msgspec.json.encode(body)

    async def run(self, holds_lease: Callable[[], Awaitable[bool]]) -> None:
        """Flushes every cache timeout; writes finished periods' objects where the lease is."""
        while True:
            await asyncio.sleep(self.cache_timeout)
            await self.flush()
            with contextlib.suppress(Exception):
                if await holds_lease():
                    await self.write_objects()
