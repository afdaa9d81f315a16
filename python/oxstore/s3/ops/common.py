"""Helpers every operation family shares: bucket lookup with ownership, XML answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from oxstore import _native
from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord
from oxstore.s3 import checksums
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error

MAX_PART_NUMBER = 10_000

P = ParamSpec("P")
T = TypeVar("T")


async def offload(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Runs blocking work (a durable metadata commit, an fsync) off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def owned_bucket(call: Call) -> BucketRecord:
    """The request's bucket; NoSuchBucket if absent, AccessDenied if someone else's (unless
    an ACL granted this operation)."""
    record = call.bucket_record or await call.meta.get_bucket(call.bucket)
    call.bucket_record = None  # read once: a handler that asks again sees the store
    if record is None:
        raise S3Error("NoSuchBucket", BucketName=call.bucket)
    if record.owner != call.auth.owner and not call.granted:
        raise S3Error("AccessDenied")
    return record


def bucket_headers(bucket: BucketRecord) -> list[tuple[str, str]]:
    """The headers GET and HEAD of a bucket carry: its region and storage policy."""
    headers = [("x-amz-bucket-region", bucket.region)]
    if bucket.policy_id:
        headers.append(("x-gmt-policyid", bucket.policy_id))
    return headers


async def change_bucket(call: Call, change: Callable[[BucketRecord], None]) -> BucketRecord:
    """Applies change to the request's bucket settings atomically (NoSuchBucket if gone)."""
    changed = await call.meta.change_bucket(call.bucket, change)
    if changed is None:
        raise S3Error("NoSuchBucket", BucketName=call.bucket)
    return changed


async def set_bucket(call: Call, **settings: object) -> BucketRecord:
    """Sets fields of the request's bucket record (its settings) atomically."""

    def change(bucket: BucketRecord) -> None:
        for name, value in settings.items():
            setattr(bucket, name, value)

    return await change_bucket(call, change)


def require_content_digest(call: Call) -> None:
    """S3 requires Content-MD5 (or, from newer SDKs, an x-amz-checksum-*) on some requests:
    DeleteObjects, PutBucketCors."""
    if "content-md5" not in call.req.headers and not checksums.header_checksums(call.req):
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")


async def read_config_body(call: Call, limit: int, checksum_headers: bool = True) -> bytes:
    """A small request body (an XML document), checked against the signed x-amz-content-sha256,
    Content-MD5 and x-amz-checksum-*.

    Configuration documents are the one kind of body Python reads whole; payloads never are.
    checksum_headers=False: x-amz-checksum-* describe something else (Complete's object).
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in call.req.body:
        size += len(chunk)
        if size > limit:
            raise S3Error("MalformedXML")
        chunks.append(chunk)
    body = b"".join(chunks)
    signed = call.auth.payload.expected_sha256  # the x-amz-content-sha256 the signature pins
    if signed is not None and _native.digest("sha256", body) != signed:
        raise S3Error("XAmzContentSHA256Mismatch")
    expected = checksums.header_checksums(call.req) if checksum_headers else {}
    md5 = checksums.content_md5(call.req)
    if md5 is not None:
        expected["md5"] = md5
    for algorithm, digest in expected.items():
        if _native.digest(algorithm, body) != digest:
            raise S3Error("BadDigest")
    return body


OFF_LOOP_BODY = 64 * 1024  # bodies larger than this are parsed off the event loop


async def parsed(parse: Callable[[bytes], T], body: bytes) -> T:
    """A request body parsed, off the event loop when it is large enough to hold it up (a
    Complete of 10,000 parts takes a few hundred milliseconds)."""
    if len(body) > OFF_LOOP_BODY:
        return await offload(parse, body)
    return parse(body)


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(status=status, headers=[("content-type", "application/xml")], body=body)


def owner_xml(owner_id: str, tag: str = "Owner") -> str:
    """<Owner> (or <Initiator>) with the owner's canonical id (its display name too)."""
    from oxstore.s3.xml import el, group

    return group(tag, [el("ID", owner_id), el("DisplayName", owner_id)])


def int_arg(call: Call, name: str, default: int, low: int, high: int, message: str) -> int:
    """An integer query argument within [low, high]; InvalidArgument otherwise."""
    raw = call.req.arg(name)
    value = default
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
    if not low <= value <= high:
        raise S3Error("InvalidArgument", message, ArgumentName=name, ArgumentValue=raw or "")
    return value


def part_number(call: Call) -> int:
    """The partNumber argument (UploadPart, GET/HEAD of one part)."""
    return int_arg(
        call,
        "partNumber",
        0,
        1,
        MAX_PART_NUMBER,
        f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
    )
