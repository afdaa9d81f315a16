"""Buckets: their records, and the rule that only an empty bucket is deleted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from oxstore.meta.model import identity, uploads, usage
from oxstore.meta.model.keys import bucket_end, in_bucket, of_bucket
from oxstore.meta.records import BucketRecord, decode_bucket, encode_record
from oxstore.meta.store import BucketExistsError, Range, Tx

DeleteBucketResult = Literal["deleted", "not_empty", "missing"]


def create(tx: Tx, record: BucketRecord) -> None:
    """BucketExistsError (with the existing owner) when the name is taken."""
    existing = get(tx, record.name)
    if existing is not None:
        raise BucketExistsError(existing.owner)
    tx.put("buckets", record.name.encode(), encode_record(record))
    tx.put("owner_buckets", identity.owner_bucket_key(record.owner, record.name), b"")


def where(name: str) -> Range:
    """The range holding the bucket's record alone."""
    key = name.encode()
    return ("buckets", key, key + b"\0")


def get(tx: Tx, name: str) -> BucketRecord | None:
    stored = tx.get("buckets", name.encode())
    return decode_bucket(stored) if stored is not None else None


def change(tx: Tx, name: str, apply: Callable[[BucketRecord], None]) -> BucketRecord | None:
    """Applies a change to a bucket's settings; None if the bucket is missing."""
    record = get(tx, name)
    if record is None:
        return None
    apply(record)
    tx.put("buckets", name.encode(), encode_record(record))
    return record


def listed(tx: Tx, owner: str | None) -> list[BucketRecord]:
    """The owner's buckets (every bucket when owner is None), by name."""
    if owner is None:
        return [decode_bucket(stored) for _, stored in tx.scan("buckets", b"")]
    found = (get(tx, name) for name in identity.owned_buckets(tx, owner))
    return [record for record in found if record is not None]


def delete(tx: Tx, name: str) -> DeleteBucketResult:
    """Deletes the bucket if it holds no object and no version; its uploads are aborted."""
    record = get(tx, name)
    if record is None:
        return "missing"
    for table in ("objects", "versions"):
        if next(tx.scan(table, in_bucket(name), bucket_end(name), 1), None) is not None:
            return "not_empty"
    uploads.abort_all_in(tx, name)
    tx.delete("buckets", name.encode())
    tx.delete("owner_buckets", identity.owner_bucket_key(record.owner, name))
    usage.forget(tx, name)
    for table in ("quotas", "limits"):  # a bucket made later under the name starts without
        tx.delete(table, of_bucket(name).encode())
    return "deleted"
