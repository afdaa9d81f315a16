"""Tagging: object tags (per version; ?tagging and the x-amz-tagging header) and bucket tags."""

from __future__ import annotations

import re

from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import (
    change_bucket,
    owned_bucket,
    read_config_body,
    xml_response,
)
from oxstore.s3.ops.versioning import change_version, find_object, version_arg, version_headers
from oxstore.s3.xml import document, el, group, parse

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
MAX_TAGGING_BODY = 64 * 1024
_TAG_TEXT = re.compile(r"^[\w\s+\-=.:/@]*$")  # what S3's tag restrictions allow
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def checked_tags(pairs: list[tuple[str, str]], limit: int) -> dict[str, str]:
    """A tag set as S3 accepts it: at most `limit` tags, unique keys of 1..128 characters,
    values up to 256, both of letters, digits, spaces and + - = . _ : / @ only, no aws:
    prefix. InvalidTag otherwise."""
    if len(pairs) > limit:
        whose = "Object tags" if limit == MAX_OBJECT_TAGS else "Bucket tag count"
        raise S3Error("InvalidTag", f"{whose} cannot be greater than {limit}")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not _TAG_TEXT.match(key):
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
        if len(value) > MAX_VALUE_LENGTH or not _TAG_TEXT.match(value):
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid", TagKey=key)
        if key.lower().startswith("aws:"):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:", TagKey=key)
        if key in tags:
            raise S3Error(
                "InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=key
            )
        tags[key] = value
    return tags


def tagging_count(record: ObjectRecord) -> list[tuple[str, str]]:
    return [("x-amz-tagging-count", str(len(record.tags)))] if record.tags else []


async def _tag_set(call: Call, limit: int) -> dict[str, str]:
    return parse_tagging(await read_config_body(call, MAX_TAGGING_BODY), limit)


def parse_tagging(document_bytes: bytes, limit: int = MAX_OBJECT_TAGS) -> dict[str, str]:
    """A <Tagging><TagSet> document (?tagging bodies, the tagging field of POST uploads)."""
    root = parse(document_bytes)
    tag_set = root.find("TagSet") if root.tag == "Tagging" else None
    if tag_set is None:
        raise S3Error("MalformedXML")
    pairs = []
    for tag in tag_set.findall("Tag"):
        key, value = tag.findtext("Key"), tag.findtext("Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        pairs.append((key, value))
    return checked_tags(pairs, limit)


def _tagging_xml(tags: dict[str, str]) -> bytes:
    """A tag set as S3 answers it: sorted by key, whatever order it was set in."""
    return document(
        "Tagging",
        [
            group(
                "TagSet",
                (group("Tag", [el("Key", k), el("Value", v)]) for k, v in sorted(tags.items())),
            )
        ],
    )


# -- object tagging ---------------------------------------------------------------------------


async def _set_object_tags(call: Call, tags: dict[str, str], status: int) -> Response:
    bucket = await owned_bucket(call)
    version_id = version_arg(call)
    await find_object(call, bucket, call.key, version_id)  # 404 / 405 answers of the version

    def change(record: ObjectRecord) -> None:
        record.tags = tags

    response = await change_version(call, bucket, version_id, change)
    response.status = status
    return response


async def put_object_tagging(call: Call) -> Response:
    return await _set_object_tags(call, await _tag_set(call, MAX_OBJECT_TAGS), 200)


async def delete_object_tagging(call: Call) -> Response:
    return await _set_object_tags(call, {}, 204)


async def get_object_tagging(call: Call) -> Response:
    bucket = await owned_bucket(call)
    record = await find_object(call, bucket, call.key, version_arg(call))
    response = xml_response(_tagging_xml(record.tags))
    response.headers += version_headers(bucket, record)
    return response


# -- bucket tagging ---------------------------------------------------------------------------


async def _set_bucket_tags(call: Call, tags: dict[str, str]) -> Response:
    await owned_bucket(call)

    def change(bucket: BucketRecord) -> None:
        bucket.tags = tags

    await change_bucket(call, change)
    return Response(status=204)


async def put_bucket_tagging(call: Call) -> Response:
    return await _set_bucket_tags(call, await _tag_set(call, MAX_BUCKET_TAGS))


async def get_bucket_tagging(call: Call) -> Response:
    bucket = await owned_bucket(call)
    if not bucket.tags:
        raise S3Error("NoSuchTagSet", BucketName=call.bucket)
    return xml_response(_tagging_xml(bucket.tags))


async def delete_bucket_tagging(call: Call) -> Response:
    return await _set_bucket_tags(call, {})
