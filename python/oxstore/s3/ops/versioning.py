"""Versioning: the bucket's versioning state, version lookups with S3's delete-marker answers,
deletes of keys and versions, and ListObjectVersions."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from oxstore.auth import access
from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.s3 import object_lock, permissions
from oxstore.s3.conditions import etag_condition
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.listing import (
    Encoder,
    checksum_summary,
    encoder_for,
    max_keys_arg,
    truncated,
)
from oxstore.s3.ops.common import (
    change_bucket,
    owned_bucket,
    owner_xml,
    read_config_body,
    xml_response,
)
from oxstore.s3.xml import document, el, group, http_date, iso8601, parse

STATES = ("Enabled", "Suspended")
NULL = "null"
_VERSION_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_CONFIGURATION_BODY = 64 * 1024


def checked_version_id(version_id: str) -> str:
    if version_id != NULL and not _VERSION_ID.match(version_id):
        raise S3Error("InvalidArgument", "Invalid version id specified", ArgumentName="versionId")
    return version_id


def version_arg(call: Call) -> str | None:
    """The request's versionId argument, checked; None when absent."""
    value = call.req.arg("versionId")
    return None if value is None else checked_version_id(value)


def version_headers(bucket: BucketRecord, record: ObjectRecord) -> list[tuple[str, str]]:
    """x-amz-version-id for objects of buckets that ever had versioning (and real versions)."""
    if bucket.versioning or record.version_id != NULL:
        return [("x-amz-version-id", record.version_id)]
    return []


def _marker_error(code: str, marker: ObjectRecord, **extra: str) -> S3Error:
    error = S3Error(code, **extra)
    error.headers += [("x-amz-delete-marker", "true"), ("x-amz-version-id", marker.version_id)]
    return error


async def find_object(
    call: Call, bucket: BucketRecord, key: str, version_id: str | None
) -> ObjectRecord:
    """The object (version) a read names. A current delete marker answers 404 NoSuchKey and
    a delete marker named by its id 405 MethodNotAllowed, both with x-amz-delete-marker."""
    if version_id is None:
        found, record = call.read_object(bucket.name, key)
        if not found:
            record = await call.meta.get_object(bucket.name, key)
        if record is not None:
            return record
        marker = await call.meta.latest_delete_marker(bucket.name, key)
        if marker is not None:
            raise _marker_error("NoSuchKey", marker, Key=key)
        raise S3Error("NoSuchKey", Key=key)
    record = await call.meta.get_version(bucket.name, key, version_id)
    if record is None:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version_id)
    if record.delete_marker:
        error = _marker_error(
            "MethodNotAllowed", record, Method=call.req.method, ResourceType="DeleteMarker"
        )
        error.headers += [("allow", "DELETE"), ("last-modified", http_date(record.last_modified))]
        raise error
    return record


async def change_version(
    call: Call,
    bucket: BucketRecord,
    version_id: str | None,
    change: Callable[[ObjectRecord], None],
) -> Response:
    """Changes the metadata of the request's object version in place (tags, ACL); the answer
    carries its version id. NoSuchKey if it went meanwhile."""
    changed = await call.meta.update_version(call.bucket, call.key, version_id, change)
    if changed is None:
        raise S3Error("NoSuchKey", Key=call.key)
    return Response(status=200, headers=version_headers(bucket, changed))


@dataclass(slots=True)
class Deleted:
    """What a delete did: the version it removed or the delete marker it added."""

    version_id: str | None  # None: nothing to report (unversioned bucket)
    delete_marker: bool

    def headers(self) -> list[tuple[str, str]]:
        headers = []
        if self.version_id is not None:
            headers.append(("x-amz-version-id", self.version_id))
        if self.delete_marker:
            headers.append(("x-amz-delete-marker", "true"))
        return headers


async def delete_key(
    call: Call, bucket: BucketRecord, key: str, version_id: str | None, if_match: str | None = None
) -> Deleted:
    """DeleteObject's effect: removes a version for good when one is named; otherwise deletes
    the object (unversioned) or adds a delete marker (versioned), if the current object's ETag
    matches if_match (when given)."""
    if version_id is not None:
        if if_match is not None:
            raise S3Error("NotImplemented", "If-Match with a versionId is not implemented yet.")
        guard = None
        if bucket.object_lock is not None:  # a held or retained version stays
            bypass = await permissions.bypasses_governance(call, bucket, key)
            guard = functools.partial(object_lock.check_deletable, bypass=bypass)
        removed = await call.meta.delete_version(bucket.name, key, version_id, guard)
        if removed is None:
            return Deleted(version_id, False)  # S3 answers success for a missing version
        return Deleted(removed.version_id, removed.delete_marker)
    condition = etag_condition(key, if_match, None)
    owner = call.auth.owner or access.ANONYMOUS_OWNER  # a delete marker's, as S3 lists it
    result = await call.meta.delete_object(bucket.name, key, condition, owner)
    if result is not None and result.delete_marker:
        return Deleted(result.version_id, True)
    return Deleted(None, False)


# -- PUT / GET ?versioning --------------------------------------------------------------------


def _requested_state(body: bytes) -> str:
    text = body.strip()
    if text and not text.startswith(b"<"):  # the provider's API also takes the bare word
        return text.decode(errors="replace")
    root = parse(text)
    if root.tag != "VersioningConfiguration":
        raise S3Error("MalformedXML")
    if (root.findtext("MfaDelete") or "").strip() == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not implemented.")
    return (root.findtext("Status") or "").strip()


async def put_bucket_versioning(call: Call) -> Response:
    await owned_bucket(call)
    state = _requested_state(await read_config_body(call, MAX_CONFIGURATION_BODY))
    if state not in STATES:  # a bucket never returns to unversioned
        raise S3Error("IllegalVersioningConfigurationException")

    def change(bucket: BucketRecord) -> None:
        if bucket.object_lock is not None and state != "Enabled":
            raise S3Error(
                "InvalidBucketState",
                "An Object Lock configuration is present on this bucket, so the versioning "
                "state cannot be changed.",
            )
        bucket.versioning = state

    await change_bucket(call, change)
    return Response(status=200)


async def get_bucket_versioning(call: Call) -> Response:
    bucket = await owned_bucket(call)
    return xml_response(
        document("VersioningConfiguration", [el("Status", bucket.versioning or None)])
    )


# -- ListObjectVersions -----------------------------------------------------------------------


def _version_xml(record: ObjectRecord, latest: bool, encode: Encoder) -> str:
    common = [
        el("Key", encode(record.key)),
        el("VersionId", record.version_id),
        el("IsLatest", latest),
        el("LastModified", iso8601(record.last_modified)),
    ]
    if record.delete_marker:
        return group("DeleteMarker", [*common, owner_xml(record.owner)])
    return group(
        "Version",
        [
            *common,
            el("ETag", f'"{record.etag}"'),
            *checksum_summary(record),
            el("Size", record.size),
            owner_xml(record.owner),
            el("StorageClass", record.storage_class),
        ],
    )


async def list_object_versions(call: Call) -> Response:
    await owned_bucket(call)
    encode = encoder_for(call)
    prefix = call.req.arg("prefix") or ""
    delimiter = call.req.arg("delimiter") or ""
    key_marker = call.req.arg("key-marker") or ""
    version_marker = call.req.arg("version-id-marker") or ""
    if version_marker and not key_marker:
        raise S3Error(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
        )
    limit = max_keys_arg(call)
    page = await call.meta.list_versions(
        call.bucket,
        prefix,
        delimiter,
        key_marker,
        checked_version_id(version_marker) if version_marker else "",
        limit,
    )
    more = truncated(page.is_truncated, limit)
    body = document(
        "ListVersionsResult",
        [
            el("Name", call.bucket),
            el("Prefix", encode(prefix)),
            el("KeyMarker", encode(key_marker)),
            el("VersionIdMarker", version_marker),
            el("NextKeyMarker", encode(page.next_key_marker) if more else None),
            el("NextVersionIdMarker", page.next_version_id_marker if more else None),
            el("MaxKeys", limit),
            el("Delimiter", encode(delimiter) if delimiter else None),
            el("EncodingType", "url" if call.req.arg("encoding-type") else None),
            el("IsTruncated", more),
            *(_version_xml(r, latest, encode) for r, latest in page.versions),
            *(group("CommonPrefixes", [el("Prefix", encode(p))]) for p in page.common_prefixes),
        ],
    )
    return xml_response(body)
