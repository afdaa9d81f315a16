"""Multipart uploads in the metadata model: parts, completion, garbage and listing order."""

from __future__ import annotations

import time

import msgspec
import pytest

from oxstore.meta.records import ObjectRecord, PartRecord, UploadRecord
from oxstore.meta.store import NoSuchUploadError
from tests.meta.helpers import Blocking, object_record

LATER = 1e12  # claim everything, whatever its age


def upload(bucket: str, key: str, upload_id: str) -> UploadRecord:
    return UploadRecord(
        upload_id=upload_id,
        bucket=bucket,
        key=key,
        initiated=time.time(),
        owner="OWNER",
        content_type="binary/octet-stream",
    )


def part(number: int, data_id: str, size: int = 10) -> PartRecord:
    return PartRecord(
        number=number, data_id=data_id, size=size, etag="00" * 16, last_modified=time.time()
    )


def assemble_all(numbers: list[int]):  # type: ignore[no-untyped-def]
    def assemble(up: UploadRecord, parts: list[PartRecord]) -> tuple[ObjectRecord, list[int]]:
        chosen = [p for p in parts if p.number in numbers]
        record = msgspec.structs.replace(
            object_record(up.bucket, up.key, data_id=up.upload_id),
            size=sum(p.size for p in chosen),
            parts_count=len(chosen),
        )
        return record, [p.number for p in chosen]

    return assemble


def test_parts_replace_complete_and_collect(meta: Blocking, bucket: str) -> None:
    meta.create_upload(upload(bucket, "k", "u1"))
    for number, data_id in ((1, "p1"), (2, "p2a"), (2, "p2b"), (3, "p3")):
        meta.put_part("u1", part(number, data_id))
    assert [p.data_id for p in meta.list_parts("u1")] == ["p1", "p2b", "p3"]
    assert meta.take_garbage(LATER, 10) == ["p2a"]  # the replaced part
    record, replaced = meta.complete_upload("u1", assemble_all([1, 2]))
    assert replaced is None and record.parts_count == 2
    assert meta.get_upload("u1") is None
    assert sorted(meta.take_garbage(LATER, 10)) == ["p2a", "p3"]  # p3 was not chosen
    assert meta.is_data_referenced("p1") and meta.is_data_referenced("p2b")
    with pytest.raises(NoSuchUploadError):
        meta.put_part("u1", part(4, "late"))
    # the object's parts stay readable until it is replaced; then they go with it
    assert [p.data_id for p in meta.list_parts("u1")] == ["p1", "p2b"]
    meta.claim_garbage(LATER, 10)
    meta.put_object(object_record(bucket, "k", inline=b"new"))
    assert sorted(meta.claim_garbage(LATER, 10)) == ["p1", "p2b", "u1"]
    assert meta.list_parts("u1") == [] and not meta.is_data_referenced("p1")


def test_a_failed_assembly_changes_nothing(meta: Blocking, bucket: str) -> None:
    meta.create_upload(upload(bucket, "k", "u1"))
    meta.put_part("u1", part(1, "p1"))

    def refuse(up: UploadRecord, parts: list[PartRecord]) -> tuple[ObjectRecord, list[int]]:
        raise ValueError("InvalidPart")

    with pytest.raises(ValueError):
        meta.complete_upload("u1", refuse)
    assert meta.get_upload("u1") is not None and meta.get_object(bucket, "k") is None
    assert meta.take_garbage(LATER, 10) == []


def test_abort_and_bucket_delete_leave_only_garbage(meta: Blocking, bucket: str) -> None:
    for upload_id in ("u1", "u2"):
        meta.create_upload(upload(bucket, upload_id, upload_id))
        meta.put_part(upload_id, part(1, f"{upload_id}-p1"))
    assert meta.abort_upload("u1") and not meta.abort_upload("u1")
    assert meta.delete_bucket(bucket) == "deleted"  # uploads in progress do not keep it
    assert sorted(meta.take_garbage(LATER, 10)) == ["u1-p1", "u2-p1"]
    assert meta.get_upload("u2") is None


def test_uploads_list_by_key_then_age(meta: Blocking, bucket: str) -> None:
    for upload_id, key in (("03", "b"), ("01", "b"), ("02", "a/x"), ("04", "a/y"), ("05", "c")):
        meta.create_upload(upload(bucket, key, upload_id))
    page = meta.list_uploads(bucket)
    assert [(u.key, u.upload_id) for u in page.uploads] == [
        ("a/x", "02"),
        ("a/y", "04"),
        ("b", "01"),
        ("b", "03"),
        ("c", "05"),
    ]
    first = meta.list_uploads(bucket, delimiter="/", max_uploads=2)
    assert first.common_prefixes == ["a/"] and [u.upload_id for u in first.uploads] == ["01"]
    assert first.is_truncated and (first.next_key_marker, first.next_upload_id_marker) == (
        "b",
        "01",
    )
    rest = meta.list_uploads(
        bucket, delimiter="/", key_marker="b", upload_id_marker="01", max_uploads=2
    )
    assert [u.upload_id for u in rest.uploads] == ["03", "05"] and not rest.is_truncated
    after_prefix = meta.list_uploads(bucket, delimiter="/", key_marker="a/")
    assert [u.upload_id for u in after_prefix.uploads] == ["01", "03", "05"]
    assert meta.list_uploads(bucket, prefix="a/", max_uploads=0).is_truncated
