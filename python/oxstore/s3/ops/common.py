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

P = ParamSpec("P")
T = TypeVar("T")


async def offload(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Runs blocking work (a durable metadata commit, an fsync) off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def owned_bucket(call: Call) -> BucketRecord:
    """The request's bucket; NoSuchBucket if absent, AccessDenied if someone else's."""
    record = call.meta.get_bucket(call.bucket)
    if record is None:
        raise S3Error("NoSuchBucket", BucketName=call.bucket)
    if record.owner != call.auth.access_key:
        raise S3Error("AccessDenied")
    return record


async def read_config_body(call: Call, limit: int) -> bytes:
    """A small request body (an XML document), checked against Content-MD5 / x-amz-checksum-*.

    Configuration documents are the one kind of body Python reads whole; payloads never are.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in call.req.body:
        size += len(chunk)
        if size > limit:
            raise S3Error("MalformedXML")
        chunks.append(chunk)
    body = b"".join(chunks)
    expected = checksums.header_checksums(call.req)
    md5 = checksums.content_md5(call.req)
    if md5 is not None:
        expected["md5"] = md5
    for algorithm, digest in expected.items():
        if _native.digest(algorithm, body) != digest:
            raise S3Error("BadDigest")
    return body


def xml_response(body: bytes, status: int = 200) -> Response:
    return Response(status=status, headers=[("content-type", "application/xml")], body=body)


def owner_xml(access_key: str) -> str:
    from oxstore.s3.xml import el, group

    return group("Owner", [el("ID", access_key), el("DisplayName", access_key)])
