"""Data references and the garbage queue.

A data file (or, for a multipart object, its upload id standing for its parts' files) may be
shared by several versions: copies share their source's data. `refs` counts the versions that
reference each data id; when the last one goes, the id is queued as garbage, oldest first, for
the collector. A part's data file belongs to its part alone and is queued as soon as the part
goes. Claiming a multipart object's upload id claims its parts' files with it.
"""

from __future__ import annotations

import struct
import time

from oxstore.meta.model.keys import parts_of
from oxstore.meta.store import DataGoneError, Tx

_COUNT = struct.Struct(">Q")
_WHEN = struct.Struct(">d")


def _count(tx: Tx, data_id: str) -> int:
    raw = tx.get("refs", data_id.encode())
    return _COUNT.unpack(raw)[0] if raw else 0


def reference(tx: Tx, data_id: str) -> None:
    """A version now references data_id (none for inline or empty data)."""
    if data_id:
        tx.put("refs", data_id.encode(), _COUNT.pack(_count(tx, data_id) + 1))


def release(tx: Tx, data_id: str) -> None:
    """A version referencing data_id is gone; the last one queues the data as garbage."""
    if not data_id:
        return
    left = _count(tx, data_id) - 1
    if left > 0:
        tx.put("refs", data_id.encode(), _COUNT.pack(left))
    else:
        tx.delete("refs", data_id.encode())
        discard(tx, [data_id])


def keep_alive(tx: Tx, data_id: str) -> None:
    """Makes sure data a new version will share outlives this transaction: referenced, or
    taken back from the garbage queue; DataGoneError once the collector has claimed it."""
    if _count(tx, data_id):
        return
    since = tx.get("garbage", data_id.encode())
    if since is None:
        raise DataGoneError(data_id)
    tx.delete("garbage", data_id.encode())
    tx.delete("garbage_order", since + data_id.encode())


def discard(tx: Tx, data_ids: list[str]) -> None:
    """Queues data nothing references any more (a version's last reference, a part's file)."""
    when = _WHEN.pack(time.time())
    for data_id in data_ids:
        if tx.get("garbage", data_id.encode()) is None:
            tx.put("garbage", data_id.encode(), when)
            tx.put("garbage_order", when + data_id.encode(), b"")


def queued(tx: Tx, older_than: float, limit: int) -> list[str]:
    """Up to limit ids queued before older_than, oldest first."""
    end = _WHEN.pack(older_than)
    return [key[_WHEN.size :].decode() for key, _ in tx.scan("garbage_order", b"", end, limit)]


def backlog(tx: Tx, limit: int) -> tuple[int, float | None]:
    """How many ids are queued (counted up to limit) and when the oldest was queued."""
    keys = [key for key, _ in tx.scan("garbage_order", b"", None, limit)]
    return len(keys), _WHEN.unpack(keys[0][: _WHEN.size])[0] if keys else None


def claim(tx: Tx, older_than: float, limit: int) -> list[str]:
    """Takes up to limit ids queued before older_than off the queue; a multipart object's
    upload id brings its parts' data ids along (their part rows go)."""
    ids = queued(tx, older_than, limit)
    claimed = list(ids)
    for data_id in ids:
        since = tx.get("garbage", data_id.encode())
        assert since is not None
        tx.delete("garbage", data_id.encode())
        tx.delete("garbage_order", since + data_id.encode())
        claimed += _take_parts(tx, data_id)
    return claimed


def _take_parts(tx: Tx, upload_id: str) -> list[str]:
    from oxstore.meta.records import decode_part

    taken = []
    for key, blob in list(tx.scan("parts", *parts_of(upload_id))):
        part = decode_part(blob)
        tx.delete("parts", key)
        tx.delete("part_data", part.data_id.encode())
        taken.append(part.data_id)
    return taken


def is_referenced(tx: Tx, data_id: str) -> bool:
    """Whether a version or a part references the data, or it is queued as garbage."""
    key = data_id.encode()
    return any(tx.get(table, key) is not None for table in ("refs", "part_data", "garbage"))
