"""Object versions in the SQLite metadata store.

`objects` holds the current version of every key that has one (never a delete marker), so
listings and plain GETs read one table. `versions` holds everything older and every delete
marker. A key's versions are ordered by `seq` (larger is newer); the row in `objects`, when
there is one, is always the newest.

Writes follow the bucket's versioning state, read inside the write's transaction:
- "" (never enabled): the current object is replaced; there is no history.
- Enabled: the current object moves to `versions`; the new one gets a fresh version id. A
  delete without a version id adds a delete marker.
- Suspended: new writes and delete markers get the version id "null", replacing whatever
  "null" version the key had; versions with real ids stay.
Deleting a specific version removes it for good; if the current one goes, the newest remaining
version becomes current unless it is a delete marker.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from oxstore.meta.keys import Rollup, key_bytes, key_text
from oxstore.meta.records import ObjectRecord, VersionPage, decode_bucket, decode_object
from oxstore.meta.rows import object_blob, object_from_row
from oxstore.meta.store import NoSuchBucketError

# seq DESC: a key's versions are stored newest first, the order ListObjectVersions walks, so
# a page reads only its rows (no sort of the bucket's versions)
VERSION_TABLES = [
    """CREATE TABLE versions (bucket TEXT NOT NULL, key BLOB NOT NULL, seq INTEGER NOT NULL,
        version_id TEXT NOT NULL, data_id TEXT NOT NULL, payload INTEGER, record BLOB NOT NULL,
        PRIMARY KEY (bucket, key, seq DESC)) WITHOUT ROWID""",
    "CREATE INDEX versions_by_id ON versions (bucket, key, version_id)",
    "CREATE INDEX versions_by_data ON versions (data_id) WHERE data_id != ''",
]
NULL_VERSION = "null"
# the current version sorts before every older one of its key (seqs are nanosecond clocks)
CURRENT_SEQ = 2**62


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


class VersionTables:
    """The version methods of SqliteMetaStore (a mixin over its connection helpers)."""

    if TYPE_CHECKING:

        def _db(self) -> sqlite3.Connection: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _keep_alive(self, db: sqlite3.Connection, data_id: str) -> None: ...
        def _orphan(self, db: sqlite3.Connection, data_id: str) -> None: ...

    # -- writes ------------------------------------------------------------------------------

    def _replace_object(
        self,
        db: sqlite3.Connection,
        record: ObjectRecord,
        shares_data: bool,
        condition: Callable[[ObjectRecord | None], None] | None,
    ) -> ObjectRecord | None:
        """put_object inside the caller's transaction; sets record.version_id and seq."""
        versioning = self._versioning(db, record.bucket)
        key = key_bytes(record.key)
        if shares_data and record.data_id:
            self._keep_alive(db, record.data_id)
        current = self._current(db, record.bucket, key)
        old = object_from_row(record.bucket, key, current[1]) if current else None
        if condition is not None:
            condition(old)
        record.seq = self._next_seq(db, record.bucket, key, old)
        record.version_id = new_version_id(record.seq) if versioning == "Enabled" else NULL_VERSION
        retired = self._retire(db, record.bucket, key, versioning)
        payload: int | None = None
        if record.inline is not None:
            inserted = db.execute("INSERT INTO payloads (data) VALUES (?)", (record.inline,))
            payload = inserted.lastrowid
        db.execute(
            "INSERT INTO objects (bucket, key, data_id, payload, record) VALUES (?, ?, ?, ?, ?)",
            (record.bucket, key, record.data_id, payload, object_blob(record)),
        )
        # only now: the new record may share the data of the one it replaces (a copy onto
        # itself), which then stays referenced
        for gone, gone_payload in retired:
            self._drop(db, gone, gone_payload)
        return old

    def _add_delete_marker(
        self, db: sqlite3.Connection, bucket: str, key: bytes, versioning: str
    ) -> ObjectRecord:
        current = self._current(db, bucket, key)
        old = object_from_row(bucket, key, current[1]) if current else None
        seq = self._next_seq(db, bucket, key, old)
        marker = ObjectRecord(
            bucket=bucket,
            key=key_text(key),
            size=0,
            etag="",
            last_modified=time.time(),
            content_type="",
            version_id=new_version_id(seq) if versioning == "Enabled" else NULL_VERSION,
            delete_marker=True,
            seq=seq,
        )
        retired = self._retire(db, bucket, key, versioning)
        self._insert_version(db, marker, None)
        for gone, gone_payload in retired:
            self._drop(db, gone, gone_payload)
        return marker

    def _retire(
        self, db: sqlite3.Connection, bucket: str, key: bytes, versioning: str
    ) -> list[tuple[ObjectRecord, int | None]]:
        """Makes room for a new newest version: the current object moves to `versions` or
        goes (unversioned, or its "null" version while suspended); a suspended bucket's older
        "null" version goes too. Returns what went, for the caller to _drop() once the new
        version is in place."""
        gone: list[tuple[ObjectRecord, int | None]] = []
        current = self._current(db, bucket, key)
        if current is not None:
            old = object_from_row(bucket, key, current[1])
            db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
            if versioning == "Enabled" or (versioning and old.version_id != NULL_VERSION):
                self._insert_version(db, old, current[0])
            else:
                gone.append((old, current[0]))
        if versioning == "Suspended":
            row = db.execute(
                "SELECT payload, record FROM versions WHERE bucket = ? AND key = ?"
                " AND version_id = ?",
                (bucket, key, NULL_VERSION),
            ).fetchone()
            if row is not None:
                null = object_from_row(bucket, key, row[1])
                db.execute(
                    "DELETE FROM versions WHERE bucket = ? AND key = ? AND seq = ?",
                    (bucket, key, null.seq),
                )
                gone.append((null, row[0]))
        return gone

    def _insert_version(
        self, db: sqlite3.Connection, record: ObjectRecord, payload: int | None
    ) -> None:
        db.execute(
            "INSERT INTO versions (bucket, key, seq, version_id, data_id, payload, record)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.bucket,
                key_bytes(record.key),
                record.seq,
                record.version_id,
                record.data_id,
                payload,
                object_blob(record),
            ),
        )

    def _drop(self, db: sqlite3.Connection, record: ObjectRecord, payload: int | None) -> None:
        """Frees what a removed version held (its row is already gone)."""
        if payload is not None:
            db.execute("DELETE FROM payloads WHERE id = ?", (payload,))
        if record.data_id:
            self._orphan(db, record.data_id)

    def delete_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        """Removes one version for good (None if there is no such version); when the current
        one goes, the newest remaining version that is not a delete marker becomes current."""
        raw = key_bytes(key)
        with self._write() as db:
            current = self._current(db, bucket, raw)
            if (
                current is not None
                and object_from_row(bucket, raw, current[1]).version_id == version_id
            ):
                removed = object_from_row(bucket, raw, current[1])
                db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, raw))
                self._drop(db, removed, current[0])
            else:
                row = db.execute(
                    "SELECT payload, record FROM versions WHERE bucket = ? AND key = ?"
                    " AND version_id = ?",
                    (bucket, raw, version_id),
                ).fetchone()
                if row is None:
                    return None
                removed = object_from_row(bucket, raw, row[1])
                db.execute(
                    "DELETE FROM versions WHERE bucket = ? AND key = ? AND seq = ?",
                    (bucket, raw, removed.seq),
                )
                self._drop(db, removed, row[0])
            if current is None or removed.seq == object_from_row(bucket, raw, current[1]).seq:
                self._promote(db, bucket, raw)
        return removed

    def _promote(self, db: sqlite3.Connection, bucket: str, key: bytes) -> None:
        """Makes the newest version current when it is an object, not a delete marker."""
        row = db.execute(
            "SELECT seq, data_id, payload, record FROM versions WHERE bucket = ? AND key = ?"
            " ORDER BY seq DESC LIMIT 1",
            (bucket, key),
        ).fetchone()
        if row is None or object_from_row(bucket, key, row[3]).delete_marker:
            return
        db.execute(
            "DELETE FROM versions WHERE bucket = ? AND key = ? AND seq = ?", (bucket, key, row[0])
        )
        db.execute(
            "INSERT INTO objects (bucket, key, data_id, payload, record) VALUES (?, ?, ?, ?, ?)",
            (bucket, key, row[1], row[2], row[3]),
        )

    def update_version(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectRecord], None],
    ) -> ObjectRecord | None:
        """Changes the metadata of one version in place (tags, ACL): the current object when
        version_id is None. Returns the changed record; None when there is no such version.
        A delete marker cannot be changed: change() sees it and may raise."""
        raw = key_bytes(key)
        with self._write() as db:
            current = self._current(db, bucket, raw)
            if current is not None:
                record = object_from_row(bucket, raw, current[1])
                if version_id is None or record.version_id == version_id:
                    change(record)
                    db.execute(
                        "UPDATE objects SET record = ? WHERE bucket = ? AND key = ?",
                        (object_blob(record), bucket, raw),
                    )
                    return record
            if version_id is None:
                return None
            row = db.execute(
                "SELECT record FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
                (bucket, raw, version_id),
            ).fetchone()
            if row is None:
                return None
            record = object_from_row(bucket, raw, row[0])
            change(record)
            db.execute(
                "UPDATE versions SET record = ? WHERE bucket = ? AND key = ? AND seq = ?",
                (object_blob(record), bucket, raw, record.seq),
            )
            return record

    # -- reads -------------------------------------------------------------------------------

    def get_version(self, bucket: str, key: str, version_id: str) -> ObjectRecord | None:
        """One version (current or not, possibly a delete marker), with its inline payload."""
        raw = key_bytes(key)
        db = self._db()
        row = db.execute(
            "SELECT o.record, p.data FROM objects o LEFT JOIN payloads p ON p.id = o.payload"
            " WHERE o.bucket = ? AND o.key = ?",
            (bucket, raw),
        ).fetchone()
        if row is not None:
            record = object_from_row(bucket, raw, row[0], row[1])
            if record.version_id == version_id:
                return record
        row = db.execute(
            "SELECT v.record, p.data FROM versions v LEFT JOIN payloads p ON p.id = v.payload"
            " WHERE v.bucket = ? AND v.key = ? AND v.version_id = ?",
            (bucket, raw, version_id),
        ).fetchone()
        return object_from_row(bucket, raw, row[0], row[1]) if row else None

    def latest_delete_marker(self, bucket: str, key: str) -> ObjectRecord | None:
        """The delete marker that hides a key (its newest version), if that is what hides it."""
        raw = key_bytes(key)
        db = self._db()
        if self._current(db, bucket, raw) is not None:
            return None
        row = db.execute(
            "SELECT record FROM versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1",
            (bucket, raw),
        ).fetchone()
        if row is None:
            return None
        record = object_from_row(bucket, raw, row[0])
        return record if record.delete_marker else None

    def list_versions(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        with self._read() as db:
            walk = _VersionListing(db, bucket, prefix, delimiter)
            return walk.page(key_marker, version_id_marker, max_keys)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _versioning(db: sqlite3.Connection, bucket: str) -> str:
        row = db.execute("SELECT record FROM buckets WHERE name = ?", (bucket,)).fetchone()
        if row is None:
            raise NoSuchBucketError(bucket)
        return decode_bucket(row[0]).versioning

    @staticmethod
    def _current(
        db: sqlite3.Connection, bucket: str, key: bytes
    ) -> tuple[int | None, bytes] | None:
        row = db.execute(
            "SELECT payload, record FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return (row[0], row[1]) if row else None

    @staticmethod
    def _next_seq(
        db: sqlite3.Connection, bucket: str, key: bytes, current: ObjectRecord | None
    ) -> int:
        newest = db.execute(
            "SELECT max(seq) FROM versions WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()[0]
        return max(time.time_ns(), (current.seq if current else 0) + 1, (newest or 0) + 1)


class _VersionListing(Rollup):
    """ListObjectVersions: every version of every key in (key, newest first) order, current
    versions from `objects` merged with `versions`; keys roll up into common prefixes."""

    def __init__(self, db: sqlite3.Connection, bucket: str, prefix: str, delimiter: str) -> None:
        super().__init__(prefix, delimiter)
        self.db = db
        self.bucket = bucket

    def query(self, key: bytes, seq: int) -> tuple[str, list[object]]:
        """Versions after (key, seq) exclusive in (key asc, seq desc) order, within the
        prefix: the current versions merged with the older ones, both read in index order."""
        where = "bucket = ? AND (key > ? OR (key = ? AND {seq} < ?)) AND key >= ?"
        args: list[object] = [self.bucket, key, key, seq, self.prefix]
        if self.upper is not None:
            where += " AND key < ?"
            args.append(self.upper)
        current = where.format(seq=CURRENT_SEQ)
        older = where.format(seq="seq")
        sql = (
            f"SELECT key, {CURRENT_SEQ} AS seq, record FROM objects WHERE {current}"
            f" UNION ALL SELECT key, seq, record FROM versions WHERE {older}"
            " ORDER BY 1, 2 DESC"
        )
        return sql, args + args

    def _rows(self, key: bytes, seq: int) -> Iterator[tuple[bytes, int, bytes]]:
        yield from self.db.execute(*self.query(key, seq))

    def _start(self, key: bytes, version_id: str) -> int:
        """Where a page starts within the marker key (its versions below this seq come next):
        the place of the version the marker names, read from its id when the version is gone
        since, or past every version of the key when the id tells no place (the null version,
        older ids)."""
        row = self.db.execute(
            "SELECT seq FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
            (self.bucket, key, version_id),
        ).fetchone()
        if row is not None:
            return int(row[0])
        row = self.db.execute(
            "SELECT record FROM objects WHERE bucket = ? AND key = ?", (self.bucket, key)
        ).fetchone()
        current = decode_object(row[0]) if row is not None else None
        if current is not None and current.version_id == version_id:
            return CURRENT_SEQ
        seq = seq_in_version_id(version_id)
        if seq is None:
            return -1
        if current is not None and current.seq < seq:
            return CURRENT_SEQ + 1  # older than the gone version: made current when it went
        return seq

    def _listed_before(self, key: bytes, seq: int) -> bool:
        """Whether a version of key stands before the start (so the next is not its latest)."""
        row = self.db.execute(
            "SELECT 1 FROM objects WHERE bucket = ? AND key = ? AND ? <= ?"
            " UNION ALL SELECT 1 FROM versions WHERE bucket = ? AND key = ? AND seq >= ?"
            " LIMIT 1",
            (self.bucket, key, seq, CURRENT_SEQ, self.bucket, key, seq),
        ).fetchone()
        return row is not None

    def page(self, key_marker: str, version_id_marker: str, limit: int) -> VersionPage:
        marker = key_bytes(key_marker)
        position: tuple[bytes, int] | None = (marker, -1)  # after every version of the marker
        previous_key: bytes | None = None  # the key whose latest version was listed already
        if key_marker and version_id_marker:
            start = self._start(marker, version_id_marker)
            position = (marker, start)
            if self._listed_before(marker, start):
                previous_key = marker
        rolled = self.rolled_up(marker)
        if rolled is not None:
            position = self._past(rolled)
        found: list[tuple[ObjectRecord, bool]] = []
        prefixes: list[str] = []
        last = ("", "")
        while position is not None:
            at, position = position, None
            for key, _seq, blob in self._rows(*at):
                if len(found) + len(prefixes) == limit:
                    return VersionPage(found, prefixes, True, *last)
                common = self.rolled_up(key)
                if common is not None:
                    prefixes.append(key_text(common))
                    last = (key_text(common), "")
                    position = self._past(common)
                    break
                record = object_from_row(self.bucket, key, blob)
                found.append((record, key != previous_key))
                previous_key = key
                last = (record.key, record.version_id)
        return VersionPage(found, prefixes, False, *last)

    def _past(self, common: bytes) -> tuple[bytes, int] | None:
        beyond = self.beyond(common)
        # keys >= beyond (every seq is < CURRENT_SEQ + 1)
        return (beyond, CURRENT_SEQ + 1) if beyond is not None else None
