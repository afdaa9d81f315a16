"""Object records as the SQLite rows hold them: the bucket and key live in their columns and
the inline payload in its table, so the record blob leaves them empty."""

from __future__ import annotations

import msgspec

from oxstore.meta.keys import key_text
from oxstore.meta.records import ObjectRecord, decode_object, encode_record


def object_blob(record: ObjectRecord) -> bytes:
    return encode_record(msgspec.structs.replace(record, bucket="", key="", inline=None))


def object_from_row(
    bucket: str, key: bytes, blob: bytes, inline: bytes | None = None
) -> ObjectRecord:
    record = decode_object(blob)
    record.bucket = bucket
    record.key = key_text(key)
    record.inline = inline
    return record
