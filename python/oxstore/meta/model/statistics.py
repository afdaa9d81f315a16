"""Usage statistics: counters of operations and bytes per (period, bucket, user, tag), which the
workers add to from memory, and the statistics objects that a finished period's counters
become (ostor's `s3-usage-<service id>-<start>-<period>`)."""

from __future__ import annotations

import struct

from oxstore.meta.model.keys import SEP
from oxstore.meta.store import Counts, Tx

Subject = tuple[str, str, str]  # bucket, user id, tag
_PERIOD = struct.Struct(">QI")  # start (epoch seconds), length (seconds)


def _key(start: int, length: int, subject: Subject) -> bytes:
    return _PERIOD.pack(start, length) + SEP.join(part.encode() for part in subject)


def add(tx: Tx, start: int, length: int, counts: dict[Subject, Counts]) -> None:
    for subject, deltas in counts.items():
        tx.add("usage_counters", _key(start, length, subject), deltas)


def take_finished(tx: Tx, finished_by: int) -> dict[tuple[int, int], list[tuple[Subject, Counts]]]:
    """The counters of every period over by `finished_by` (epoch seconds), removed, by
    (start, length)."""
    periods: dict[tuple[int, int], list[tuple[Subject, Counts]]] = {}
    for key, counts in tx.counts("usage_counters", b"", _PERIOD.pack(finished_by, 0)):
        start, length = _PERIOD.unpack_from(key)
        if start + length > finished_by:
            continue
        bucket, user, tag = (part.decode() for part in key[_PERIOD.size :].split(SEP))
        periods.setdefault((start, length), []).append(((bucket, user, tag), counts))
        tx.delete("usage_counters", key)
    return periods


def save_object(tx: Tx, name: str, body: bytes) -> None:
    tx.put("usage_objects", name.encode(), body)


def object_names(tx: Tx, limit: int, after: str = "") -> list[str]:
    start = after.encode() + b"\x00" if after else b""
    return [key.decode() for key, _ in tx.scan("usage_objects", start, None, limit)]


def get_object(tx: Tx, name: str) -> bytes | None:
    return tx.get("usage_objects", name.encode())


def delete_object(tx: Tx, name: str) -> bool:
    if tx.get("usage_objects", name.encode()) is None:
        return False
    tx.delete("usage_objects", name.encode())
    return True
