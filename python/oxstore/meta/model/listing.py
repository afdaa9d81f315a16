"""The three listings — objects (ListObjects v1/v2), versions (ListObjectVersions) and uploads
(ListMultipartUploads) — as walks over ordered tables that roll keys up into common prefixes.

Rows are read lazily; a key that rolls up into a common prefix ends the scan, and the next one
starts past every key of that prefix, so the cost of a page does not grow with the keys rolled
up or skipped.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from oxstore.meta.model import objects
from oxstore.meta.model import uploads as uploads_in_progress
from oxstore.meta.model.keys import (
    SEQ_MAX,
    Rollup,
    key_bytes,
    key_text,
    object_key,
    prefix_end,
    prefix_start,
    raw_key,
    seq_of,
)
from oxstore.meta.model.objects import CURRENT_SEQ
from oxstore.meta.records import (
    ListPage,
    ObjectRecord,
    UploadPage,
    UploadRecord,
    VersionPage,
)
from oxstore.meta.store import Tx


def _from(bucket: str, raw: bytes, inclusive: bool) -> bytes:
    """The table key where the rows of keys from raw (inclusive) or after it start; a key's
    rows (its versions, its uploads) all sort between object_key and this exclusive start."""
    if inclusive:
        return prefix_start(bucket, raw)
    return object_key(bucket, raw)[:-1] + b"\x01"


class ObjectListing(Rollup):
    """ListObjects: the keys of `objects` in order, within the prefix, after start_after."""

    def __init__(self, tx: Tx, bucket: str, prefix: str, delimiter: str, start_after: str):
        super().__init__(prefix, delimiter)
        self.tx = tx
        self.bucket = bucket
        self.marker = key_bytes(start_after)
        self.end = prefix_end(bucket, self.prefix)

    def _start(self) -> bytes | None:
        if self.marker < self.prefix:
            return _from(self.bucket, self.prefix, True)
        rolled = self.rolled_up(self.marker) if self.marker.startswith(self.prefix) else None
        if rolled is None:
            return _from(self.bucket, self.marker, False)
        # every key after the marker under its common prefix rolls up into that prefix, which
        # sorts before the marker: it was listed already
        beyond = self.beyond(rolled)
        return _from(self.bucket, beyond, True) if beyond is not None else None

    def page(self, max_keys: int) -> ListPage:
        contents: list[ObjectRecord] = []
        prefixes: list[str] = []
        last = b""
        start = self._start()
        while start is not None:
            at, start = start, None
            # without a delimiter every row is listed: the scan is told how many (a
            # network store then fetches exactly those); with one it may stop at any row
            wanted = None if self.delimiter else max_keys - len(contents) - len(prefixes) + 1
            for table_key, stored in self.tx.scan("objects", at, self.end, wanted):
                if len(contents) + len(prefixes) == max_keys:
                    return ListPage(contents, prefixes, True, key_text(last))
                raw = raw_key(table_key, self.bucket)
                common = self.rolled_up(raw)
                if common is None:
                    contents.append(objects.from_blob(self.bucket, raw, stored))
                    last = raw
                    continue
                if common > self.marker:
                    prefixes.append(key_text(common))
                    last = common
                beyond = self.beyond(common)
                start = _from(self.bucket, beyond, True) if beyond is not None else None
                break
        return ListPage(contents, prefixes, False, key_text(last))


class VersionListing(Rollup):
    """ListObjectVersions: every version of every key in (key, newest first) order — the
    current ones from `objects` merged with `versions` — rolled up into common prefixes."""

    def __init__(self, tx: Tx, bucket: str, prefix: str, delimiter: str) -> None:
        super().__init__(prefix, delimiter)
        self.tx = tx
        self.bucket = bucket
        self.end = prefix_end(bucket, self.prefix)

    def _rows(self, raw: bytes, seq: int) -> Iterator[tuple[bytes, int, bytes]]:
        """(key, seq, record) of the versions after (raw, seq) exclusive, in order: a key's
        current version stands at CURRENT_SEQ."""
        if raw < self.prefix:
            raw, seq = self.prefix, CURRENT_SEQ + 1
        current = self.tx.scan("objects", _from(self.bucket, raw, seq > CURRENT_SEQ), self.end)
        if seq <= 0:
            start = _from(self.bucket, raw, False)
        else:  # the key's versions below seq (stored newest first), then the later keys
            start = object_key(self.bucket, raw) + (SEQ_MAX - seq + 1).to_bytes(8, "big")
        older = self.tx.scan("versions", start, self.end)
        yield from heapq.merge(
            ((raw_key(k, self.bucket), CURRENT_SEQ, v) for k, v in current),
            ((raw_key(k, self.bucket, 8), seq_of(k), v) for k, v in older),
            key=lambda row: (row[0], -row[1]),
        )

    def _start(self, raw: bytes, version_id: str) -> int:
        """Where a page starts within the marker key (its versions below this seq come next):
        the place of the version the marker names, read from its id when the version is gone
        since, or past every version of the key when the id tells no place (the null version,
        older ids)."""
        now = objects.current(self.tx, self.bucket, raw)
        if now is not None and now.version_id == version_id:
            return CURRENT_SEQ
        found = objects.find_version(self.tx, self.bucket, raw, version_id)
        if found is not None:
            return found.seq
        seq = objects.seq_in_version_id(version_id)
        if seq is None:
            return -1
        if now is not None and now.seq < seq:
            return CURRENT_SEQ + 1  # older than the gone version: made current when it went
        return seq

    def _listed_before(self, raw: bytes, seq: int) -> bool:
        """Whether a version of raw stands before the start (so the next is not its latest)."""
        if seq <= CURRENT_SEQ and objects.current(self.tx, self.bucket, raw) is not None:
            return True
        older = objects.older_versions(self.tx, self.bucket, raw)
        return bool(older) and older[0].seq >= seq

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
            for raw, _seq, stored in self._rows(*at):
                if len(found) + len(prefixes) == limit:
                    return VersionPage(found, prefixes, True, *last)
                common = self.rolled_up(raw)
                if common is not None:
                    prefixes.append(key_text(common))
                    last = (key_text(common), "")
                    position = self._past(common)
                    break
                record = objects.from_blob(self.bucket, raw, stored)
                found.append((record, raw != previous_key))
                previous_key = raw
                last = (record.key, record.version_id)
        return VersionPage(found, prefixes, False, *last)

    def _past(self, common: bytes) -> tuple[bytes, int] | None:
        beyond = self.beyond(common)
        # keys >= beyond (every seq is below CURRENT_SEQ + 1)
        return (beyond, CURRENT_SEQ + 1) if beyond is not None else None


class UploadListing(Rollup):
    """ListMultipartUploads: uploads by key, then by upload id (= initiation order)."""

    def __init__(self, tx: Tx, bucket: str, prefix: str, delimiter: str) -> None:
        super().__init__(prefix, delimiter)
        self.tx = tx
        self.bucket = bucket
        self.end = prefix_end(bucket, self.prefix)

    def _rows(self, raw: bytes, after_id: str | None) -> Iterator[tuple[bytes, str]]:
        """(key, upload id) after (raw, after_id) exclusive; after_id None: after every upload
        of raw; "": every upload of raw."""
        if raw < self.prefix:
            raw, after_id = self.prefix, ""
        if after_id is None:
            start = _from(self.bucket, raw, False)
        elif not after_id:
            start = object_key(self.bucket, raw)
        else:
            start = object_key(self.bucket, raw) + after_id.encode() + b"\0"
        for table_key, upload_id in self.tx.scan("upload_keys", start, self.end):
            yield raw_key(table_key, self.bucket, len(upload_id)), upload_id.decode()

    def page(self, key_marker: str, upload_id_marker: str, limit: int) -> UploadPage:
        marker = key_bytes(key_marker)
        position: tuple[bytes, str | None] | None = (
            marker,
            upload_id_marker if key_marker and upload_id_marker else None,
        )
        rolled = self.rolled_up(marker)
        if rolled is not None:  # the marker is a common prefix listed on the previous page
            position = self._past(rolled)
        uploads: list[UploadRecord] = []
        prefixes: list[str] = []
        last = ("", "")
        while position is not None:
            at, position = position, None
            for raw, upload_id in self._rows(*at):
                if len(uploads) + len(prefixes) == limit:
                    return UploadPage(uploads, prefixes, True, *last)
                common = self.rolled_up(raw)
                if common is None:
                    record = uploads_in_progress.get(self.tx, upload_id)
                    assert record is not None
                    uploads.append(record)
                    last = (key_text(raw), upload_id)
                    continue
                prefixes.append(key_text(common))
                last = (key_text(common), "")
                position = self._past(common)
                break
        return UploadPage(uploads, prefixes, False, *last)

    def _past(self, common: bytes) -> tuple[bytes, str | None] | None:
        beyond = self.beyond(common)
        return (beyond, "") if beyond is not None else None
