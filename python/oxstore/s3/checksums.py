"""The checksums of S3 requests and answers: Content-MD5 and x-amz-checksum-* headers, and
the Checksum<ALGORITHM> elements of XML answers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from oxstore.http.request import Request
from oxstore.s3.errors import S3Error
from oxstore.s3.xml import el

# algorithm -> digest length in bytes; names as the native core spells them
CHECKSUM_LENGTHS = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
HEADER_PREFIX = "x-amz-checksum-"


def checksum_header(algorithm: str) -> str:
    return HEADER_PREFIX + algorithm


def algorithm_of(name: str) -> str:
    """'CRC32' / 'crc32' / 'CRC64NVME' -> native name; InvalidRequest for unknown ones."""
    algorithm = name.strip().lower()
    if algorithm not in CHECKSUM_LENGTHS:
        raise S3Error("InvalidRequest", f"Checksum algorithm {name} is not supported.")
    return algorithm


def content_md5(req: Request) -> bytes | None:
    value = req.headers.get("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise S3Error("InvalidDigest") from exc
    if len(digest) != 16:
        raise S3Error("InvalidDigest")
    return digest


def header_checksums(req: Request) -> dict[str, bytes]:
    """The x-amz-checksum-<alg> values sent as headers (at most one), decoded and checked."""
    return sent_checksums(req.headers)


def sent_checksums(values: Mapping[str, str]) -> dict[str, bytes]:
    """The x-amz-checksum-<alg> values among headers or a POST form's fields (at most one),
    decoded and checked."""
    found: dict[str, bytes] = {}
    for name, value in values.items():
        if not name.startswith(HEADER_PREFIX) or name in (
            "x-amz-checksum-type",
            "x-amz-checksum-algorithm",
            "x-amz-checksum-mode",
        ):
            continue
        algorithm = name[len(HEADER_PREFIX) :]
        if algorithm not in CHECKSUM_LENGTHS:
            raise S3Error("InvalidRequest", f"Unsupported checksum header {name}.")
        try:
            digest = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise S3Error("InvalidRequest", f"Value for {name} header is invalid.") from exc
        if len(digest) != CHECKSUM_LENGTHS[algorithm]:
            raise S3Error("InvalidRequest", f"Value for {name} header is invalid.")
        found[algorithm] = digest
    if len(found) > 1:
        raise S3Error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    return found


def requested_algorithm(req: Request, trailer: str | None) -> str | None:
    """The one extra checksum the object carries: from a header, the trailer or the SDK hint."""
    sent = header_checksums(req)
    hint = req.headers.get("x-amz-sdk-checksum-algorithm")
    if sent:
        algorithm = next(iter(sent))
        if hint and algorithm_of(hint) != algorithm:  # S3 documents BadDigest for this
            raise S3Error(
                "BadDigest",
                f"x-amz-sdk-checksum-algorithm {hint} does not match the checksum header "
                f"{checksum_header(algorithm)}.",
            )
        return algorithm
    if trailer:
        if not trailer.startswith(HEADER_PREFIX):
            raise S3Error("InvalidRequest", f"Unsupported trailer {trailer}.")
        return algorithm_of(trailer[len(HEADER_PREFIX) :])
    hint = hint or req.headers.get("x-amz-checksum-algorithm")
    return algorithm_of(hint) if hint else None


def mismatch(algorithm: str) -> S3Error:
    """BadDigest for a checksum that does not match the bytes (spelled as the core does)."""
    return S3Error(
        "BadDigest", f"The {algorithm.upper()} you specified did not match the calculated checksum."
    )


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def response_headers(kept: dict[str, str]) -> list[tuple[str, str]]:
    """x-amz-checksum-<alg> headers for checksums kept as algorithm -> base64 value."""
    return [(checksum_header(algorithm), value) for algorithm, value in kept.items()]


def xml_elements(kept: dict[str, str]) -> list[str]:
    """<ChecksumCRC32>...</ChecksumCRC32> elements for checksums kept as algorithm -> value."""
    return [el(f"Checksum{algorithm.upper()}", value) for algorithm, value in kept.items()]


def typed_headers(kept: dict[str, str], kind: str) -> list[tuple[str, str]]:
    """The checksum headers of an object's answer with x-amz-checksum-type (none without)."""
    return [*response_headers(kept), ("x-amz-checksum-type", kind)] if kept else []


def typed_elements(kept: dict[str, str], kind: str) -> list[str]:
    """The Checksum<ALG> elements of an object with its ChecksumType (none without)."""
    return [*xml_elements(kept), el("ChecksumType", kind)] if kept else []


def carries_digest(req: Request) -> bool:
    """Whether a write's body comes with a digest to check it by: Content-MD5 or an
    x-amz-checksum-* (a header, or a trailer the request announces)."""
    headers = req.headers
    if "content-md5" in headers or "x-amz-trailer" in headers:
        return True
    return "x-amz-sdk-checksum-algorithm" in headers or bool(header_checksums(req))
