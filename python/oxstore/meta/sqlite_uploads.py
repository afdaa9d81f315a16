"""Multipart uploads in the SQLite metadata store.

An upload is a row of `uploads` while in progress; each part is a row of `parts` naming its own
data file. Complete removes the upload row and makes the object's data_id the upload id: the
parts rows stay and become the object's ordered list of data files, so completing copies no
data. When that object is replaced or deleted, the upload id goes to the garbage like any data
id, and claiming it claims the data files of its parts.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from oxstore.meta.keys import Rollup, key_bytes, key_text
from oxstore.meta.records import (
    ObjectRecord,
    PartRecord,
    UploadPage,
    UploadRecord,
    decode_part,
    decode_upload,
    encode_record,
)
from oxstore.meta.store import NoSuchBucketError, NoSuchUploadError

UPLOAD_TABLES = [
    """CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key BLOB NOT NULL,
        record BLOB NOT NULL)""",
    "CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id)",
    """CREATE TABLE parts (upload_id TEXT NOT NULL, number INTEGER NOT NULL,
        data_id TEXT NOT NULL, record BLOB NOT NULL, PRIMARY KEY (upload_id, number))
        WITHOUT ROWID""",
    "CREATE INDEX parts_by_data ON parts (data_id)",
]

# Builds the completed object from the upload and its current parts (inside the transaction);
# returns the object and the part numbers it is made of. Whatever it raises aborts Complete.
Assemble = Callable[[UploadRecord, list[PartRecord]], tuple[ObjectRecord, list[int]]]


def _upload_blob(record: UploadRecord) -> bytes:
    return encode_record(record)


def _upload(raw: bytes) -> UploadRecord:
    return decode_upload(raw)


class UploadTables:
    """The upload and part methods of SqliteMetaStore (a mixin over its connection helpers)."""

    if TYPE_CHECKING:

        def _db(self) -> sqlite3.Connection: ...
        def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _replace_object(
            self,
            db: sqlite3.Connection,
            record: ObjectRecord,
            shares_data: bool,
            condition: Callable[[ObjectRecord | None], None] | None,
        ) -> ObjectRecord | None: ...

    # -- uploads in progress -----------------------------------------------------------------

    def create_upload(self, record: UploadRecord) -> None:
        with self._write() as db:
            exists = db.execute("SELECT 1 FROM buckets WHERE name = ?", (record.bucket,))
            if exists.fetchone() is None:
                raise NoSuchBucketError(record.bucket)
            db.execute(
                "INSERT INTO uploads (upload_id, bucket, key, record) VALUES (?, ?, ?, ?)",
                (record.upload_id, record.bucket, key_bytes(record.key), _upload_blob(record)),
            )

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        row = (
            self._db()
            .execute("SELECT record FROM uploads WHERE upload_id = ?", (upload_id,))
            .fetchone()
        )
        return _upload(row[0]) if row else None

    def put_part(self, upload_id: str, part: PartRecord) -> None:
        """Records an uploaded part; one uploaded before under the same number is replaced and
        its data goes to the garbage. NoSuchUploadError if the upload ended meanwhile."""
        with self._write() as db:
            self._require_upload(db, upload_id)
            old = db.execute(
                "SELECT data_id FROM parts WHERE upload_id = ? AND number = ?",
                (upload_id, part.number),
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO parts (upload_id, number, data_id, record)"
                " VALUES (?, ?, ?, ?)",
                (upload_id, part.number, part.data_id, encode_record(part)),
            )
            if old is not None and old[0] != part.data_id:
                self._discard(db, [old[0]])

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10_000) -> list[PartRecord]:
        """Parts numbered above `after`, in order: of an upload in progress, or of the completed
        multipart object whose data_id is upload_id."""
        rows = self._db().execute(
            "SELECT record FROM parts WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?",
            (upload_id, after, limit),
        )
        return [decode_part(r[0]) for r in rows]

    def complete_upload(
        self,
        upload_id: str,
        assemble: Assemble,
        condition: Callable[[ObjectRecord | None], None] | None = None,
    ) -> tuple[ObjectRecord, ObjectRecord | None]:
        """Turns the upload into its object in one transaction: returns (new, replaced).

        Parts not chosen by `assemble` go to the garbage. NoSuchUploadError when the upload
        is not in progress; `condition` as for put_object.
        """
        with self._write() as db:
            upload = self._require_upload(db, upload_id)
            parts = [
                decode_part(r[0])
                for r in db.execute(
                    "SELECT record FROM parts WHERE upload_id = ? ORDER BY number", (upload_id,)
                )
            ]
            record, chosen = assemble(upload, parts)
            kept = set(chosen)
            dropped = [p for p in parts if p.number not in kept]
            db.executemany(
                "DELETE FROM parts WHERE upload_id = ? AND number = ?",
                [(upload_id, p.number) for p in dropped],
            )
            self._discard(db, [p.data_id for p in dropped])
            db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
            replaced = self._replace_object(db, record, False, condition)
        return record, replaced

    def uploads_before(self, upload_id: str, limit: int) -> list[str]:
        with self._read() as db:
            rows = db.execute(
                "SELECT upload_id FROM uploads WHERE upload_id < ? ORDER BY upload_id LIMIT ?",
                (upload_id, limit),
            )
            return [r[0] for r in rows]

    def abort_upload(self, upload_id: str) -> bool:
        """Ends the upload; its parts go to the garbage. False if it was not in progress."""
        with self._write() as db:
            if db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,)).rowcount == 0:
                return False
            self._drop_parts(db, upload_id)
        return True

    def list_uploads(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        """One page of ListMultipartUploads: by key, then by upload id (= initiation order)."""
        with self._read() as db:
            return _UploadListing(db, bucket, prefix, delimiter).page(
                key_marker, upload_id_marker, max_uploads
            )

    # -- inside other transactions -----------------------------------------------------------

    @staticmethod
    def _require_upload(db: sqlite3.Connection, upload_id: str) -> UploadRecord:
        row = db.execute("SELECT record FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
        if row is None:
            raise NoSuchUploadError(upload_id)
        return _upload(row[0])

    @staticmethod
    def _discard(db: sqlite3.Connection, data_ids: list[str]) -> None:
        """Queues part data files as garbage (nothing else ever references a part's file)."""
        now = time.time()
        db.executemany(
            "INSERT OR IGNORE INTO garbage (data_id, since) VALUES (?, ?)",
            [(i, now) for i in data_ids],
        )

    def _drop_parts(self, db: sqlite3.Connection, upload_id: str) -> None:
        ids = [
            r[0] for r in db.execute("SELECT data_id FROM parts WHERE upload_id = ?", (upload_id,))
        ]
        db.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
        self._discard(db, ids)

    def _abort_uploads_of(self, db: sqlite3.Connection, bucket: str) -> None:
        """Aborts every upload in progress in a bucket that is being deleted."""
        ids = [
            r[0] for r in db.execute("SELECT upload_id FROM uploads WHERE bucket = ?", (bucket,))
        ]
        db.execute("DELETE FROM uploads WHERE bucket = ?", (bucket,))
        for upload_id in ids:
            self._drop_parts(db, upload_id)

    @staticmethod
    def _claim_parts_of(db: sqlite3.Connection, manifest_ids: list[str]) -> list[str]:
        """The data files of the parts of claimed multipart objects; their rows are removed."""
        claimed: list[str] = []
        for manifest in manifest_ids:
            claimed += [
                r[0]
                for r in db.execute("SELECT data_id FROM parts WHERE upload_id = ?", (manifest,))
            ]
            db.execute("DELETE FROM parts WHERE upload_id = ?", (manifest,))
        return claimed

    @staticmethod
    def _is_part(db: sqlite3.Connection, data_id: str) -> bool:
        row = db.execute("SELECT 1 FROM parts WHERE data_id = ? LIMIT 1", (data_id,)).fetchone()
        return row is not None


class _UploadListing(Rollup):
    """A walk over a bucket's uploads in (key, upload id) order, rolling keys up into common
    prefixes; each common prefix costs one seek past all its uploads."""

    def __init__(self, db: sqlite3.Connection, bucket: str, prefix: str, delimiter: str) -> None:
        super().__init__(prefix, delimiter)
        self.db = db
        self.bucket = bucket

    def _rows(self, key: bytes, upload_id: str) -> Iterator[tuple[bytes, str, bytes]]:
        """Uploads after (key, upload_id) in order, within the prefix."""
        sql = (
            "SELECT key, upload_id, record FROM uploads WHERE bucket = ?"
            " AND (key > ? OR (key = ? AND upload_id > ?)) AND key >= ?"
        )
        args: list[object] = [self.bucket, key, key, upload_id, self.prefix]
        if self.upper is not None:
            sql += " AND key < ?"
            args.append(self.upper)
        yield from self.db.execute(sql + " ORDER BY key, upload_id", args)

    def page(self, key_marker: str, upload_id_marker: str, limit: int) -> UploadPage:
        # the position (key, upload id) is exclusive; an upload id above every real one (they
        # are hex) skips all uploads of that key, "" none of them
        past_key = "\U0010ffff"
        marker = key_bytes(key_marker)
        position: tuple[bytes, str] | None = (
            marker,
            upload_id_marker if key_marker and upload_id_marker else past_key,
        )
        rolled = self.rolled_up(marker)
        if rolled is not None:  # the marker is a common prefix listed on the previous page
            position = self._past(rolled)
        uploads: list[UploadRecord] = []
        prefixes: list[str] = []
        last = ("", "")
        while position is not None:
            at, position = position, None
            for key, upload_id, blob in self._rows(*at):
                if len(uploads) + len(prefixes) == limit:
                    return UploadPage(uploads, prefixes, True, *last)
                common = self.rolled_up(key)
                if common is None:
                    uploads.append(_upload(blob))
                    last = (key_text(key), upload_id)
                    continue
                prefixes.append(key_text(common))
                last = (key_text(common), "")
                position = self._past(common)
                break
        return UploadPage(uploads, prefixes, False, *last)

    def _past(self, common: bytes) -> tuple[bytes, str] | None:
        """The position after every upload whose key starts with common (None: nothing is)."""
        beyond = self.beyond(common)
        return (beyond, "") if beyond is not None else None  # keys >= beyond
