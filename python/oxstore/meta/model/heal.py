"""The heal queue: sharded data with shards to rebuild, kept until a healer rebuilds them.

Data enters it when a write made its quorum without every shard, and when a read or a scrub
finds a shard missing, short or corrupt. It is persisted, so a restart forgets nothing; the
healer takes entries in id order and removes each once every shard is whole again (or once the
data is gone: nothing references it any more).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import msgspec

from oxstore.meta.model.keys import parts_of
from oxstore.meta.records import (
    Encryption,
    HealRecord,
    Layout,
    Sharded,
    decode_object,
    decode_part,
    stored_size,
)
from oxstore.meta.store import Tx

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(HealRecord).decode


def queue(tx: Tx, data_id: str, layout: Sharded, size: int) -> None:
    """Queues data for healing (once: an entry already there keeps its age)."""
    if tx.get("heal", data_id.encode()) is None:
        record = HealRecord(layout=layout, size=size, since=time.time())
        tx.put("heal", data_id.encode(), _encode(record))


def pending(tx: Tx, after: str, limit: int) -> list[tuple[str, HealRecord]]:
    """Up to limit entries with ids after `after`, in id order."""
    start = after.encode() + b"\x00" if after else b""
    return [(k.decode(), _decode(v)) for k, v in tx.scan("heal", start, limit=limit)]


def done(tx: Tx, data_id: str) -> None:
    tx.delete("heal", data_id.encode())


DATA_TABLES = ("objects", "versions", "parts")  # the tables of records naming data


class SealedFile(NamedTuple):
    """Where the data key of a sealed plain file comes from (it has no block sums: a scrub
    opens every package): the envelope, wrapped and bound to `bound_to`; for a part, its
    number (its key is derived from the upload's, bound to the upload id)."""

    envelope: Encryption
    bound_to: str
    part: int = 0


# data id, layout, stored size (a sealed plain file's: the plaintext's), its SealedFile
Found = tuple[str, Layout, int, SealedFile | None]


def verifiable_data(
    tx: Tx, table: str, after: bytes, limit: int
) -> tuple[list[Found], bytes | None]:
    """The data that can be verified (sharded, plain with block sums, or a sealed plain file,
    given its key) named by up to `limit` rows of a data table after the key `after`, and the
    last key read (None: the table is done). A sealed object's plain parts are found with its
    record, which holds their key (those of uploads in progress are not)."""
    found: list[Found] = []
    rows, last = 0, b""
    for key, raw in tx.scan(table, after + b"\x00" if after else b"", limit=limit):
        rows, last = rows + 1, key
        if table == "parts":
            part = decode_part(raw)
            if isinstance(part.layout, Sharded) or part.layout.sums:
                found.append((part.data_id, part.layout, stored_size(part.size, part.sealed), None))
            continue
        record = decode_object(raw)
        if record.parts_count and record.encryption is not None:
            found += _sealed_parts(tx, record.data_id, record.encryption)
        elif record.data_id and (isinstance(record.layout, Sharded) or record.layout.sums):
            size = stored_size(record.size, record.encryption is not None)
            found.append((record.data_id, record.layout, size, None))
        elif record.data_id and record.encryption is not None:
            sealed = SealedFile(record.encryption, record.data_id)
            found.append((record.data_id, record.layout, record.size, sealed))
    return found, last if rows == limit else None


def _sealed_parts(tx: Tx, upload_id: str, envelope: Encryption) -> list[Found]:
    """The plain parts of a sealed multipart object (sharded ones the parts table yields)."""
    found: list[Found] = []
    for _, raw in tx.scan("parts", *parts_of(upload_id)):
        part = decode_part(raw)
        if not isinstance(part.layout, Sharded):
            sealed = SealedFile(envelope, upload_id, part.number)
            found.append((part.data_id, part.layout, part.size, sealed))
    return found
