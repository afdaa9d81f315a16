"""Object operations: PutObject, CopyObject, GetObject, HeadObject, DeleteObject(s)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote

import msgspec

from oxstore.http.request import Request, Response
from oxstore.meta.model import QuotaExceededError
from oxstore.meta.records import BucketRecord, ObjectRecord, Plain
from oxstore.meta.store import DataGoneError, NoSuchBucketError
from oxstore.s3 import (
    checksums,
    description,
    encryption,
    object_data,
    object_lock,
    permissions,
    sse,
)
from oxstore.s3.conditions import read_precondition
from oxstore.s3.context import Call
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import S3Error
from oxstore.s3.listing import truncated
from oxstore.s3.ops.acl import object_acl
from oxstore.s3.ops.common import (
    offload,
    owned_bucket,
    parsed,
    part_number,
    read_config_body,
    require_content_digest,
    xml_response,
)
from oxstore.s3.ops.receive import receive, write_stream
from oxstore.s3.ops.tagging import tagging_count
from oxstore.s3.ops.versioning import (
    NULL,
    Deleted,
    checked_version_id,
    delete_key,
    find_object,
    version_arg,
    version_headers,
)
from oxstore.s3.ranges import parse_range
from oxstore.s3.xml import document, el, group, http_date, iso8601, parse

T = TypeVar("T")
MAX_KEY_BYTES = 1024
# response-* query arguments of a signed GET override these headers.
RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


def check_key(key: str) -> None:
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(size), MaxSizeAllowed=str(MAX_KEY_BYTES))


async def put_object(call: Call) -> Response:
    bucket = await owned_bucket(call)
    check_key(call.key)
    described = description.of_headers(call.req.headers, call.config, secure=call.secure)
    await permissions.check_lock_asked(call, bucket, call.key, described.lock)
    sealed = await encryption.sealing(call, encryption.asked_for(bucket, described.encryption))
    seal = sealed.data_key if sealed else None
    owner, acl = await object_acl(call, described.acl, bucket)
    digest = checksums.carries_digest(call.req)
    lock = object_lock.for_write(described.lock, bucket.object_lock, digest)
    spec = call.data.spec_for(bucket.policy_id)
    config = call.config
    received = await receive(call, spec, config.max_object_size, config.inline_threshold, seal=seal)
    record = ObjectRecord(
        bucket=call.bucket,
        key=call.key,
        size=received.size,
        etag=encryption.etag(sealed, received.etag),
        last_modified=time.time(),
        **described.stored(),
        checksums=received.checksums,
        owner=owner,
        acl=acl,
        data_id=received.data_id,
        layout=received.layout,
        inline=received.inline,
        encryption=encryption.envelope(call, sealed, received.data_id),
        **lock,
    )
    data_id = received.data_id
    try:
        await call.meta.put_object(
            record, condition=described.condition(call.key), quota=call.quota
        )
    except (NoSuchBucketError, S3Error, QuotaExceededError) as exc:
        if data_id:
            call.data.remove(data_id)
        if not isinstance(exc, NoSuchBucketError):
            raise
        raise S3Error("NoSuchBucket", BucketName=call.bucket) from exc
    headers = [("etag", f'"{record.etag}"'), *version_headers(bucket, record)]
    headers += checksums.typed_headers(record.checksums, record.checksum_type)
    headers += encryption.headers(record.encryption)
    return Response(status=200, headers=headers)


# An object read path-style shares its origin with the web console (and every other bucket):
# a page or SVG it holds is shown sandboxed, its scripts in an origin of their own, so that it
# can read nothing of the console's (the signed-in key) nor act as it. A virtual-host bucket
# (bucket.<domain>) has an origin of its own, as in S3.
SANDBOX = (
    "sandbox allow-downloads allow-forms allow-modals allow-popups "
    "allow-popups-to-escape-sandbox allow-scripts"
)


def _object_headers(call: Call, record: ObjectRecord) -> list[tuple[str, str]]:
    headers = {
        "content-type": record.content_type,
        **record.headers,
        "etag": f'"{record.etag}"',
        "last-modified": http_date(record.last_modified),
        "accept-ranges": "bytes",
    }
    if not call.req.virtual_host:
        headers["content-security-policy"] = SANDBOX
    if record.storage_class != "STANDARD":
        headers["x-amz-storage-class"] = record.storage_class
    for arg, header in RESPONSE_OVERRIDES.items():
        value = call.req.arg(arg)
        if value is not None:
            if call.auth.owner is None:
                raise S3Error(
                    "InvalidRequest",
                    "Request specific response headers cannot be used for anonymous GET requests.",
                )
            headers[header] = value
    result = list(headers.items())
    result += [(description.META_PREFIX + name, value) for name, value in record.user_meta.items()]
    return result + encryption.headers(record.encryption) + object_lock.headers(record)


async def _lookup(call: Call) -> tuple[BucketRecord, ObjectRecord]:
    bucket = await owned_bucket(call)
    return bucket, await find_object(call, bucket, call.key, version_arg(call))


async def get_object(call: Call) -> Response:
    return await _read(call, head=False)


async def head_object(call: Call) -> Response:
    return await _read(call, head=True)


async def _read(call: Call, head: bool) -> Response:
    sse.refuse_on_read(call.req.headers)
    bucket, record = await _lookup(call)
    # before any answer that names the object: its key, if it has one, must be the one sent
    seal = await encryption.opened(call, record.encryption, record.data_id)
    headers = _object_headers(call, record) + version_headers(bucket, record)
    headers += tagging_count(record)
    precondition = read_precondition(call.req.headers, record.etag, record.last_modified)
    if precondition == 304:
        return Response(
            status=304, headers=[h for h in headers if h[0] in ("etag", "last-modified")]
        )
    if precondition == 412:
        raise S3Error("PreconditionFailed", Condition="If-Match/If-Unmodified-Since")
    checksum_mode = call.req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    status, start, end = 200, 0, record.size
    if call.req.has_arg("partNumber"):
        if "range" in call.req.headers:
            raise S3Error(
                "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
            )
        start, end, part = await object_data.part(call.meta, record, part_number(call))
        if end > start:  # an empty part (an empty object's, a last one) has no byte range
            status = 206
            headers.append(("content-range", f"bytes {start}-{end - 1}/{record.size}"))
        if record.parts_count:
            headers.append(("x-amz-mp-parts-count", str(record.parts_count)))
        if checksum_mode and part is not None and record.checksum_type == "COMPOSITE":
            headers += checksums.response_headers(part.checksums)
    elif (span := parse_range(call.req.headers.get("range"), record.size)) is not None:
        status = 206
        start, end = span
        headers.append(("content-range", f"bytes {start}-{end - 1}/{record.size}"))
    elif checksum_mode:
        headers += checksums.typed_headers(record.checksums, record.checksum_type)
    headers.append(("content-length", str(end - start)))
    if head or end == start:
        return Response(status=status, headers=headers)
    return await _body_response(call, record, status, headers, start, end, seal)


async def _body_response(
    call: Call,
    record: ObjectRecord,
    status: int,
    headers: list[tuple[str, str]],
    start: int,
    end: int,
    seal: bytes | None,
) -> Response:
    """The bytes [start, end): from the record, served from one file by the server, or
    streamed across the files of several parts (opened with `seal` when sealed)."""
    pacer = call.pacer
    if pacer is not None:  # a bandwidth limit: paced chunks, never the server's file response
        chunks = object_data.read(call.meta, call.data, record, start, end, pacer.chunk, seal)
        return Response(status=status, headers=headers, stream=pacer.stream(chunks))
    if record.inline is not None:
        body = object_data.inline_range(record, start, end, seal)
        return Response(status=status, headers=headers, body=body)
    pieces = await object_data.pieces(call.meta, record, start, end, seal)
    # the files are checked before any byte goes out: a lost one fails the request whole
    if len(pieces) == 1 and isinstance(pieces[0].layout, Plain):
        call.data.check(pieces)  # one stat
        piece = pieces[0]
        if call.data.served_by_file(piece):
            path = call.data.path_for(piece)
            return Response(status=status, headers=headers, file=(path, piece.start, piece.end))
    await offload(call.data.check, pieces)  # up to 10,000 parts' files: off the loop
    return Response(status=status, headers=headers, stream=await primed(call.data.read(pieces)))


async def primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The stream with its first chunk already read: data found lost at the start (too few
    good shards) fails the request with an error answer rather than a cut connection."""
    first = await anext(chunks, b"")

    async def stream() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return stream()


async def delete_object(call: Call) -> Response:
    bucket = await owned_bucket(call)
    for header in ("x-amz-if-match-last-modified-time", "x-amz-if-match-size"):
        if header in call.req.headers:  # directory buckets' conditions
            raise S3Error("NotImplemented", f"{header} is not implemented.", Header=header)
    if_match = call.req.headers.get("if-match")
    deleted = await delete_key(call, bucket, call.key, version_arg(call), if_match)
    return Response(status=204, headers=deleted.headers())


MAX_DELETE_KEYS = 1000
MAX_DELETE_BODY = 2 * 1024 * 1024


def _delete_request(body: bytes) -> tuple[list[tuple[str, str | None, str | None]], bool]:
    """The (key, version id, ETag to match) a DeleteObjects request names, and its Quiet
    flag."""
    root = parse(body)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet_text = (root.findtext("Quiet") or "false").strip().lower()
    if quiet_text not in ("true", "false"):
        raise S3Error("MalformedXML")
    quiet = quiet_text == "true"
    objects = root.findall("Object")
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    targets = []
    for node in objects:
        key = node.findtext("Key")
        if key is None:
            raise S3Error("MalformedXML")
        if node.find("LastModifiedTime") is not None or node.find("Size") is not None:
            raise S3Error("NotImplemented", "Deletes conditional on time or size are not built.")
        targets.append((key, node.findtext("VersionId") or None, node.findtext("ETag")))
    return targets, quiet


def _deleted_xml(key: str, asked: str | None, deleted: Deleted) -> str:
    children = [el("Key", key), el("VersionId", asked)]
    if deleted.delete_marker:
        children.append(el("DeleteMarker", True))
        children.append(el("DeleteMarkerVersionId", deleted.version_id))
    return group("Deleted", children)


async def delete_objects(call: Call) -> Response:
    """DeleteObjects: up to 1,000 keys (or versions) in one request, per-key results, Quiet."""
    bucket = await owned_bucket(call)
    require_content_digest(call)
    targets, quiet = await parsed(_delete_request, await read_config_body(call, MAX_DELETE_BODY))
    results: list[str] = []
    for key, version_id, if_match in targets:
        try:
            check_key(key)
            asked = checked_version_id(version_id) if version_id is not None else None
            if not await permissions.key_allowed(call, bucket, Endpoint.DELETE_OBJECTS, key, asked):
                raise S3Error("AccessDenied")
            deleted = await delete_key(call, bucket, key, asked, if_match)
        except S3Error as err:
            results.append(
                group(
                    "Error",
                    [
                        el("Key", key),
                        el("VersionId", version_id),
                        el("Code", err.code),
                        el("Message", err.message),
                    ],
                )
            )
            continue
        if not quiet:
            results.append(_deleted_xml(key, version_id, deleted))
    return xml_response(document("DeleteResult", results))


MAX_COPY_SOURCE = 5 * 1024**3  # CopyObject's limit; larger objects are copied in parts
# x-amz-copy-source-if-* -> the read condition it means for the source object
COPY_CONDITIONS = {
    "x-amz-copy-source-if-match": "if-match",
    "x-amz-copy-source-if-none-match": "if-none-match",
    "x-amz-copy-source-if-modified-since": "if-modified-since",
    "x-amz-copy-source-if-unmodified-since": "if-unmodified-since",
}


def copy_source(req: Request) -> tuple[str, str, str | None]:
    """(bucket, key, version id or None) named by x-amz-copy-source ("/bucket/key" or
    "bucket/key", URL-encoded, optionally with ?versionId=)."""
    path, _, query = req.headers["x-amz-copy-source"].partition("?")
    version = dict(parse_qsl(query)).get("versionId")
    if version is not None:
        checked_version_id(version)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
        )
    return bucket, key, version


async def source_record(
    call: Call,
    bucket: str,
    key: str,
    version_id: str | None,
    max_size: int | None = MAX_COPY_SOURCE,
) -> ObjectRecord:
    """The object x-amz-copy-source names, after the copy-source conditions and size limit."""
    source = await call.meta.get_bucket(bucket)
    if source is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    permissions.check_expected_owner(
        call.req.headers.get("x-amz-source-expected-bucket-owner"), source
    )
    if not await permissions.source_allowed(call, source, key, version_id):
        raise S3Error("AccessDenied")
    try:
        record = await find_object(call, source, key, version_id)
    except S3Error as err:
        if err.code == "MethodNotAllowed":  # a delete marker cannot be copied
            raise S3Error(
                "InvalidRequest",
                "The source of a copy request may not specifically refer to a delete marker "
                "by version id.",
            ) from err
        raise
    conditions = {
        plain: call.req.headers[header]
        for header, plain in COPY_CONDITIONS.items()
        if header in call.req.headers
    }
    if read_precondition(conditions, record.etag, record.last_modified) is not None:
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-*")
    if max_size is not None and record.size > max_size:
        raise S3Error(
            "InvalidRequest",
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {max_size}",
        )
    return record


def source_version_headers(source: ObjectRecord, asked: str | None) -> list[tuple[str, str]]:
    """x-amz-copy-source-version-id of a copy's answer: when the source is a real version (or
    the request named one)."""
    if asked is not None or source.version_id != NULL:
        return [("x-amz-copy-source-version-id", source.version_id)]
    return []


async def copy_object(call: Call) -> Response:
    """CopyObject: the copy shares the source's immutable data file; only metadata is new."""
    req = call.req
    bucket = await owned_bucket(call)
    check_key(call.key)
    source_bucket, source_key, source_version = copy_source(req)
    source = await source_record(call, source_bucket, source_key, source_version)
    replaced = _directive(req, "x-amz-metadata-directive", "metadata") == "REPLACE"
    retagged = _directive(req, "x-amz-tagging-directive", "tagging") == "REPLACE"
    described = description.of_headers(
        req.headers, call.config, secure=call.secure, metadata=replaced, tags=retagged
    )
    await permissions.check_lock_asked(call, bucket, call.key, described.lock)
    opened = await encryption.opened(call, source.encryption, source.data_id, copy_source=True)
    changes_class = described.storage_class_sent and described.storage_class != source.storage_class
    checksum = _copy_checksum(req, source)
    changes = replaced or changes_class or described.encryption is not None or bool(checksum)
    # naming a version copies that version over the current one: S3's way to restore one
    itself = (source_bucket, source_key) == (call.bucket, call.key) and source_version is None
    if itself and not changes:
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location or "
            "encryption attributes.",
        )
    asked = encryption.asked_for(bucket, described.encryption)
    if asked is None and source.encryption is not None:  # S3 encrypts such a copy by SSE-S3
        asked = sse.EncryptionAsked(mode=encryption.SSE_S3)
    data = await _copied_data(call, bucket, source, opened, asked, checksum)
    owner, acl = await object_acl(call, described.acl, bucket)
    lock = object_lock.for_write(described.lock, bucket.object_lock)  # not the source's
    record = msgspec.structs.replace(
        source,
        bucket=call.bucket,
        key=call.key,
        last_modified=time.time(),
        owner=owner,
        storage_class=described.storage_class,
        acl=acl,  # a copy's ACL is its own, private by default
        **(described.shown() if replaced else {}),
        **({"tags": described.tags} if retagged else {}),
        **data,
        **lock,
    )
    shares = record.data_id == source.data_id
    try:
        await call.meta.put_object(
            record, shares_data=shares, condition=described.condition(call.key), quota=call.quota
        )
    except (NoSuchBucketError, DataGoneError, S3Error, QuotaExceededError) as exc:
        if record.data_id and not shares:
            call.data.remove(record.data_id)
        if isinstance(exc, NoSuchBucketError):
            raise S3Error("NoSuchBucket", BucketName=call.bucket) from exc
        if isinstance(exc, DataGoneError):  # the source was deleted and collected meanwhile
            raise S3Error("NoSuchKey", Key=source_key) from exc
        raise
    body = document(
        "CopyObjectResult",
        [
            el("LastModified", iso8601(record.last_modified)),
            el("ETag", f'"{record.etag}"'),
            *checksums.typed_elements(record.checksums, record.checksum_type),
        ],
    )
    response = xml_response(body)
    response.headers += version_headers(bucket, record)
    response.headers += source_version_headers(source, source_version)
    response.headers += encryption.headers(record.encryption)
    return response


def _copy_checksum(req: Request, source: ObjectRecord) -> str:
    """The checksum a copy asks for (x-amz-checksum-algorithm; 400 for an unknown one) when
    its source has no such checksum of the whole object: "" when none needs computing."""
    name = req.headers.get("x-amz-checksum-algorithm")
    if name is None:
        return ""
    algorithm = checksums.algorithm_of(name)
    if source.checksum_type == "FULL_OBJECT" and algorithm in source.checksums:
        return ""
    return algorithm


async def _copied_data(
    call: Call,
    bucket: BucketRecord,
    source: ObjectRecord,
    source_key: bytes | None,
    asked: sse.EncryptionAsked | None,
    checksum: str,
) -> dict[str, Any]:
    """The record fields of a copy's bytes. Most copies share the source's data: as it is,
    or, when the copy is encrypted, with the source's data key wrapped again under the
    copy's own KEK (no byte is read or written). Encrypting an unencrypted source, or a
    checksum the source does not have, writes its bytes again (sealed under a fresh key
    when the copy is encrypted)."""
    if asked is None and not checksum:
        return {}
    # an SSE-S3 copy's ETag is its bytes' MD5, which a source keyed by SSE-C or SSE-KMS has not
    # kept (its ETag is not the MD5): such a copy is written again
    found = source.encryption
    md5_lost = asked is not None and asked.mode == encryption.SSE_S3
    md5_lost = md5_lost and found is not None and found.mode != encryption.SSE_S3
    if source_key is not None and not checksum and not md5_lost:
        sealed = await encryption.sealing(call, asked, data_key=source_key)
        return {"encryption": encryption.envelope(call, sealed, source.data_id)}
    sealed = await encryption.sealing(call, asked) if asked is not None else None
    config = call.config
    body = object_data.read(call.meta, call.data, source, 0, source.size, seal=source_key)
    kept = next(iter(source.checksums), "") if source.checksum_type == "FULL_OBJECT" else ""
    # a plain source written in one piece has its MD5 as ETag: the bytes written must have it
    plain_md5 = not source.parts_count and source_key is None
    expected = {"md5": bytes.fromhex(source.etag)} if plain_md5 else {}
    got = await write_stream(
        call,
        call.data.spec_for(bucket.policy_id),
        body,
        source.size,
        config.max_object_size,
        config.inline_threshold,
        checksum or kept,
        expected,
        sealed.data_key if sealed else None,
    )
    return {
        "etag": encryption.etag(sealed, got.etag),
        "data_id": got.data_id,
        "layout": got.layout,
        "inline": got.inline,
        "parts_count": 0,
        "encryption": encryption.envelope(call, sealed, got.data_id),
        "checksums": got.checksums,
        "checksum_type": "FULL_OBJECT",
    }


def _directive(req: Request, header: str, name: str) -> str:
    """A copy's x-amz-metadata-directive or x-amz-tagging-directive: COPY (the default) or
    REPLACE."""
    directive = req.headers.get(header, "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", f"Unknown {name} directive.")
    return directive


OBJECT_ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


async def get_object_attributes(call: Call) -> Response:
    """GetObjectAttributes: the attributes x-amz-object-attributes names, without the body."""
    wanted = {a.strip() for a in call.req.headers.get("x-amz-object-attributes", "").split(",")}
    wanted.discard("")
    if not wanted or not wanted <= OBJECT_ATTRIBUTES:
        raise S3Error(
            "InvalidArgument",
            "Invalid attribute name specified.",
            ArgumentName="x-amz-object-attributes",
        )
    bucket, record = await _lookup(call)
    await encryption.opened(call, record.encryption, record.data_id)  # SSE-C: its key
    children = []
    if "ETag" in wanted:
        children.append(el("ETag", record.etag))
    if "Checksum" in wanted and record.checksums:
        children.append(
            group("Checksum", checksums.typed_elements(record.checksums, record.checksum_type))
        )
    if "ObjectParts" in wanted and record.parts_count:
        children.append(await _object_parts(call, record))
    if "StorageClass" in wanted:
        children.append(el("StorageClass", record.storage_class))
    if "ObjectSize" in wanted:
        children.append(el("ObjectSize", record.size))
    response = xml_response(document("GetObjectAttributesResponse", children))
    response.headers.append(("last-modified", http_date(record.last_modified)))
    response.headers += version_headers(bucket, record)
    return response


def _header_int(call: Call, name: str, default: int) -> int:
    raw = call.req.headers.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise S3Error("InvalidArgument", f"Invalid value for {name}.", ArgumentName=name)
    return int(raw)


async def _object_parts(call: Call, record: ObjectRecord) -> str:
    """GetObjectAttributes' ObjectParts: one page of a multipart object's parts."""
    limit = min(_header_int(call, "x-amz-max-parts", 1000), 1000)
    marker = _header_int(call, "x-amz-part-number-marker", 0)
    parts = await call.meta.list_parts(record.data_id, marker, limit + 1)
    more = truncated(len(parts) > limit, limit)
    parts = parts[:limit]
    return group(
        "ObjectParts",
        [
            el("PartsCount", record.parts_count),
            el("PartNumberMarker", marker),
            el("NextPartNumberMarker", parts[-1].number if parts else marker),
            el("MaxParts", limit),
            el("IsTruncated", more),
            *(
                group(
                    "Part",
                    [
                        el("PartNumber", p.number),
                        el("Size", p.size),
                        *checksums.xml_elements(p.checksums),
                    ],
                )
                for p in parts
            ),
        ],
    )
