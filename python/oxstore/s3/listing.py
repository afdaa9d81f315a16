"""ListObjects (v1) and ListObjectsV2: arguments, paging tokens and the XML answer."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote

from oxstore.http.request import Response
from oxstore.meta.records import ObjectRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import bucket_headers, owned_bucket, owner_xml, xml_response
from oxstore.s3.xml import document, el, escape, group, iso8601

MAX_KEYS = 1000
INT32_MAX = 2**31 - 1


def max_keys_arg(call: Call) -> int:
    raw = call.req.arg("max-keys")
    if raw is None or raw == "":
        return MAX_KEYS
    try:
        value = int(raw)
    except ValueError:
        value = INT32_MAX + 1
    if value > INT32_MAX:
        message = "Provided max-keys not an integer or within integer range"
    elif value < 0:
        message = f"Argument maxKeys must be an integer between 0 and {INT32_MAX}"
    else:
        return min(value, MAX_KEYS)
    raise S3Error("InvalidArgument", message, ArgumentName="maxKeys", ArgumentValue=raw)


Encoder = Callable[[str], str]  # how a listing spells keys and prefixes (encoding-type)


def encoder_for(call: Call) -> Encoder:
    encoding = call.req.arg("encoding-type")
    if encoding is None:
        return lambda s: s
    if encoding.lower() != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request")
    # S3 encodes a space as %20 (never "+", which stands for itself and is sent as %2B)
    return lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="/")


def truncated(store_truncated: bool, limit: int) -> bool:
    """IsTruncated of a page: never for a limit of 0, which S3 answers with an empty, complete
    page (a client following it would ask for the same empty page again)."""
    return store_truncated and limit > 0


def encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode("utf-8", "surrogatepass")).decode()


def decode_token(token: str) -> str:
    try:
        raw = base64.b64decode(token.encode(), altchars=b"-_", validate=True)
        return raw.decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeDecodeError) as exc:
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect") from exc


def checksum_summary(record: ObjectRecord) -> list[str]:
    """The ChecksumAlgorithm and ChecksumType elements of an object in a listing."""
    if not record.checksums:
        return []
    return [
        *(el("ChecksumAlgorithm", alg.upper()) for alg in record.checksums),
        el("ChecksumType", record.checksum_type),
    ]


def _contents(record: ObjectRecord, encode: Encoder, with_owner: bool) -> str:
    """One object of a listing, in one format: a page renders up to 1,000 of them."""
    checksums = "".join(checksum_summary(record)) if record.checksums else ""
    owner = owner_xml(record.owner) if with_owner else ""
    return (
        f"<Contents><Key>{escape(encode(record.key))}</Key>"
        f"<LastModified>{iso8601(record.last_modified)}</LastModified>"
        f'<ETag>"{escape(record.etag)}"</ETag><Size>{int(record.size)}</Size>{checksums}'
        f"<StorageClass>{escape(record.storage_class)}</StorageClass>{owner}</Contents>"
    )


async def list_objects_v2(call: Call) -> Response:
    bucket = await owned_bucket(call)
    encode = encoder_for(call)
    prefix = call.req.arg("prefix") or ""
    delimiter = call.req.arg("delimiter") or ""
    max_keys = max_keys_arg(call)
    token = call.req.arg("continuation-token") or None  # an empty token is no token
    start_after = call.req.arg("start-after") or ""
    # a continuation token already lies past start-after (clients send both on later pages)
    marker = decode_token(token) if token else start_after
    page = await call.meta.list_objects(call.bucket, prefix, delimiter, marker, max_keys)
    with_owner = (call.req.arg("fetch-owner") or "").lower() == "true"
    more = truncated(page.is_truncated, max_keys)
    body = document(
        "ListBucketResult",
        [
            el("Name", call.bucket),
            el("Prefix", encode(prefix)),
            el("Delimiter", encode(delimiter) if delimiter else None),
            el("MaxKeys", max_keys),
            el("EncodingType", "url" if call.req.arg("encoding-type") else None),
            el("KeyCount", len(page.contents) + len(page.common_prefixes)),
            el("IsTruncated", more),
            el("ContinuationToken", token),
            el("NextContinuationToken", encode_token(page.next_marker) if more else None),
            el("StartAfter", encode(start_after) if call.req.has_arg("start-after") else None),
            *(_contents(r, encode, with_owner) for r in page.contents),
            *(group("CommonPrefixes", [el("Prefix", encode(p))]) for p in page.common_prefixes),
        ],
    )
    response = xml_response(body)
    response.headers += bucket_headers(bucket)
    return response


async def list_objects(call: Call) -> Response:
    bucket = await owned_bucket(call)
    encode = encoder_for(call)
    prefix = call.req.arg("prefix") or ""
    delimiter = call.req.arg("delimiter") or ""
    marker = call.req.arg("marker") or ""
    max_keys = max_keys_arg(call)
    page = await call.meta.list_objects(call.bucket, prefix, delimiter, marker, max_keys)
    more = truncated(page.is_truncated, max_keys)
    next_marker = page.next_marker if more and delimiter else None
    body = document(
        "ListBucketResult",
        [
            el("Name", call.bucket),
            el("Prefix", encode(prefix)),
            el("Marker", encode(marker)),
            el("NextMarker", encode(next_marker) if next_marker else None),
            el("MaxKeys", max_keys),
            el("Delimiter", encode(delimiter) if delimiter else None),
            el("EncodingType", "url" if call.req.arg("encoding-type") else None),
            el("IsTruncated", more),
            *(_contents(r, encode, True) for r in page.contents),
            *(group("CommonPrefixes", [el("Prefix", encode(p))]) for p in page.common_prefixes),
        ],
    )
    response = xml_response(body)
    response.headers += bucket_headers(bucket)
    return response
