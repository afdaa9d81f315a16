"""Metadata records, stored as msgpack with a format version."""

from __future__ import annotations

import msgspec

FORMAT = 1


class BucketRecord(msgspec.Struct, kw_only=True):
    name: str
    owner: str  # access key id of the owning account
    created: float  # epoch seconds
    region: str
    policy_id: str = ""
    format: int = FORMAT


class ObjectRecord(msgspec.Struct, kw_only=True):
    bucket: str
    key: str
    size: int
    etag: str  # hex, without quotes; "hex-N" for multipart objects
    last_modified: float  # epoch seconds
    content_type: str
    headers: dict[str, str] = {}  # stored standard headers (content-encoding, ...)
    user_meta: dict[str, str] = {}  # x-amz-meta-* names without the prefix, lower-case
    checksums: dict[str, str] = {}  # algorithm -> base64 value
    storage_class: str = "STANDARD"
    owner: str = ""
    data_id: str = ""  # the data file's id; "" when the bytes are inline
    inline: bytes | None = None
    version_id: str = "null"
    format: int = FORMAT


class ListPage(msgspec.Struct):
    contents: list[ObjectRecord]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str


bucket_encoder = msgspec.msgpack.Encoder()
bucket_decoder = msgspec.msgpack.Decoder(BucketRecord)
object_decoder = msgspec.msgpack.Decoder(ObjectRecord)
