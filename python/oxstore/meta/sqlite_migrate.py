"""From the typed tables of metadata schemas 1-4 (a table per kind of record, with columns for
bucket, key, seq, data id...) to the model's tables (schema 5), in the transaction that opens
the database. The record blobs keep their format: they move as they are.

What the typed schema found through indexes the model counts: the versions that reference each
data id (`refs`) and the part that owns each part file (`part_data`). Tables an early schema did
not have yet (payloads in 1, uploads in 1-2, versions in 1-3) are taken as empty.
"""

from __future__ import annotations

import sqlite3
import struct
from collections import Counter

from oxstore.meta.model.keys import object_key, part_key, upload_key, version_key
from oxstore.meta.records import decode_object, decode_upload
from oxstore.meta.store import Tx

OLD_TABLES = ("buckets", "objects", "payloads", "garbage", "uploads", "parts", "versions")
_COUNT = struct.Struct(">Q")
_WHEN = struct.Struct(">d")


def migrate_typed_schema(db: sqlite3.Connection, tx: Tx) -> None:
    present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for name, record in db.execute("SELECT name, record FROM buckets"):
        tx.put("buckets", name.encode(), record)
    references: Counter[str] = Counter()
    for table, bucket, key, data_id, payload, record in _object_rows(db, present):
        seq = decode_object(record).seq
        where = object_key(bucket, key) if table == "objects" else version_key(bucket, key, seq)
        tx.put(table, where, record)
        if payload is not None:
            data = db.execute("SELECT data FROM payloads WHERE id = ?", (payload,)).fetchone()
            tx.put("payloads", version_key(bucket, key, seq), data[0])
        if data_id:
            references[data_id] += 1
    for data_id, count in references.items():
        tx.put("refs", data_id.encode(), _COUNT.pack(count))
    if "uploads" in present:
        _move_uploads(db, tx)
    for data_id, since in db.execute("SELECT data_id, since FROM garbage"):
        tx.put("garbage", data_id.encode(), _WHEN.pack(since))
        tx.put("garbage_order", _WHEN.pack(since) + data_id.encode(), b"")
    for table in OLD_TABLES:
        db.execute(f"DROP TABLE IF EXISTS {table}")


def _object_rows(
    db: sqlite3.Connection, present: set[str]
) -> list[tuple[str, str, bytes, str, int | None, bytes]]:
    """(table, bucket, key, data id, payload id, record) of every version, current or not."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(objects)")}
    payload = "payload" if "payload" in columns else "NULL"
    rows = [
        ("objects", *row)
        for row in db.execute(f"SELECT bucket, key, data_id, {payload}, record FROM objects")
    ]
    if "versions" in present:
        rows += [
            ("versions", *row)
            for row in db.execute("SELECT bucket, key, data_id, payload, record FROM versions")
        ]
    return rows


def _move_uploads(db: sqlite3.Connection, tx: Tx) -> None:
    for upload_id, record in db.execute("SELECT upload_id, record FROM uploads"):
        upload = decode_upload(record)
        tx.put("uploads", upload_id.encode(), record)
        key = upload_key(upload.bucket, upload.key.encode("utf-8", "surrogatepass"), upload_id)
        tx.put("upload_keys", key, upload_id.encode())
    for upload_id, number, data_id, record in db.execute(
        "SELECT upload_id, number, data_id, record FROM parts"
    ):
        tx.put("parts", part_key(upload_id, number), record)
        tx.put("part_data", data_id.encode(), part_key(upload_id, number))
