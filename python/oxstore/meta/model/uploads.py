"""Multipart uploads: an upload in progress is a record of `uploads` (and a row of
`upload_keys` for listing); each part is a record of `parts` naming its own data file. Complete
removes the upload and makes the object's data id the upload id: the part records stay and
become the object's ordered list of data files, so completing copies no data. When no version
references that upload id any more, it goes to the garbage, and claiming it claims its parts.
"""

from __future__ import annotations

from collections.abc import Callable

from oxstore.meta.model import objects, refs, usage
from oxstore.meta.model.keys import (
    bucket_end,
    in_bucket,
    key_bytes,
    part_key,
    parts_of,
    upload_key,
)
from oxstore.meta.records import (
    ObjectRecord,
    PartRecord,
    UploadRecord,
    decode_part,
    decode_upload,
    encode_record,
)
from oxstore.meta.store import NoSuchBucketError, NoSuchUploadError, Tx

# Builds the completed object from the upload and its current parts (inside the transaction);
# returns the object and the part numbers it is made of. Whatever it raises aborts Complete.
Assemble = Callable[[UploadRecord, list[PartRecord]], tuple[ObjectRecord, list[int]]]


def create(tx: Tx, record: UploadRecord) -> None:
    if tx.get("buckets", record.bucket.encode()) is None:
        raise NoSuchBucketError(record.bucket)
    tx.put("uploads", record.upload_id.encode(), encode_record(record))
    key = upload_key(record.bucket, key_bytes(record.key), record.upload_id)
    tx.put("upload_keys", key, record.upload_id.encode())


def get(tx: Tx, upload_id: str) -> UploadRecord | None:
    stored = tx.get("uploads", upload_id.encode())
    return decode_upload(stored) if stored is not None else None


def _require(tx: Tx, upload_id: str) -> UploadRecord:
    upload = get(tx, upload_id)
    if upload is None:
        raise NoSuchUploadError(upload_id)
    return upload


def put_part(tx: Tx, upload_id: str, part: PartRecord) -> None:
    """Records an uploaded part; one uploaded before under the same number is replaced and its
    data goes to the garbage. NoSuchUploadError if the upload ended meanwhile."""
    upload = _require(tx, upload_id)
    key = part_key(upload_id, part.number)
    old = tx.get("parts", key)
    tx.put("parts", key, encode_record(part))
    tx.put("part_data", part.data_id.encode(), key)
    usage.add(tx, upload.bucket, part.size, 0)
    if old is not None:
        replaced = decode_part(old)
        usage.add(tx, upload.bucket, -replaced.size, 0)
        if replaced.data_id != part.data_id:
            _discard_parts(tx, [replaced.data_id])


def _discard_parts(tx: Tx, data_ids: list[str]) -> None:
    """Part files no part references any more (nothing else ever references a part's file)."""
    for data_id in data_ids:
        tx.delete("part_data", data_id.encode())
    refs.discard(tx, data_ids)


def list_parts(tx: Tx, upload_id: str, after: int = 0, limit: int = 10_000) -> list[PartRecord]:
    """Parts numbered above `after`, in order: of an upload in progress, or of the completed
    multipart object whose data_id is upload_id."""
    _, end = parts_of(upload_id)
    start = part_key(upload_id, after + 1)
    return [decode_part(stored) for _, stored in tx.scan("parts", start, end, limit)]


def _all_parts(tx: Tx, upload_id: str) -> list[PartRecord]:
    return [decode_part(stored) for _, stored in tx.scan("parts", *parts_of(upload_id))]


def _end(tx: Tx, upload: UploadRecord) -> None:
    tx.delete("uploads", upload.upload_id.encode())
    tx.delete("upload_keys", upload_key(upload.bucket, key_bytes(upload.key), upload.upload_id))


def complete(
    tx: Tx, upload_id: str, assemble: Assemble, condition: objects.Condition | None
) -> tuple[ObjectRecord, ObjectRecord | None]:
    """Turns the upload into its object: returns (new, replaced). Parts not chosen by
    `assemble` go to the garbage. NoSuchUploadError when the upload is not in progress;
    `condition` as for a PUT."""
    upload = _require(tx, upload_id)
    parts = _all_parts(tx, upload_id)
    record, chosen = assemble(upload, parts)
    kept = set(chosen)
    dropped = [p for p in parts if p.number not in kept]
    for part in dropped:
        tx.delete("parts", part_key(upload_id, part.number))
    _discard_parts(tx, [p.data_id for p in dropped])
    _end(tx, upload)
    usage.add(tx, upload.bucket, -sum(p.size for p in parts), 0)  # the object counts them now
    replaced = objects.put(tx, record, False, condition)
    return record, replaced


def abort(tx: Tx, upload_id: str) -> bool:
    """Ends an upload in progress; its parts go to the garbage. False if it was not."""
    upload = get(tx, upload_id)
    if upload is None:
        return False
    _end(tx, upload)
    parts = _all_parts(tx, upload_id)
    for part in parts:
        tx.delete("parts", part_key(upload_id, part.number))
    _discard_parts(tx, [p.data_id for p in parts])
    usage.add(tx, upload.bucket, -sum(p.size for p in parts), 0)
    return True


def abort_all_in(tx: Tx, bucket: str) -> None:
    """Aborts every upload in progress in a bucket that is being deleted."""
    rows = tx.scan("upload_keys", in_bucket(bucket), bucket_end(bucket))
    ids = [upload_id.decode() for _, upload_id in rows]
    for upload_id in ids:
        abort(tx, upload_id)


def before(tx: Tx, upload_id: str, limit: int) -> list[str]:
    """Up to limit ids of uploads in progress that sort below upload_id, lowest first."""
    return [key.decode() for key, _ in tx.scan("uploads", b"", upload_id.encode(), limit)]
