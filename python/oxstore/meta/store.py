"""The seam every metadata backend implements: a few ordered tables of byte keys and values,
read in snapshots and written in transactions. The S3 rules live above it, once, in
`oxstore.meta.model`; a backend only stores.

A transaction's work is a plain function of a `Tx`: the backend runs it where it must (SQLite
on its group-commit thread, a network database on a connection of its pool) and retries it on a
serialization failure, so the work must not have effects outside the transaction. Whatever it
raises aborts the transaction and reaches the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")

# The tables of the model; a backend creates them all (each an ordered map of bytes to bytes).
TABLES = (
    "buckets",  # name -> bucket record
    "objects",  # bucket, key -> the current version (never a delete marker)
    "versions",  # bucket, key, version order -> every other version and every delete marker
    "payloads",  # bucket, key, version order -> the bytes of an inline object
    "uploads",  # upload id -> a multipart upload in progress
    "upload_keys",  # bucket, key, upload id -> upload id (uploads in listing order)
    "parts",  # upload id, part number -> part record
    "part_data",  # data id of a part -> upload id, part number
    "refs",  # data id -> how many versions reference it
    "garbage",  # data id -> when it became garbage
    "garbage_order",  # when, data id -> "" (garbage oldest first)
    "leases",  # name -> until when, holder (work that runs once in a cluster)
    "owners",  # owner id -> a user or an account
    "owner_emails",  # a user's e-mail address (lower-case) -> user id
    "owner_accounts",  # user id, "/", account name -> account id
    "owner_buckets",  # owner id, "/", bucket name -> "" (each owner's buckets, by name)
    "access_keys",  # access key -> whose it is, its sealed secret
    "settings",  # name -> value (the root user's id, ...)
    "bucket_stats",  # bucket -> its hourly statistics (model.usage)
    "quotas",  # "bucket/" name | "owner/" id | "default/bucket" | "default/user" -> bytes
    "limits",  # "bucket/" name | "owner/" id -> ops and bandwidth limits (limits.rates)
    "usage_objects",  # name -> a statistics object, JSON (model.statistics)
    "heal",  # data id -> sharded data with shards to rebuild (model.heal)
)

# Tables of counters: each key holds COUNTERS signed 64-bit integers that a transaction adds to
# without reading them (writers of a counter never wait for one another's reads).
COUNTER_TABLES = (
    "bucket_usage",  # bucket, 0x00, shard -> bytes, objects (model.usage)
    "rate_windows",  # budget name, 0x00, window -> tokens leased (model.rates)
    "usage_counters",  # period start, length, bucket, user, tag -> ops and bytes (statistics)
)
COUNTERS = 6
Counts = tuple[int, ...]  # COUNTERS of them


class Tx(Protocol):
    """One transaction (or read snapshot) over the tables."""

    def get(self, table: str, key: bytes) -> bytes | None: ...

    def put(self, table: str, key: bytes, value: bytes) -> None: ...

    def delete(self, table: str, key: bytes) -> None:
        """Removes the key of a table, or of a counter table."""
        ...

    def add(self, table: str, key: bytes, deltas: Sequence[int]) -> None:
        """Adds deltas to the first counters of a counter table's key (a new key starts at
        zero), without reading them."""
        ...

    def counts(self, table: str, start: bytes, end: bytes) -> list[tuple[bytes, Counts]]:
        """The counters of the keys in [start, end) of a counter table, in key order."""
        ...

    def scan(
        self,
        table: str,
        start: bytes,
        end: bytes | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of the keys in [start, end) (end None: to the last), ascending or
        descending, at most `limit` of them; lazily, so a caller may stop early."""
        ...


Range = tuple[str, bytes, bytes]  # a table's keys from start (included) to end (excluded)


class Store(Protocol):
    """A metadata backend. Its calls are coroutines; the backend decides where the work runs:
    an embedded database on the event loop (no round trip to wait for), a network database
    on a thread of its own."""

    schema: int  # the version of the schema this adapter writes
    store_id: str  # the database's own random id, made with its schema
    schema_found: int  # the schema version the database had when opened (0: it was new)

    async def read(self, work: Callable[[Tx], T], large: bool = False) -> T:
        """Runs work over one consistent snapshot (work must not write). large: it may read
        many rows (a listing), so not even an embedded database runs it on the event loop."""
        ...

    async def write(self, work: Callable[[Tx], T]) -> T:
        """Runs work in a transaction; returns its result once the commit is durable. The
        backend may run work more than once (after a serialization failure)."""
        ...

    async def first_rows(self, ranges: Sequence[Range]) -> list[tuple[bytes, bytes] | None]:
        """The first row of each (table, start, end) range, all in one snapshot and read at
        once: what a GET or HEAD reads, in one round trip to a database over a network."""
        ...

    def close(self) -> None: ...


class BucketExistsError(Exception):
    """The bucket name is taken; `owner` is the existing bucket's owner (its id)."""

    def __init__(self, owner: str) -> None:
        super().__init__(owner)
        self.owner = owner


class DataGoneError(Exception):
    """A record was to share a data file that the collector has already claimed."""


class NoSuchUploadError(Exception):
    """The multipart upload is not in progress (never was, completed or aborted)."""


class NoSuchBucketError(Exception):
    """The bucket an object write targets does not exist (or was deleted meanwhile)."""
