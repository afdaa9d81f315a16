"""The heal queue: sharded data with shards to rebuild, kept until a healer rebuilds them.

Data enters it when a write made its quorum without every shard, and when a read or a scrub
finds a shard missing, short or corrupt. It is persisted, so a restart forgets nothing; the
healer takes entries in id order and removes each once every shard is whole again (or once the
data is gone: nothing references it any more).
"""

from __future__ import annotations

import time

import msgspec

from oxstore.meta.records import (
    Encryption,
    HealRecord,
    Layout,
    PartRecord,
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
# data id, layout, stored size, and for a sealed plain file its envelope (the size is then the
# plaintext's: a scrub opens every package with the data key, the file has no block sums)
Found = tuple[str, Layout, int, Encryption | None]


def verifiable_data(
    tx: Tx, table: str, after: bytes, limit: int
) -> tuple[list[Found], bytes | None]:
    """The data that can be verified (sharded, plain with block sums, or a sealed plain file
    written in one piece, given its key) named by up to `limit` rows of a data table after the
    key `after`, and the last key read (None: the table is done)."""
    found: list[Found] = []
    rows, last = 0, b""
    for key, raw in tx.scan(table, after + b"\x00" if after else b"", limit=limit):
        rows, last = rows + 1, key
        record = decode_part(raw) if table == "parts" else decode_object(raw)
        if not record.data_id:
            continue
        if isinstance(record.layout, Sharded) or record.layout.sums:
            sealed = record.sealed if isinstance(record, PartRecord) else bool(record.encryption)
            found.append((record.data_id, record.layout, stored_size(record.size, sealed), None))
        elif not isinstance(record, PartRecord) and record.encryption is not None:
            found.append((record.data_id, record.layout, record.size, record.encryption))
    return found, last if rows == limit else None
