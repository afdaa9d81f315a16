"""What each bucket holds, counted in the transaction of every write that changes it, and the
quotas a write is checked against in that same transaction.

A bucket's bytes are the sizes of all its versions (delete markers hold none) and of the parts
of its uploads in progress; its objects are its versions that are not delete markers. They are
counters (`Tx.add`, no read): a write adds to them without waiting for anything, in a row of
SHARDS chosen by its process, so that the writers of a database shared over the network never
contend for one row; a reading sums the shards.

ostor's hourly statistics (`hmax`, the most bytes held in the hour of `hour`; `integral`,
byte-hours held up to it) are sampled from the counters by `roll_up`, which the collector runs
about once a minute: exact for a bucket whose size holds still between samples, and within one
sampling interval of the truth otherwise.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass

from oxstore.meta.model import identity
from oxstore.meta.model.keys import bucket_end, in_bucket
from oxstore.meta.store import Tx

SHARDS = 32
_STATS = struct.Struct(">qqqq")  # hmax, integral, hour, bytes at the last sample
COUNTED = b"usage_counted"  # settings: every bucket's usage has been counted


class QuotaExceededError(Exception):
    """A write would take a bucket or its owner past its quota; nothing was written."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(slots=True)
class Usage:
    bytes: int = 0
    objects: int = 0
    hmax: int = 0
    integral: int = 0  # byte-hours up to `hour`
    hour: int = 0  # hours since the epoch of the last sample


@dataclass(frozen=True, slots=True)
class Quota:
    """The limits a write is checked against (0: none): its bucket's and its owner's."""

    bucket: int
    owner_id: str
    owner: int


def _hour(now: float) -> int:
    return int(now // 3600)


def add(tx: Tx, bucket: str, size: int, objects: int) -> None:
    """Counts a change of the bucket's bytes and objects (negative: what went)."""
    if size or objects:
        shard = in_bucket(bucket) + bytes([os.getpid() % SHARDS])
        tx.add("bucket_usage", shard, (size, objects))


def counted(tx: Tx, bucket: str) -> tuple[int, int]:
    """The bucket's bytes and objects, its shards summed."""
    shards = tx.counts("bucket_usage", in_bucket(bucket), bucket_end(bucket))
    return sum(c[0] for _, c in shards), sum(c[1] for _, c in shards)


def _stats(tx: Tx, bucket: str) -> tuple[int, int, int, int]:
    raw = tx.get("bucket_stats", bucket.encode())
    return _STATS.unpack(raw) if raw is not None else (0, 0, 0, 0)


def _advanced(stats: tuple[int, int, int, int], size: int, now: float) -> tuple[int, int, int, int]:
    """The statistics after a sample of `size` bytes at `now`."""
    hmax, integral, hour, last = stats
    current = _hour(now)
    if hour == 0:  # the first sample
        return size, 0, current, size
    if current > hour:
        integral += last * (current - hour)
        hmax = last
    return max(hmax, size), integral, current, size


def of_bucket(tx: Tx, bucket: str) -> Usage:
    size, objects = counted(tx, bucket)
    hmax, integral, hour, _ = _advanced(_stats(tx, bucket), size, time.time())
    return Usage(size, objects, hmax, integral, hour)


def roll_up(tx: Tx, bucket: str, now: float) -> None:
    """Samples the bucket's counters into its hourly statistics."""
    stats = _advanced(_stats(tx, bucket), counted(tx, bucket)[0], now)
    tx.put("bucket_stats", bucket.encode(), _STATS.pack(*stats))


def forget(tx: Tx, bucket: str) -> None:
    """A deleted bucket's counters and statistics."""
    for key, _ in tx.counts("bucket_usage", in_bucket(bucket), bucket_end(bucket)):
        tx.delete("bucket_usage", key)
    tx.delete("bucket_stats", bucket.encode())


def set_counted(tx: Tx, bucket: str, size: int, objects: int) -> None:
    """Replaces the bucket's count with one from a recount."""
    forget(tx, bucket)
    tx.add("bucket_usage", in_bucket(bucket) + b"\0", (size, objects))


def of_owner(tx: Tx, owner_id: str) -> int:
    """The bytes of all the owner's buckets."""
    return sum(counted(tx, name)[0] for name in identity.owned_buckets(tx, owner_id))


@dataclass(slots=True)
class Guard:
    """Checks a write against its quota: usage is read before the write, and after it; a write
    that adds bytes and ends above a limit is refused (one that frees bytes never is)."""

    quota: Quota
    bucket: str
    bucket_before: int = 0
    owner_before: int = 0

    def begin(self, tx: Tx) -> None:
        if self.quota.bucket:
            self.bucket_before = counted(tx, self.bucket)[0]
        if self.quota.owner:
            self.owner_before = of_owner(tx, self.quota.owner_id)

    def check(self, tx: Tx) -> None:
        if self.quota.bucket:
            after = counted(tx, self.bucket)[0]
            if after > self.bucket_before and after > self.quota.bucket:
                raise QuotaExceededError("bucket")
        if self.quota.owner:
            after = of_owner(tx, self.quota.owner_id)
            if after > self.owner_before and after > self.quota.owner:
                raise QuotaExceededError("owner")
