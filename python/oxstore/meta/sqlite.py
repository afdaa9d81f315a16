"""The embedded metadata store: SQLite in WAL mode, shared by every worker process.

- Keys are stored as BLOBs of their UTF-8 bytes (lone surrogates kept with "surrogatepass"), so
  SQLite's memcmp order is S3's listing order (UTF-8 binary order = code point order).
- The key and bucket live in their columns only; the msgpack record blob leaves them empty.
- Inline payloads live in their own table, so listing never reads object bytes.
- Every write is one BEGIN IMMEDIATE transaction with synchronous=FULL: when a method returns,
  the change is durable. Each thread (of each process) has its own connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from oxstore.meta.group_commit import GroupCommitter
from oxstore.meta.keys import after_prefix, key_bytes, key_text
from oxstore.meta.records import (
    BucketRecord,
    ListPage,
    ObjectRecord,
    decode_bucket,
    encode_record,
)
from oxstore.meta.rows import object_from_row
from oxstore.meta.sqlite_uploads import UPLOAD_TABLES, UploadTables
from oxstore.meta.sqlite_versions import VERSION_TABLES, VersionTables
from oxstore.meta.store import (
    BucketExistsError,
    DataGoneError,
    DeleteBucketResult,
    NoSuchBucketError,
)

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 30_000

_TABLES = [
    "CREATE TABLE buckets (name TEXT PRIMARY KEY, owner TEXT NOT NULL, record BLOB NOT NULL)",
    "CREATE INDEX buckets_by_owner ON buckets (owner, name)",
    """CREATE TABLE objects (
        bucket TEXT NOT NULL, key BLOB NOT NULL, data_id TEXT NOT NULL, payload INTEGER,
        record BLOB NOT NULL, PRIMARY KEY (bucket, key)) WITHOUT ROWID""",
    "CREATE INDEX objects_by_data ON objects (data_id) WHERE data_id != ''",
    "CREATE TABLE payloads (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE TABLE garbage (data_id TEXT PRIMARY KEY, since REAL NOT NULL)",
    "CREATE INDEX garbage_by_since ON garbage (since)",
    *UPLOAD_TABLES,
    *VERSION_TABLES,
]

# schema 1 (the first commit) had no payload table, no garbage index and an owner-only index
_MIGRATE_FROM_1 = [
    "ALTER TABLE objects ADD COLUMN payload INTEGER",
    "CREATE TABLE payloads (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE INDEX garbage_by_since ON garbage (since)",
    "DROP INDEX IF EXISTS buckets_by_owner",
    "CREATE INDEX buckets_by_owner ON buckets (owner, name)",
    *UPLOAD_TABLES,
    *VERSION_TABLES,
]
# schema 2 had no multipart uploads, schema 3 no versions
_MIGRATE_FROM_2 = [*UPLOAD_TABLES, *VERSION_TABLES]
_MIGRATE_FROM_3 = VERSION_TABLES


def _is_object_data(db: sqlite3.Connection, data_id: str) -> bool:
    """Whether a version of an object (current or not) references the data."""
    for table in ("objects", "versions"):
        # "data_id != ''" lets SQLite use the partial index
        if db.execute(
            f"SELECT 1 FROM {table} WHERE data_id = ? AND data_id != '' LIMIT 1", (data_id,)
        ).fetchone():
            return True
    return False


class SqliteMetaStore(UploadTables, VersionTables):
    """The MetaStore over one SQLite database file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._group = GroupCommitter(self._db)  # put_object, delete_object
        self._create_schema()

    # -- connections and transactions ------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: connections never cross one)."""
        local = self._local
        pid = os.getpid()
        db: sqlite3.Connection | None = getattr(local, "db", None)
        if db is None or local.pid != pid:
            db = sqlite3.connect(
                self.path,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,  # only so close() can close every thread's connection
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            local.db = db
            local.pid = pid
            with self._lock:
                self._connections.append((pid, db))
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One durable write transaction; the write lock is taken up front (no upgrade)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One snapshot for several queries."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def _create_schema(self) -> None:
        with self._write() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: metadata schema {version} is newer than this oxstore "
                    f"(schema {SCHEMA_VERSION})"
                )
            if version == 0:
                statements = _TABLES
            elif version == 1:
                statements = _MIGRATE_FROM_1
            elif version == 2:
                statements = _MIGRATE_FROM_2
            elif version == 3:
                statements = _MIGRATE_FROM_3
            else:
                return
            for sql in statements:
                db.execute(sql)
            db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        """Closes every connection this process opened; a later call opens new ones."""
        pid = os.getpid()
        with self._lock:
            for owner, db in self._connections:
                if owner == pid:
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
                (record.name, record.owner, encode_record(record)),
            )

    def get_bucket(self, name: str) -> BucketRecord | None:
        row = self._db().execute("SELECT record FROM buckets WHERE name = ?", (name,)).fetchone()
        return decode_bucket(row[0]) if row else None

    def change_bucket(
        self, name: str, change: Callable[[BucketRecord], None]
    ) -> BucketRecord | None:
        """Applies change to a bucket's settings in one transaction; None if it is missing."""
        with self._write() as db:
            row = db.execute("SELECT record FROM buckets WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            record = decode_bucket(row[0])
            change(record)
            db.execute(
                "UPDATE buckets SET record = ? WHERE name = ?", (encode_record(record), name)
            )
            return record

    def list_buckets(self, owner: str | None) -> list[BucketRecord]:
        if owner is None:
            rows = self._db().execute("SELECT record FROM buckets ORDER BY name")
        else:
            rows = self._db().execute(
                "SELECT record FROM buckets WHERE owner = ? ORDER BY name", (owner,)
            )
        return [decode_bucket(r[0]) for r in rows]

    def count_buckets(self, owner: str) -> int:
        row = self._db().execute("SELECT count(*) FROM buckets WHERE owner = ?", (owner,))
        return int(row.fetchone()[0])

    def delete_bucket(self, name: str) -> DeleteBucketResult:
        with self._write() as db:
            if db.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone() is None:
                return "missing"
            for table in ("objects", "versions"):
                if db.execute(
                    f"SELECT 1 FROM {table} WHERE bucket = ? LIMIT 1", (name,)
                ).fetchone():
                    return "not_empty"
            self._abort_uploads_of(db, name)
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))
            return "deleted"

    # -- objects ---------------------------------------------------------------------------

    def put_object(
        self,
        record: ObjectRecord,
        shares_data: bool = False,
        condition: Callable[[ObjectRecord | None], None] | None = None,
    ) -> ObjectRecord | None:
        """See MetaStore.put_object. The returned record carries no inline payload."""
        return self._group.run(lambda db: self._replace_object(db, record, shares_data, condition))

    def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        raw = key_bytes(key)
        row = (
            self._db()
            .execute(
                "SELECT o.record, p.data FROM objects o LEFT JOIN payloads p ON p.id = o.payload"
                " WHERE o.bucket = ? AND o.key = ?",
                (bucket, raw),
            )
            .fetchone()
        )
        return object_from_row(bucket, raw, row[0], row[1]) if row else None

    def delete_object(
        self,
        bucket: str,
        key: str,
        condition: Callable[[ObjectRecord | None], None] | None = None,
    ) -> ObjectRecord | None:
        """See MetaStore.delete_object. The returned record carries no inline payload."""
        return self._group.run(lambda db: self._delete_in(db, bucket, key_bytes(key), condition))

    def _delete_in(
        self,
        db: sqlite3.Connection,
        bucket: str,
        raw: bytes,
        condition: Callable[[ObjectRecord | None], None] | None,
    ) -> ObjectRecord | None:
        try:
            versioning = self._versioning(db, bucket)
        except NoSuchBucketError:
            return None
        if condition is not None:
            current = self._current(db, bucket, raw)
            condition(object_from_row(bucket, raw, current[1]) if current else None)
        if versioning:
            return self._add_delete_marker(db, bucket, raw, versioning)
        gone = self._retire(db, bucket, raw, versioning)  # unversioned: the object goes
        for record, payload in gone:
            self._drop(db, record, payload)
        return gone[0][0] if gone else None

    # -- listing ---------------------------------------------------------------------------

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        """See MetaStore.list_objects. Each common prefix costs one seek past all its keys,
        so the cost does not grow with the number of keys rolled up or skipped."""
        with self._read() as db:
            return Listing(db, bucket, prefix, delimiter, start_after).page(max_keys)

    # -- garbage ---------------------------------------------------------------------------

    @staticmethod
    def _keep_alive(db: sqlite3.Connection, data_id: str) -> None:
        """Makes sure shared data outlives this transaction (inside the caller's transaction)."""
        if _is_object_data(db, data_id):
            return
        taken_back = db.execute("DELETE FROM garbage WHERE data_id = ?", (data_id,)).rowcount
        if not taken_back:
            raise DataGoneError(data_id)

    @staticmethod
    def _orphan(db: sqlite3.Connection, data_id: str) -> None:
        """Queues data nothing references any more (inside the caller's transaction)."""
        if _is_object_data(db, data_id):
            return  # another record (a copy, another version) shares the data
        db.execute(
            "INSERT OR IGNORE INTO garbage (data_id, since) VALUES (?, ?)", (data_id, time.time())
        )

    def claim_garbage(self, older_than: float, limit: int) -> list[str]:
        """See MetaStore.claim_garbage: read and removed in one transaction. A claimed multipart
        object's parts are claimed with it."""
        with self._write() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT data_id FROM garbage WHERE since < ? ORDER BY since LIMIT ?",
                    (older_than, limit),
                )
            ]
            db.executemany("DELETE FROM garbage WHERE data_id = ?", [(i,) for i in ids])
            return ids + self._claim_parts_of(db, ids)

    def take_garbage(self, older_than: float, limit: int) -> list[str]:
        rows = self._db().execute(
            "SELECT data_id FROM garbage WHERE since < ? ORDER BY since LIMIT ?",
            (older_than, limit),
        )
        return [r[0] for r in rows]

    def is_data_referenced(self, data_id: str) -> bool:
        db = self._db()
        if _is_object_data(db, data_id) or self._is_part(db, data_id):
            return True
        row = db.execute("SELECT 1 FROM garbage WHERE data_id = ?", (data_id,)).fetchone()
        return row is not None


class Listing:
    """One page of a walk over a bucket's keys in order, rolling keys up into common prefixes.

    The scan is a range [position, upper) on the primary key. Rows are stepped lazily; on a key
    that rolls up into a common prefix the scan stops and the next one starts past every key
    with that prefix. `queries` and `rows` count the work done (for tests).
    """

    def __init__(
        self, db: sqlite3.Connection, bucket: str, prefix: str, delimiter: str, start_after: str
    ) -> None:
        self.db = db
        self.bucket = bucket
        self.prefix = key_bytes(prefix)
        self.delimiter = key_bytes(delimiter)
        self.marker = key_bytes(start_after)
        self.upper = after_prefix(self.prefix)
        self.queries = 0
        self.rows = 0
        self.done = False
        # the scan position: (bytes, inclusive)
        self.position: tuple[bytes, bool] = (self.prefix, True)
        if self.marker >= self.prefix:
            self.position = (self.marker, False)
            rolled = self._rolled_up(self.marker) if self.marker.startswith(self.prefix) else None
            if rolled is not None:
                # every key after the marker under its common prefix rolls up into that prefix,
                # which sorts before the marker: it was listed already
                self._seek_past(rolled)

    def _scan(self, limit: int, columns: str = "key, record") -> sqlite3.Cursor:
        self.queries += 1
        at, inclusive = self.position
        op = ">=" if inclusive else ">"
        sql = f"SELECT {columns} FROM objects WHERE bucket = ? AND key {op} ?"
        args: list[object] = [self.bucket, at]
        if self.upper is not None:
            sql += " AND key < ?"
            args.append(self.upper)
        sql += " ORDER BY key LIMIT ?"
        args.append(limit)
        return self.db.execute(sql, args)

    def _rolled_up(self, key: bytes) -> bytes | None:
        if not self.delimiter:
            return None
        at = key.find(self.delimiter, len(self.prefix))
        return key[: at + len(self.delimiter)] if at >= 0 else None

    def _seek_past(self, common: bytes) -> None:
        beyond = after_prefix(common)
        if beyond is None or (self.upper is not None and beyond >= self.upper):
            self.done = True
        else:
            self.position = (beyond, True)

    def _more(self) -> bool:
        """Whether anything is listed after the position (every key there lists as an entry)."""
        if self.done:
            return False
        cursor = self._scan(1, "1")
        found = cursor.fetchone() is not None
        cursor.close()
        return found

    def page(self, max_keys: int) -> ListPage:
        contents: list[ObjectRecord] = []
        prefixes: list[str] = []
        last = b""
        if max_keys <= 0:
            return ListPage(contents, prefixes, self._more(), "")
        while not self.done:
            cursor = self._scan(max_keys - len(contents) - len(prefixes))
            sought = False
            for key, blob in cursor:
                self.rows += 1
                common = self._rolled_up(key)
                if common is None:
                    contents.append(object_from_row(self.bucket, key, blob))
                    last = key
                    self.position = (key, False)
                else:
                    self._seek_past(common)
                    sought = True
                    if common > self.marker:  # always true after the constructor's seek
                        prefixes.append(key_text(common))
                        last = common
                if len(contents) + len(prefixes) == max_keys:
                    cursor.close()
                    return ListPage(contents, prefixes, self._more(), key_text(last))
                if sought:
                    break
            cursor.close()
            if not sought:  # the range is exhausted
                break
        return ListPage(contents, prefixes, False, key_text(last))
