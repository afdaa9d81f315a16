"""Objects and their versions: S3's versioning rules, once, over the model's tables.

`objects` holds the current version of every key that has one (never a delete marker), so
listings and plain GETs read one table. `versions` holds everything older and every delete
marker, a key's versions newest first. Writes follow the bucket's versioning state, read inside
the write's transaction:
- "" (never enabled): the current object is replaced; there is no history.
- Enabled: the current object moves to `versions`; the new one gets a fresh version id. A
  delete without a version id adds a delete marker.
- Suspended: new writes and delete markers get the version id "null", replacing whatever "null"
  version the key had; versions with real ids stay.
Deleting a specific version removes it for good; if the current one goes, the newest remaining
version becomes current unless it is a delete marker. An inline payload lives in `payloads`
under its version's key, wherever the version's record is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Literal

import msgspec

from oxstore.meta.model import buckets, refs, usage
from oxstore.meta.model.keys import (
    after_prefix,
    key_bytes,
    key_text,
    object_key,
    seq_of,
    version_key,
)
from oxstore.meta.records import ObjectRecord, decode_bucket, decode_object, encode_record
from oxstore.meta.store import NoSuchBucketError, Range, Tx

NULL_VERSION = "null"
# Where the current version stands among its key's versions in a listing: above every seq
# (seqs are nanosecond clocks, far below 2**62).
CURRENT_SEQ = 2**62

Condition = Callable[[ObjectRecord | None], None]


def new_version_id(seq: int) -> str:
    """32 hex digits: the version's seq, then 63 random bits.

    The seq in the id tells where a version stood in its key's order after it is gone, so a
    ListObjectVersions page can go on from a version-id-marker deleted since the last page.
    The 17th digit is below 8, which the uuid4 ids of older versions never have.
    """
    return f"{seq:016x}{int.from_bytes(os.urandom(8)) >> 1:016x}"


def seq_in_version_id(version_id: str) -> int | None:
    """The seq a version id was made with; None for "null" and for older (uuid4) ids."""
    if len(version_id) != 32 or version_id[16] not in "01234567":
        return None
    try:
        return int(version_id[:16], 16)
    except ValueError:
        return None


def blob(record: ObjectRecord) -> bytes:
    """A version as its table holds it: bucket, key and payload live elsewhere."""
    return encode_record(msgspec.structs.replace(record, bucket="", key="", inline=None))


def from_blob(bucket: str, raw: bytes, stored: bytes) -> ObjectRecord:
    record = decode_object(stored)
    record.bucket = bucket
    record.key = key_text(raw)
    return record


def versioning_of(tx: Tx, bucket: str) -> str:
    stored = tx.get("buckets", bucket.encode())
    if stored is None:
        raise NoSuchBucketError(bucket)
    return decode_bucket(stored).versioning


def current(tx: Tx, bucket: str, raw: bytes) -> ObjectRecord | None:
    """The key's current version, without its payload."""
    stored = tx.get("objects", object_key(bucket, raw))
    return from_blob(bucket, raw, stored) if stored is not None else None


def current_with_payload(tx: Tx, bucket: str, raw: bytes) -> ObjectRecord | None:
    record = current(tx, bucket, raw)
    return with_payload(tx, record) if record is not None else None


def bucket_object_and_payload(bucket: str, raw: bytes) -> list[Range]:
    """Where the bucket's record, the key's current version and the key's newest payload are
    (the current version, when it has one inline: versions sort newest first)."""
    where = object_key(bucket, raw)
    return [
        buckets.where(bucket),
        ("objects", where, where + b"\0"),
        ("payloads", where, _after(where)),
    ]


def from_rows(
    bucket: str,
    raw: bytes,
    current: tuple[bytes, bytes] | None,
    newest_payload: tuple[bytes, bytes] | None,
) -> ObjectRecord | None | Literal[False]:
    """The current version from the rows of bucket_object_and_payload(), with its payload;
    False when the payload read is not its own (then read it by its key)."""
    if current is None:
        return None
    record = from_blob(bucket, raw, current[1])
    if record.data_id or record.delete_marker:
        return record
    if newest_payload is None or newest_payload[0] != version_key(bucket, raw, record.seq):
        return False
    record.inline = newest_payload[1]
    return record


def with_payload(tx: Tx, record: ObjectRecord) -> ObjectRecord:
    if not record.data_id and not record.delete_marker:
        raw = key_bytes(record.key)
        record.inline = tx.get("payloads", version_key(record.bucket, raw, record.seq))
    return record


def older_versions(tx: Tx, bucket: str, raw: bytes) -> list[ObjectRecord]:
    """The key's versions in `versions`, newest first."""
    start = object_key(bucket, raw)
    return [
        from_blob(bucket, raw, stored) for _, stored in tx.scan("versions", start, _after(start))
    ]


def _after(start: bytes) -> bytes:
    end = after_prefix(start)
    assert end is not None
    return end


def find_version(tx: Tx, bucket: str, raw: bytes, version_id: str) -> ObjectRecord | None:
    """A version that is not current, found by its id."""
    for record in older_versions(tx, bucket, raw):
        if record.version_id == version_id:
            return record
    return None


def _newest_older_seq(tx: Tx, bucket: str, raw: bytes) -> int | None:
    start = object_key(bucket, raw)
    for key, _ in tx.scan("versions", start, _after(start), 1):
        return seq_of(key)
    return None


def _next_seq(tx: Tx, bucket: str, raw: bytes, old: ObjectRecord | None, versioning: str) -> int:
    """A new version's seq: above every version the key has. The current one is the newest
    there is; without one, a versioned key may still have older versions (a delete marker on
    top); a bucket never versioned has none."""
    if old is not None:
        return max(time.time_ns(), old.seq + 1)
    newest = _newest_older_seq(tx, bucket, raw) if versioning else None
    return max(time.time_ns(), (newest or 0) + 1)


def _store(tx: Tx, table: str, record: ObjectRecord) -> None:
    """Writes a version's record into `objects` (the current one) or `versions`."""
    raw = key_bytes(record.key)
    if table == "objects":
        tx.put(table, object_key(record.bucket, raw), blob(record))
    else:
        tx.put(table, version_key(record.bucket, raw, record.seq), blob(record))


def _add(tx: Tx, table: str, record: ObjectRecord) -> None:
    """A new version: its record, its payload, its data reference."""
    _store(tx, table, record)
    if record.inline is not None:
        tx.put(
            "payloads", version_key(record.bucket, key_bytes(record.key), record.seq), record.inline
        )
    refs.reference(tx, record.data_id)
    usage.add(tx, record.bucket, record.size, 0 if record.delete_marker else 1)


def _drop(tx: Tx, record: ObjectRecord) -> None:
    """Frees what a removed version held (its record is already gone)."""
    if not record.data_id:
        tx.delete("payloads", version_key(record.bucket, key_bytes(record.key), record.seq))
    refs.release(tx, record.data_id)
    usage.add(tx, record.bucket, -record.size, 0 if record.delete_marker else -1)


def _retire(
    tx: Tx, bucket: str, raw: bytes, versioning: str, old: ObjectRecord | None
) -> list[ObjectRecord]:
    """Makes room for a new newest version: the current object (old) moves to `versions` or
    goes (unversioned, or its "null" version while suspended); a suspended bucket's older
    "null" version goes too. Returns what went, for the caller to _drop() once the new version
    is in place (it may share their data)."""
    gone: list[ObjectRecord] = []
    if old is not None:
        tx.delete("objects", object_key(bucket, raw))
        if versioning == "Enabled" or (versioning and old.version_id != NULL_VERSION):
            _store(tx, "versions", old)
        else:
            gone.append(old)
    if versioning == "Suspended":
        null = find_version(tx, bucket, raw, NULL_VERSION)
        if null is not None:
            tx.delete("versions", version_key(bucket, raw, null.seq))
            gone.append(null)
    return gone


def put(
    tx: Tx, record: ObjectRecord, shares_data: bool, condition: Condition | None
) -> ObjectRecord | None:
    """Makes record the key's current version (see Metadata.put_object); sets its seq and
    version id; returns the version it replaced as current."""
    versioning = versioning_of(tx, record.bucket)
    raw = key_bytes(record.key)
    if shares_data and record.data_id:
        refs.keep_alive(tx, record.data_id)
    old = current(tx, record.bucket, raw)
    if condition is not None:
        condition(old)
    record.seq = _next_seq(tx, record.bucket, raw, old, versioning)
    record.version_id = new_version_id(record.seq) if versioning == "Enabled" else NULL_VERSION
    retired = _retire(tx, record.bucket, raw, versioning, old)
    _add(tx, "objects", record)
    for gone in retired:  # only now: the new version may share the data of one that went
        _drop(tx, gone)
    return old


def delete(
    tx: Tx, bucket: str, key: str, condition: Condition | None, owner: str = ""
) -> ObjectRecord | None:
    """DeleteObject without a version id: the object goes (unversioned; returned) or a delete
    marker is added (returned). None when the bucket or the object is missing."""
    try:
        versioning = versioning_of(tx, bucket)
    except NoSuchBucketError:
        return None
    raw = key_bytes(key)
    old = current(tx, bucket, raw)
    if condition is not None:
        condition(old)
    if versioning:
        return _add_delete_marker(tx, bucket, raw, versioning, old, owner)
    gone = _retire(tx, bucket, raw, versioning, old)
    for record in gone:
        _drop(tx, record)
    return gone[0] if gone else None


def _add_delete_marker(
    tx: Tx, bucket: str, raw: bytes, versioning: str, old: ObjectRecord | None, owner: str
) -> ObjectRecord:
    seq = _next_seq(tx, bucket, raw, old, versioning)
    marker = ObjectRecord(
        bucket=bucket,
        key=key_text(raw),
        size=0,
        etag="",
        last_modified=time.time(),
        content_type="",
        version_id=new_version_id(seq) if versioning == "Enabled" else NULL_VERSION,
        delete_marker=True,
        seq=seq,
        owner=owner,
    )
    retired = _retire(tx, bucket, raw, versioning, old)
    _add(tx, "versions", marker)
    for gone in retired:
        _drop(tx, gone)
    return marker


def delete_version(
    tx: Tx,
    bucket: str,
    key: str,
    version_id: str,
    guard: Callable[[ObjectRecord], None] | None = None,
) -> ObjectRecord | None:
    """Removes one version for good (None if there is none); when the current one goes, the
    newest remaining version that is not a delete marker becomes current. guard(version) may
    raise to keep it (object lock: checked here, in the delete's own transaction)."""
    raw = key_bytes(key)
    now = current(tx, bucket, raw)
    if now is not None and now.version_id == version_id:
        removed = now
    else:
        found = find_version(tx, bucket, raw, version_id)
        if found is None:
            return None
        removed = found
    if guard is not None:
        guard(removed)
    if removed is now:
        tx.delete("objects", object_key(bucket, raw))
    else:
        tx.delete("versions", version_key(bucket, raw, removed.seq))
    _drop(tx, removed)
    if now is None or removed.seq == now.seq:
        _promote(tx, bucket, raw)
    return removed


def _promote(tx: Tx, bucket: str, raw: bytes) -> None:
    """Makes the newest version current when it is an object, not a delete marker."""
    older = older_versions(tx, bucket, raw)
    if not older or older[0].delete_marker:
        return
    newest = older[0]
    tx.delete("versions", version_key(bucket, raw, newest.seq))
    _store(tx, "objects", newest)


def update(
    tx: Tx, bucket: str, key: str, version_id: str | None, change: Callable[[ObjectRecord], None]
) -> ObjectRecord | None:
    """Changes one version's metadata in place (tags, ACL): the current one when version_id is
    None. None when there is no such version; change() sees a delete marker and may raise."""
    raw = key_bytes(key)
    now = current(tx, bucket, raw)
    if now is not None and (version_id is None or now.version_id == version_id):
        change(now)
        _store(tx, "objects", now)
        return now
    if version_id is None:
        return None
    found = find_version(tx, bucket, raw, version_id)
    if found is None:
        return None
    change(found)
    _store(tx, "versions", found)
    return found


def get_version(tx: Tx, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
    """One version (current or not, possibly a delete marker), with its payload."""
    raw = key_bytes(key)
    now = current(tx, bucket, raw)
    if now is not None and now.version_id == version_id:
        return with_payload(tx, now)
    found = find_version(tx, bucket, raw, version_id)
    return with_payload(tx, found) if found is not None else None


def latest_delete_marker(tx: Tx, bucket: str, key: str) -> ObjectRecord | None:
    """The delete marker that is the key's newest version, if one is."""
    older = older_versions(tx, bucket, key_bytes(key))
    return older[0] if older and older[0].delete_marker else None
