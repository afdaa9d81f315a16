"""What a metrics scrape answers: the workers' summed counts, and what it says of the store
itself, read when it is scraped: each drive's capacity and free space, the heal and collector
queues, and the objects and bytes of the largest buckets (the top BUCKETS_SHOWN by bytes, the
rest added up as OTHER: a bounded number of series). Each family is printed whole (HELP, TYPE,
its samples), as the text format wants it."""

from __future__ import annotations

import os
import time

from oxstore import metrics
from oxstore.config import Config
from oxstore.meta.model import Metadata

BUCKETS_SHOWN = 20
OTHER = "other buckets"  # the rest's label: a space, so no bucket's name (as the console says)
BUCKETS_TTL = 30.0  # seconds a worker reuses the per-bucket usage it read
QUEUE_COUNTED = 10_000  # the heal and collector queues are counted up to this many entries
_cached: tuple[float, list[str]] = (0.0, [])


async def exposition(config: Config, meta: Metadata) -> bytes:
    """The Prometheus text of a scrape (any worker's, or the separate metrics listener's)."""
    values, in_flight = metrics.summed(metrics.metrics_dir(config))
    queues = await _heal_queue(meta) + await _collector_queue(meta)
    gauges = _drives(config) + queues + await _buckets(meta)
    return metrics.render(values, in_flight, gauges)


def _drives(config: Config) -> list[str]:
    capacity, free = [], []
    for n, drive in enumerate(config.drive_set or ()):
        try:
            stats = os.statvfs(drive.path)
        except OSError:
            continue
        label, block = f'drive="{n}",path="{_escaped(drive.path)}"', stats.f_frsize
        capacity.append(f"oxstore_drive_capacity_bytes{{{label}}} {stats.f_blocks * block}")
        free.append(f"oxstore_drive_free_bytes{{{label}}} {stats.f_bavail * block}")
    return [
        "# HELP oxstore_drive_capacity_bytes Size of each drive's file system.",
        "# TYPE oxstore_drive_capacity_bytes gauge",
        *capacity,
        "# HELP oxstore_drive_free_bytes Space left on each drive's file system.",
        "# TYPE oxstore_drive_free_bytes gauge",
        *free,
    ]


async def _heal_queue(meta: Metadata) -> list[str]:
    pending = await meta.heal_pending("", QUEUE_COUNTED)
    return [
        "# HELP oxstore_heal_queue Data with shards waiting to be rebuilt.",
        "# TYPE oxstore_heal_queue gauge",
        f"oxstore_heal_queue {len(pending)}",
    ]


async def _collector_queue(meta: Metadata) -> list[str]:
    queued, oldest = await meta.garbage_backlog(QUEUE_COUNTED)
    age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
    return [
        "# HELP oxstore_collector_queue Replaced or deleted data waiting for the collector.",
        "# TYPE oxstore_collector_queue gauge",
        f"oxstore_collector_queue {queued}",
        "# HELP oxstore_collector_oldest_seconds Age of the oldest data waiting for the "
        "collector (0: none); past --gc-grace plus --gc-interval, the collector is behind.",
        "# TYPE oxstore_collector_oldest_seconds gauge",
        f"oxstore_collector_oldest_seconds {age:.3f}",
    ]


async def _buckets(meta: Metadata) -> list[str]:
    global _cached
    read_at, lines = _cached
    if time.monotonic() - read_at < BUCKETS_TTL and lines:
        return lines
    usage = []
    for bucket in await meta.list_buckets(None):
        counted = await meta.bucket_usage(bucket.name)
        usage.append((counted.bytes, counted.objects, bucket.name))
    usage.sort(reverse=True)
    shown, rest = usage[:BUCKETS_SHOWN], usage[BUCKETS_SHOWN:]
    if rest:
        shown.append((sum(u[0] for u in rest), sum(u[1] for u in rest), OTHER))
    lines = [
        f'# HELP oxstore_bucket_bytes Bytes stored per bucket (the largest; the rest: "{OTHER}").',
        "# TYPE oxstore_bucket_bytes gauge",
        *(f'oxstore_bucket_bytes{{bucket="{_escaped(name)}"}} {size}' for size, _, name in shown),
        f'# HELP oxstore_bucket_objects Objects per bucket (the largest; the rest: "{OTHER}").',
        "# TYPE oxstore_bucket_objects gauge",
        *(f'oxstore_bucket_objects{{bucket="{_escaped(name)}"}} {n}' for _, n, name in shown),
    ]
    _cached = (time.monotonic(), lines)
    return lines


def _escaped(text: str) -> str:
    """A label value as the text format writes it: backslash, double quote and newline
    escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
