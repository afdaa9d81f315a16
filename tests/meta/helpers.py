"""Record builders and a brute-force model of S3's listing, shared by the metadata tests."""

from __future__ import annotations

import time

from oxstore.meta.records import BucketRecord, ObjectRecord


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


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


def model(keys: list[str], prefix: str, delimiter: str, after: str) -> list[tuple[str, bool]]:
    """Every entry S3 lists after `after`, in order: (key, False) or (common prefix, True)."""
    out: list[tuple[str, bool]] = []
    for key in sorted(keys, key=utf8):
        if not key.startswith(prefix):
            continue
        entry, rolled = key, False
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                entry, rolled = key[: at + len(delimiter)], True
        if utf8(entry) <= utf8(after) or (out and out[-1][0] == entry):
            continue
        out.append((entry, rolled))
    return out
