"""Renaming owners in the records that name them: buckets, objects, versions, uploads, and the
grants of their ACLs.

Before schema 7 an owner was its access key; adopting such a store gives each key's owner an
id and renames it everywhere, a batch of records per transaction. A rename is idempotent (an
id is never an old access key), so an adoption cut short by a crash is simply run again.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from oxstore.meta.records import (
    BucketRecord,
    ObjectRecord,
    UploadRecord,
    decode_bucket,
    decode_object,
    decode_upload,
    encode_record,
)
from oxstore.meta.store import Tx

BATCH = 500
OwnedRecord = BucketRecord | ObjectRecord | UploadRecord
DECODERS: dict[str, Callable[[bytes], OwnedRecord]] = {
    "buckets": decode_bucket,
    "objects": decode_object,
    "versions": decode_object,
    "uploads": decode_upload,
}
_grants = msgspec.json.Decoder(list[list[str]])


def _renamed_acl(acl: str | None, names: dict[str, str]) -> str | None:
    if acl is None:
        return None
    grants = _grants.decode(acl)
    for grant in grants:
        if grant[0] == "user" and grant[1] in names:
            grant[1] = names[grant[1]]
    return msgspec.json.encode(grants).decode()


def rename_batch(tx: Tx, table: str, after: bytes | None, names: dict[str, str]) -> bytes | None:
    """Renames the owners in up to BATCH records of table after key `after` (None: from the
    first); returns the last key done, or None when the table is done."""
    decode = DECODERS[table]
    last = None
    start = b"" if after is None else after + b"\0"
    for key, raw in list(tx.scan(table, start, None, BATCH)):
        record = decode(raw)
        owner = names.get(record.owner, record.owner)
        acl = _renamed_acl(record.acl, names)
        if owner != record.owner or acl != record.acl:
            record.owner, record.acl = owner, acl
            tx.put(table, key, encode_record(record))
        last = key
    return last
