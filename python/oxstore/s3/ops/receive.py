"""Receiving a payload (PutObject, UploadPart, UploadPartCopy, POST uploads): streamed to
disk, verified, measured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from oxstore._native import NativeS3Error
from oxstore.auth.payload import content_length
from oxstore.data.layouts import Spec
from oxstore.meta.records import Layout
from oxstore.s3 import checksums
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error

if TYPE_CHECKING:
    from oxstore._native import ChunkedSpec, WriteResult


@dataclass(slots=True)
class Received:
    data_id: str  # "" when the payload came back inline
    layout: Layout
    size: int
    etag: str  # hex MD5
    checksums: dict[str, str]  # algorithm -> base64 value of the checksums the object keeps
    inline: bytes | None


def check_size(length: int, limit: int) -> None:
    if length > limit:
        raise S3Error("EntityTooLarge", ProposedSize=str(length), MaxSizeAllowed=str(limit))


async def receive(
    call: Call,
    spec: Spec,
    max_size: int,
    inline_limit: int = 0,
    required_algorithm: str = "",
    seal: bytes | None = None,
    data_id: str | None = None,
) -> Received:
    """Streams the request body into a data file (sealed under `seal`, a data key, if
    given; data_id: the file's id, when the key was made for it), checking every digest the
    request carries.

    The checksum kept with the payload is the one the request names (header, trailer or SDK
    hint); required_algorithm (a multipart upload's) must match it when both are present, and
    is computed when the request names none.
    """
    req = call.req
    length = content_length(req)
    if length is not None:
        check_size(length, max_size)
    payload = call.auth.payload
    chunked, expected = payload.writer_args()
    algorithm = checksums.requested_algorithm(req, chunked.get("trailer") if chunked else None)
    if required_algorithm and algorithm and algorithm != required_algorithm:
        raise S3Error(
            "InvalidRequest",
            f"Checksum Type mismatch occurred, expected checksum Type: {required_algorithm}, "
            f"actual checksum Type: {algorithm}",
        )
    algorithm = algorithm or required_algorithm
    # a checksum header may name the algorithm the signature already pins (sha256): the
    # signed hash is checked by the writer, the header's value afterwards (BadDigest)
    afterwards = {}
    for name, digest in checksums.header_checksums(req).items():
        if expected.get(name, digest) != digest:
            afterwards[name] = digest
        else:
            expected[name] = digest
    md5 = checksums.content_md5(req)
    if md5 is not None:
        expected["md5"] = md5
    if length is None and not expected and not afterwards:
        # a plain chunked body (no length): the HTTP server ends a body cut off by a broken
        # connection as it ends a whole one, so only a digest tells them apart; without one a
        # cut body would be stored, over the object it replaces
        raise S3Error("MissingContentLength")
    algorithms = {"md5", *payload.required_algorithms(), *expected}
    if algorithm:
        algorithms.add(algorithm)
    signed = payload.expected_sha256 is not None
    data_id, layout, result = await _write(
        call,
        spec,
        req.body,
        algorithms,
        chunked,
        expected,
        length,
        max_size,
        inline_limit,
        signed,
        seal,
        data_id,
    )
    for name, digest in afterwards.items():
        if result["digests"][name] != digest:
            if data_id:
                call.data.remove(data_id)
            raise checksums.mismatch(name)
    return _received(data_id, layout, result, algorithm)


async def write_stream(
    call: Call,
    spec: Spec,
    body: AsyncIterator[bytes | memoryview],
    size: int | None,
    max_size: int,
    inline_limit: int = 0,
    algorithm: str = "",
    expected: dict[str, bytes] | None = None,
    seal: bytes | None = None,
    data_id: str | None = None,
) -> Received:
    """Writes bytes that carry no signature (a copy's source, a form's file) into a new data
    file; size: the exact length when known; expected: digests they must have (a form's
    x-amz-checksum-* fields); seal, data_id: as receive's."""
    expected = expected or {}
    algorithms = {"md5", algorithm, *expected} - {""}
    data_id, layout, result = await _write(
        call,
        spec,
        body,
        algorithms,
        None,
        expected,
        size,
        max_size,
        inline_limit,
        False,
        seal,
        data_id,
    )
    return _received(data_id, layout, result, algorithm)


async def _write(
    call: Call,
    spec: Spec,
    body: AsyncIterator[bytes | memoryview],
    algorithms: set[str],
    chunked: ChunkedSpec | None,
    expected: dict[str, bytes],
    size: int | None,
    max_size: int,
    inline_limit: int,
    signed_sha256: bool,
    seal: bytes | None = None,
    data_id: str | None = None,
) -> tuple[str, Layout, WriteResult]:
    """The data store's write; a sha256 that does not match is XAmzContentSHA256Mismatch when
    the signature pinned it, BadDigest when an x-amz-checksum-sha256 did."""
    try:
        return await call.data.write(
            spec,
            body,
            sorted(algorithms),
            chunked,
            expected,
            size,
            max_size,
            inline_limit,
            seal,
            data_id,
        )
    except NativeS3Error as err:
        if err.code == "XAmzContentSHA256Mismatch" and not signed_sha256:
            raise checksums.mismatch("sha256") from err
        raise


def _received(data_id: str, layout: Layout, result: WriteResult, algorithm: str) -> Received:
    digests = result["digests"]
    return Received(
        data_id=data_id,
        layout=layout,
        size=result["size"],
        etag=digests["md5"].hex(),
        checksums={algorithm: checksums.encode(digests[algorithm])} if algorithm else {},
        inline=result["inline"],
    )
