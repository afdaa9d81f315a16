"""The embedded metadata store: SQLite in WAL mode, shared by every worker process.

Keys are stored as BLOBs of their UTF-8 bytes, so SQLite's memcmp order is S3's listing
order. Every write is one IMMEDIATE transaction with synchronous=FULL: when a method returns,
the change is durable. Each thread has its own connection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from oxstore.meta.records import (
    BucketRecord,
    ListPage,
    ObjectRecord,
    bucket_decoder,
    object_decoder,
)
from oxstore.meta.store import BucketExistsError, NoSuchBucketError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, record BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS buckets_by_owner ON buckets (owner);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key BLOB NOT NULL, data_id TEXT NOT NULL, record BLOB NOT NULL,
    PRIMARY KEY (bucket, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_by_data ON objects (data_id) WHERE data_id != '';
CREATE TABLE IF NOT EXISTS garbage (data_id TEXT PRIMARY KEY, since REAL NOT NULL);
"""

_encode = msgspec.msgpack.Encoder().encode


def key_bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def key_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def after_prefix(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with prefix."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class SqliteMetaStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._create_schema()

    # -- connections and transactions ------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _create_schema(self) -> None:
        db = self._db()
        db.executescript(SCHEMA)
        db.execute(
            "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    # -- buckets ---------------------------------------------------------------------------

    def create_bucket(self, record: BucketRecord) -> None:
        with self._write() as db:
            row = db.execute("SELECT owner FROM buckets WHERE name = ?", (record.name,)).fetchone()
            if row is not None:
                raise BucketExistsError(row[0])
            db.execute(
                "INSERT INTO buckets (name, owner, record) VALUES (?, ?, ?)",
                (record.name, record.owner, _encode(record)),
            )

    def get_bucket(self, name: str) -> BucketRecord | None:
        row = self._db().execute("SELECT record FROM buckets WHERE name = ?", (name,)).fetchone()
        return bucket_decoder.decode(row[0]) if row else None

    def list_buckets(self, owner: str | None) -> list[BucketRecord]:
        if owner is None:
            rows = self._db().execute("SELECT record FROM buckets ORDER BY name")
        else:
            rows = self._db().execute(
                "SELECT record FROM buckets WHERE owner = ? ORDER BY name", (owner,)
            )
        return [bucket_decoder.decode(r[0]) for r in rows]

    def count_buckets(self, owner: str) -> int:
        row = self._db().execute("SELECT count(*) FROM buckets WHERE owner = ?", (owner,))
        return int(row.fetchone()[0])

    def delete_bucket(self, name: str) -> str:
        with self._write() as db:
            if db.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone() is None:
                return "missing"
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                return "not_empty"
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))
            return "deleted"

    # -- objects ---------------------------------------------------------------------------

    def put_object(self, record: ObjectRecord) -> ObjectRecord | None:
        key = key_bytes(record.key)
        with self._write() as db:
            if (
                db.execute("SELECT 1 FROM buckets WHERE name = ?", (record.bucket,)).fetchone()
                is None
            ):
                raise NoSuchBucketError(record.bucket)
            old = self._get(db, record.bucket, key)
            db.execute(
                "INSERT OR REPLACE INTO objects (bucket, key, data_id, record) VALUES (?, ?, ?, ?)",
                (record.bucket, key, record.data_id, _encode(record)),
            )
            if old is not None and old.data_id and old.data_id != record.data_id:
                self._orphan(db, old.data_id)
        return old

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        return self._get(self._db(), bucket, key_bytes(key))

    def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        raw = key_bytes(key)
        with self._write() as db:
            old = self._get(db, bucket, raw)
            if old is None:
                return None
            db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, raw))
            if old.data_id:
                self._orphan(db, old.data_id)
        return old

    @staticmethod
    def _get(db: sqlite3.Connection, bucket: str, key: bytes) -> ObjectRecord | None:
        row = db.execute(
            "SELECT record FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return object_decoder.decode(row[0]) if row else None

    @staticmethod
    def _orphan(db: sqlite3.Connection, data_id: str) -> None:
        db.execute(
            "INSERT OR IGNORE INTO garbage (data_id, since) VALUES (?, ?)", (data_id, time.time())
        )

    # -- listing ---------------------------------------------------------------------------

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """One page of S3's listing. Each common prefix costs one seek past all its keys, so the
        cost does not grow with the number of keys rolled up or skipped."""
        return _Listing(self._db(), bucket, prefix, delimiter, start_after).page(max_keys)

    # -- garbage ---------------------------------------------------------------------------

    def take_garbage(self, older_than: float, limit: int) -> list[str]:
        rows = self._db().execute(
            "SELECT data_id FROM garbage WHERE since < ? ORDER BY since LIMIT ?",
            (older_than, limit),
        )
        return [r[0] for r in rows]

    def remove_garbage(self, data_ids: list[str]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM garbage WHERE data_id = ?", [(i,) for i in data_ids])

    def is_data_referenced(self, data_id: str) -> bool:
        db = self._db()
        if db.execute("SELECT 1 FROM objects WHERE data_id = ? LIMIT 1", (data_id,)).fetchone():
            return True
        return (
            db.execute("SELECT 1 FROM garbage WHERE data_id = ?", (data_id,)).fetchone() is not None
        )


class _Listing:
    """A walk over one bucket's keys in order, rolling keys up into common prefixes."""

    def __init__(
        self, db: sqlite3.Connection, bucket: str, prefix: str, delimiter: str, start_after: str
    ) -> None:
        self.db = db
        self.bucket = bucket
        self.prefix = key_bytes(prefix)
        self.delimiter = key_bytes(delimiter)
        self.marker = key_bytes(start_after)
        self.upper = after_prefix(self.prefix)
        # the scan position: (bytes, inclusive)
        if self.marker >= self.prefix:
            self.cursor: tuple[bytes, bool] = (self.marker, False)
        else:
            self.cursor = (self.prefix, True)
        self.queries = 0

    def _rows(self, limit: int) -> list[tuple[bytes, bytes]]:
        self.queries += 1
        at, inclusive = self.cursor
        op = ">=" if inclusive else ">"
        sql = f"SELECT key, record FROM objects WHERE bucket = ? AND key {op} ?"
        args: list[object] = [self.bucket, at]
        if self.upper is not None:
            sql += " AND key < ?"
            args.append(self.upper)
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        return self.db.execute(sql, args).fetchall()

    def _rolled_up(self, key: bytes) -> bytes | None:
        if not self.delimiter:
            return None
        at = key.find(self.delimiter, len(self.prefix))
        return key[: at + len(self.delimiter)] if at >= 0 else None

    def page(self, max_keys: int) -> ListPage:
        contents: list[ObjectRecord] = []
        prefixes: list[str] = []
        last = ""
        while len(contents) + len(prefixes) < max_keys:
            rows = self._rows(max_keys - len(contents) - len(prefixes))
            if not rows:
                return ListPage(contents, prefixes, False, last)
            for key, record in rows:
                common = self._rolled_up(key)
                if common is not None:
                    self._seek_past(common)
                    if common > self.marker:
                        prefixes.append(key_text(common))
                        last = prefixes[-1]
                    break  # the cursor moved: query again from there
                contents.append(object_decoder.decode(record))
                last = contents[-1].key
                self.cursor = (key, False)
                if len(contents) + len(prefixes) == max_keys:
                    break
        return ListPage(contents, prefixes, bool(self._rows(1)), last)

    def _seek_past(self, common: bytes) -> None:
        beyond = after_prefix(common)
        if beyond is None:  # nothing can sort after it
            self.cursor = (b"\xff" * 1025, True)
        else:
            self.cursor = (beyond, True)
