"""Record builders and a brute-force model of S3's listing, shared by the metadata tests."""

from __future__ import annotations

import time

from oxstore.meta.records import BucketRecord, ObjectRecord
from tests.listing_model import model, utf8

__all__ = ["bucket_record", "model", "object_record", "utf8"]


def bucket_record(name: str, owner: str = "OWNER") -> BucketRecord:
    return BucketRecord(name=name, owner=owner, created=time.time(), region="us-east-1")


def object_record(
    bucket: str, key: str, data_id: str = "", inline: bytes | None = None, size: int = 0
) -> ObjectRecord:
    return ObjectRecord(
        bucket=bucket,
        key=key,
        size=len(inline) if inline is not None else size,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        last_modified=time.time(),
        content_type="application/octet-stream",
        data_id=data_id,
        inline=inline,
    )
