"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts,
ListMultipartUploads.

Each part is a data file of its own; Complete checks the part list and writes metadata only.
"""

from __future__ import annotations

import base64
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from oxstore import _native
from oxstore.data.store import new_data_id
from oxstore.http.request import Response
from oxstore.meta.model import QuotaExceededError
from oxstore.meta.records import BucketRecord, ObjectRecord, PartRecord, UploadRecord
from oxstore.meta.store import NoSuchBucketError, NoSuchUploadError
from oxstore.s3 import checksums, description, encryption, object_data, object_lock, permissions
from oxstore.s3.conditions import etag_condition
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.listing import encoder_for, truncated
from oxstore.s3.ops.acl import object_acl, requester_id
from oxstore.s3.ops.common import (
    int_arg,
    owned_bucket,
    owner_xml,
    parsed,
    part_number,
    read_config_body,
    xml_response,
)
from oxstore.s3.ops.object import (
    check_key,
    copy_source,
    source_record,
    source_version_headers,
)
from oxstore.s3.ops.receive import Received, check_size, receive, write_stream
from oxstore.s3.ops.versioning import version_headers
from oxstore.s3.xml import document, el, group, iso8601, parse

MAX_LISTED = 1000  # parts or uploads per page
MAX_COMPLETE_BODY = 4 * 1024 * 1024  # 10,000 parts with checksums: about 2 MiB
COMBINABLE = frozenset({"crc32", "crc32c", "crc64nvme"})  # FULL_OBJECT checksums


def new_upload_id() -> str:
    """Upload ids sort in the order uploads were created (ListMultipartUploads' order, and
    how the collector finds abandoned ones: upload_ids_before)."""
    return f"{time.time_ns():016x}{os.urandom(8).hex()}"


def upload_ids_before(when: float) -> str:
    """An id that sorts after every upload id made before `when` and before all later ones."""
    return f"{int(when * 1e9):016x}"


async def _upload_of(call: Call) -> UploadRecord:
    """The upload in progress the request's uploadId names, for this bucket and key."""
    return (await _upload_in(call))[1]


async def _upload_in(call: Call) -> tuple[BucketRecord, UploadRecord]:
    """The request's bucket, and the upload in progress its uploadId names for this key."""
    bucket = await owned_bucket(call)
    upload_id = call.req.arg("uploadId") or ""
    upload = await call.meta.get_upload(upload_id)
    if upload is None or (upload.bucket, upload.key) != (call.bucket, call.key):
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    _check_initiator(call, upload.owner)
    return bucket, upload


def _check_initiator(call: Call, initiator: str) -> None:
    """Someone writing by a grant on another's bucket works on the uploads they initiated."""
    if call.granted and initiator != requester_id(call):
        raise S3Error("AccessDenied")


def _checksum_settings(call: Call) -> tuple[str, str]:
    """(algorithm, type) that CreateMultipartUpload asks for; ("", "") for none."""
    name = call.req.headers.get("x-amz-checksum-algorithm", "")
    kind = call.req.headers.get("x-amz-checksum-type", "").upper()
    if not name:
        if kind:
            raise S3Error(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        return "", ""
    algorithm = checksums.algorithm_of(name)
    kind = kind or ("FULL_OBJECT" if algorithm == "crc64nvme" else "COMPOSITE")
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    full_object = kind == "FULL_OBJECT"
    if (full_object and algorithm not in COMBINABLE) or (
        not full_object and algorithm == "crc64nvme"
    ):
        raise S3Error(
            "InvalidRequest",
            f"The {algorithm.upper()} algorithm does not support the {kind} checksum type.",
        )
    return algorithm, kind


def _checksum_headers(upload: UploadRecord) -> list[tuple[str, str]]:
    if not upload.checksum_algorithm:
        return []
    return [
        ("x-amz-checksum-algorithm", upload.checksum_algorithm.upper()),
        ("x-amz-checksum-type", upload.checksum_type),
    ]


async def create_multipart_upload(call: Call) -> Response:
    bucket = await owned_bucket(call)
    check_key(call.key)
    described = description.of_headers(call.req.headers, call.config, secure=call.secure)
    await permissions.check_lock_asked(call, bucket, call.key, described.lock)
    sealed = await encryption.sealing(call, encryption.asked_for(bucket, described.encryption))
    algorithm, kind = _checksum_settings(call)
    upload_id = new_upload_id()
    owner, acl = await object_acl(call, described.acl, bucket)
    upload = UploadRecord(
        upload_id=upload_id,
        bucket=call.bucket,
        key=call.key,
        initiated=time.time(),
        owner=requester_id(call),
        object_owner=owner if owner != requester_id(call) else "",
        acl=acl,
        **described.stored(),
        checksum_algorithm=algorithm,
        checksum_type=kind,
        encryption=encryption.envelope(call, sealed, upload_id),
        **object_lock.for_write(described.lock, bucket.object_lock),
    )
    try:
        await call.meta.create_upload(upload)
    except NoSuchBucketError as exc:
        raise S3Error("NoSuchBucket", BucketName=call.bucket) from exc
    response = xml_response(
        document(
            "InitiateMultipartUploadResult",
            [el("Bucket", call.bucket), el("Key", call.key), el("UploadId", upload.upload_id)],
        )
    )
    response.headers += _checksum_headers(upload)
    response.headers += encryption.headers(upload.encryption)
    return response


async def _part_key(call: Call, upload: UploadRecord, number: int) -> tuple[str, bytes | None]:
    """A new part's data id and the key it is sealed under (None: the upload is not
    encrypted). A part of an SSE-C upload carries the upload's customer key: 400 without."""
    upload_key = await encryption.opened(call, upload.encryption, upload.upload_id)
    data_id = new_data_id()
    if upload_key is None:
        return data_id, None
    return data_id, object_data.part_key(upload_key, number, data_id)


async def _record_part(
    call: Call, upload: UploadRecord, number: int, got: Received, seal: bytes | None
) -> PartRecord:
    part = PartRecord(
        number=number,
        data_id=got.data_id,
        layout=got.layout,
        size=got.size,
        etag=encryption.part_etag(upload.encryption, seal, got.etag),
        last_modified=time.time(),
        checksums=got.checksums,
        sealed=seal is not None,
    )
    try:
        await call.meta.put_part(upload.upload_id, part, upload.bucket, call.quota)
    except NoSuchUploadError as exc:  # completed or aborted while the part streamed in
        call.data.remove(got.data_id)
        raise S3Error("NoSuchUpload", UploadId=upload.upload_id) from exc
    except QuotaExceededError:
        call.data.remove(got.data_id)
        raise
    return part


async def upload_part(call: Call) -> Response:
    number = part_number(call)
    bucket, upload = await _upload_in(call)
    data_id, seal = await _part_key(call, upload, number)
    spec = call.data.spec_for(bucket.policy_id)
    config = call.config
    got = await receive(
        call, spec, config.max_part_size, 0, upload.checksum_algorithm, seal, data_id
    )
    part = await _record_part(call, upload, number, got, seal)
    headers = [("etag", f'"{part.etag}"')]
    headers += checksums.response_headers(part.checksums)
    headers += encryption.headers(upload.encryption)
    return Response(status=200, headers=headers)


_COPY_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


def _copy_range(call: Call, size: int) -> tuple[int, int]:
    header = call.req.headers.get("x-amz-copy-source-range")
    if header is None:
        return 0, size
    match = _COPY_RANGE.match(header.strip())
    if not match or int(match[2]) < int(match[1]):
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    first, last = int(match[1]), int(match[2])
    if last >= size:
        raise S3Error(
            "InvalidArgument",
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    return first, last + 1


async def upload_part_copy(call: Call) -> Response:
    number = part_number(call)
    bucket, upload = await _upload_in(call)
    source_bucket, source_key, source_version = copy_source(call.req)
    source = await source_record(call, source_bucket, source_key, source_version, max_size=None)
    start, end = _copy_range(call, source.size)
    check_size(end - start, call.config.max_part_size)
    data_id, seal = await _part_key(call, upload, number)
    opened = await encryption.opened(call, source.encryption, source.data_id, copy_source=True)
    body = object_data.read(call.meta, call.data, source, start, end, seal=opened)
    spec = call.data.spec_for(bucket.policy_id)
    size = end - start
    algorithm = upload.checksum_algorithm
    got = await write_stream(call, spec, body, size, size, 0, algorithm, None, seal, data_id)
    part = await _record_part(call, upload, number, got, seal)
    response = xml_response(
        document(
            "CopyPartResult",
            [
                el("LastModified", iso8601(part.last_modified)),
                el("ETag", f'"{part.etag}"'),
                *checksums.xml_elements(part.checksums),
            ],
        )
    )
    response.headers += source_version_headers(source, source_version)
    response.headers += encryption.headers(upload.encryption)
    return response


async def abort_multipart_upload(call: Call) -> Response:
    upload = await _upload_of(call)
    if not await call.meta.abort_upload(upload.upload_id):
        raise S3Error("NoSuchUpload", UploadId=upload.upload_id)
    return Response(status=204)


# -- CompleteMultipartUpload ------------------------------------------------------------------


@dataclass(slots=True)
class ListedPart:
    """A part as the Complete request lists it."""

    number: int
    etag: str  # without quotes
    checksums: dict[str, str]


def _listed_parts(body: bytes) -> list[ListedPart]:
    root = parse(body, MAX_COMPLETE_BODY)
    nodes = root.findall("Part") if root.tag == "CompleteMultipartUpload" else []
    if not nodes:
        raise S3Error("MalformedXML")
    listed: list[ListedPart] = []
    for node in nodes:
        try:
            number = int((node.findtext("PartNumber") or "").strip())
        except ValueError as exc:
            raise S3Error("MalformedXML") from exc
        if number < 1:
            raise S3Error("InvalidArgument", "PartNumber must be >= 1")
        sums = {
            child.tag[len("Checksum") :].lower(): (child.text or "").strip()
            for child in node
            if child.tag.startswith("Checksum") and child.tag != "ChecksumType"
        }
        etag = (node.findtext("ETag") or "").strip().strip('"')
        listed.append(ListedPart(number, etag, sums))
    for before, after in zip(listed, listed[1:], strict=False):
        if after.number <= before.number:
            raise S3Error("InvalidPartOrder")
    return listed


def _composite(algorithm: str, parts: list[PartRecord]) -> str:
    raw = b"".join(base64.b64decode(p.checksums[algorithm]) for p in parts)
    return f"{checksums.encode(_native.digest(algorithm, raw))}-{len(parts)}"


def _full_object(algorithm: str, parts: list[PartRecord]) -> str:
    pieces = [(base64.b64decode(p.checksums[algorithm]), p.size) for p in parts]
    return checksums.encode(_native.crc_combine(algorithm, pieces))


@dataclass(slots=True)
class Completion:
    """What Complete's request asks for, checked against the upload's parts in assemble()."""

    call: Call
    listed: list[ListedPart]
    object_checksum: dict[str, str]  # x-amz-checksum-<alg> of the whole object, if sent
    object_size: int | None  # x-amz-mp-object-size, if sent
    checksum_type: str | None  # x-amz-checksum-type, if sent

    def assemble(
        self, upload: UploadRecord, stored: list[PartRecord]
    ) -> tuple[ObjectRecord, list[int]]:
        config = self.call.config
        by_number = {p.number: p for p in stored}
        parts = [self._matching(upload, listed, by_number) for listed in self.listed]
        for part in parts[:-1]:
            if part.size < config.min_part_size:
                raise S3Error(
                    "EntityTooSmall",
                    ProposedSize=str(part.size),
                    MinSizeAllowed=str(config.min_part_size),
                    PartNumber=str(part.number),
                    ETag=part.etag,
                )
        size = sum(p.size for p in parts)
        check_size(size, config.max_multipart_size)
        if self.object_size is not None and self.object_size != size:
            raise S3Error(
                "InvalidRequest",
                f"The provided 'x-amz-mp-object-size' header value {self.object_size} does not "
                f"match what was computed: {size}",
            )
        record = ObjectRecord(
            bucket=upload.bucket,
            key=upload.key,
            size=size,
            etag=_native.multipart_etag([bytes.fromhex(p.etag) for p in parts]),
            last_modified=time.time(),
            content_type=upload.content_type,
            headers=upload.headers,
            user_meta=upload.user_meta,
            checksums=self._object_checksums(upload, parts),
            checksum_type=upload.checksum_type or "FULL_OBJECT",
            storage_class=upload.storage_class,
            owner=upload.object_owner or upload.owner,
            tags=upload.tags,
            acl=upload.acl,
            data_id=upload.upload_id,
            encryption=upload.encryption,
            **object_lock.fields(object_lock.of(upload)),
            parts_count=len(parts),
        )
        return record, [p.number for p in parts]

    @staticmethod
    def _matching(
        upload: UploadRecord, listed: ListedPart, by_number: dict[int, PartRecord]
    ) -> PartRecord:
        part = by_number.get(listed.number)
        if part is None or part.etag != listed.etag:
            raise S3Error(
                "InvalidPart",
                UploadId=upload.upload_id,
                PartNumber=str(listed.number),
                ETag=listed.etag,
            )
        algorithm = upload.checksum_algorithm
        sent = listed.checksums.get(algorithm) if algorithm else None
        if upload.checksum_type == "COMPOSITE" and sent is None:
            raise S3Error(
                "InvalidRequest",
                f"The upload was created using a {algorithm} checksum. The complete request "
                f"must include the checksum for each part. It was missing for part "
                f"{listed.number} in the request.",
            )
        if sent is not None and sent != part.checksums.get(algorithm):
            raise S3Error(
                "InvalidPart",
                UploadId=upload.upload_id,
                PartNumber=str(listed.number),
                ETag=listed.etag,
            )
        return part

    def _object_checksums(self, upload: UploadRecord, parts: list[PartRecord]) -> dict[str, str]:
        algorithm = upload.checksum_algorithm
        if self.checksum_type is not None and self.checksum_type != upload.checksum_type:
            raise S3Error(
                "InvalidRequest",
                f"The upload was created using the {upload.checksum_type or 'no'} checksum "
                "mode. The complete request must use the same checksum mode.",
            )
        if not algorithm:
            if self.object_checksum:
                raise S3Error(
                    "InvalidRequest",
                    "The upload was created without a checksum algorithm; the complete request "
                    "cannot carry one.",
                )
            return {}
        if upload.checksum_type == "COMPOSITE":
            value = _composite(algorithm, parts)
        else:
            value = _full_object(algorithm, parts)
        for sent_algorithm, sent in self.object_checksum.items():
            if sent_algorithm != algorithm:
                raise S3Error(
                    "InvalidRequest",
                    f"Checksum Type mismatch occurred, expected checksum Type: {algorithm}, "
                    f"actual checksum Type: {sent_algorithm}",
                )
            if sent != value:
                raise checksums.mismatch(algorithm)
        return {algorithm: value}


def _object_checksum_headers(call: Call) -> dict[str, str]:
    """x-amz-checksum-<alg> on Complete: the whole object's checksum (composite ones end in
    -N, so they are compared as text)."""
    sent: dict[str, str] = {}
    for name, value in call.req.headers.items():
        algorithm = name[len(checksums.HEADER_PREFIX) :]
        if name.startswith(checksums.HEADER_PREFIX) and algorithm in checksums.CHECKSUM_LENGTHS:
            sent[algorithm] = value.strip()
    return sent


def _object_size(call: Call) -> int | None:
    raw = call.req.headers.get("x-amz-mp-object-size")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise S3Error("InvalidRequest", "Value for x-amz-mp-object-size header is invalid.")
    return int(raw)


def _complete_result(call: Call, record: ObjectRecord) -> Response:
    location = f"{call.config.endpoint}/{quote(call.bucket)}/{quote(call.key)}"
    response = xml_response(
        document(
            "CompleteMultipartUploadResult",
            [
                el("Location", location),
                el("Bucket", call.bucket),
                el("Key", call.key),
                el("ETag", f'"{record.etag}"'),
                *checksums.typed_elements(record.checksums, record.checksum_type),
            ],
        )
    )
    return response


async def _completed_before(
    call: Call, upload_id: str, listed: list[ListedPart]
) -> ObjectRecord | None:
    """The object a retried Complete made at its first attempt (answered the same again):
    the key's current version of the upload's data, when the parts listed are its parts (a
    part list the upload never had is no retry, at the key or at a copy's)."""
    current = await call.meta.get_object(call.bucket, call.key)
    if current is None or current.data_id != upload_id or not current.parts_count:
        return None
    parts = await object_data.parts_of(call.meta, current)
    if [(p.number, p.etag) for p in parts] != [(p.number, p.etag) for p in listed]:
        return None
    _check_initiator(call, current.owner)
    return current


async def complete_multipart_upload(call: Call) -> Response:
    upload_id = call.req.arg("uploadId") or ""
    bucket = await owned_bucket(call)
    condition = etag_condition(
        call.key, call.req.headers.get("if-match"), call.req.headers.get("if-none-match")
    )
    completion = Completion(
        call=call,
        object_checksum=_object_checksum_headers(call),
        object_size=_object_size(call),
        checksum_type=call.req.headers.get("x-amz-checksum-type", "").strip().upper() or None,
        listed=await parsed(_listed_parts, await read_config_body(call, MAX_COMPLETE_BODY, False)),
    )
    upload = await call.meta.get_upload(upload_id)
    if upload is not None and (upload.bucket, upload.key) != (call.bucket, call.key):
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    if upload is not None:
        _check_initiator(call, upload.owner)
        await encryption.opened(call, upload.encryption, upload_id)  # SSE-C: its key
    try:
        record, _ = await call.meta.complete_upload(upload_id, completion.assemble, condition)
    except NoSuchUploadError as exc:
        before = await _completed_before(call, upload_id, completion.listed)
        if before is None:
            raise S3Error("NoSuchUpload", UploadId=upload_id) from exc
        record = before
    except NoSuchBucketError as exc:
        raise S3Error("NoSuchBucket", BucketName=call.bucket) from exc
    response = _complete_result(call, record)
    response.headers += version_headers(bucket, record)
    response.headers += encryption.headers(record.encryption)
    return response


# -- listings ---------------------------------------------------------------------------------


def _part_xml(part: PartRecord) -> str:
    return group(
        "Part",
        [
            el("PartNumber", part.number),
            el("LastModified", iso8601(part.last_modified)),
            el("ETag", f'"{part.etag}"'),
            el("Size", part.size),
            *checksums.xml_elements(part.checksums),
        ],
    )


def page_args(call: Call, max_name: str, marker_name: str) -> tuple[int, int]:
    """(max, marker) of a part listing (ListParts, GetObjectAttributes' ObjectParts)."""
    limit = int_arg(
        call, max_name, MAX_LISTED, 0, 2**31 - 1, f"Argument {max_name} must be an integer"
    )
    marker = int_arg(
        call, marker_name, 0, 0, 2**31 - 1, f"Argument {marker_name} must be an integer"
    )
    return min(limit, MAX_LISTED), marker


async def list_parts(call: Call) -> Response:
    upload = await _upload_of(call)
    limit, marker = page_args(call, "max-parts", "part-number-marker")
    parts = await call.meta.list_parts(upload.upload_id, marker, limit + 1)
    more = truncated(len(parts) > limit, limit)
    parts = parts[:limit]
    identity = [owner_xml(upload.owner, "Initiator"), owner_xml(upload.owner)]
    body = document(
        "ListPartsResult",
        [
            el("Bucket", call.bucket),
            el("Key", call.key),
            el("UploadId", upload.upload_id),
            el("PartNumberMarker", marker),
            el("NextPartNumberMarker", parts[-1].number if parts else marker),
            el("MaxParts", limit),
            el("IsTruncated", more),
            *(_part_xml(p) for p in parts),
            *identity,
            el("StorageClass", upload.storage_class),
            el("ChecksumAlgorithm", upload.checksum_algorithm.upper() or None),
            el("ChecksumType", upload.checksum_type or None),
        ],
    )
    return xml_response(body)


def _upload_xml(upload: UploadRecord, encode: Callable[[str], str]) -> str:
    return group(
        "Upload",
        [
            el("Key", encode(upload.key)),
            el("UploadId", upload.upload_id),
            owner_xml(upload.owner, "Initiator"),
            owner_xml(upload.owner),
            el("StorageClass", upload.storage_class),
            el("Initiated", iso8601(upload.initiated)),
            el("ChecksumAlgorithm", upload.checksum_algorithm.upper() or None),
            el("ChecksumType", upload.checksum_type or None),
        ],
    )


async def list_multipart_uploads(call: Call) -> Response:
    await owned_bucket(call)
    encode = encoder_for(call)
    prefix = call.req.arg("prefix") or ""
    delimiter = call.req.arg("delimiter") or ""
    key_marker = call.req.arg("key-marker") or ""
    upload_id_marker = call.req.arg("upload-id-marker") or ""
    limit = int_arg(
        call, "max-uploads", MAX_LISTED, 0, 2**31 - 1, "Argument max-uploads must be an integer"
    )
    limit = min(limit, MAX_LISTED)
    page = await call.meta.list_uploads(
        call.bucket, prefix, delimiter, key_marker, upload_id_marker, limit
    )
    more = truncated(page.is_truncated, limit)
    body = document(
        "ListMultipartUploadsResult",
        [
            el("Bucket", call.bucket),
            el("KeyMarker", encode(key_marker)),
            el("UploadIdMarker", upload_id_marker),
            el("NextKeyMarker", encode(page.next_key_marker) if more else None),
            el("NextUploadIdMarker", page.next_upload_id_marker if more else None),
            el("Delimiter", encode(delimiter) if delimiter else None),
            el("Prefix", encode(prefix)),
            el("MaxUploads", limit),
            el("EncodingType", "url" if call.req.arg("encoding-type") else None),
            el("IsTruncated", more),
            *(_upload_xml(u, encode) for u in page.uploads),
            *(group("CommonPrefixes", [el("Prefix", encode(p))]) for p in page.common_prefixes),
        ],
    )
    return xml_response(body)
