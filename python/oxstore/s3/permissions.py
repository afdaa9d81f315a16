"""What a requester who does not own the bucket needs to be granted for each operation.

The bucket's owner may do everything. Anyone else, anonymous included, may do only the
operations listed here, and only when the bucket's or the object's ACL grants the permission.
"""

from __future__ import annotations

from typing import Literal

from oxstore.auth import access
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.s3.context import Call
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import S3Error

Resource = Literal["bucket", "object"]

REQUIRED: dict[Endpoint, tuple[Resource, str]] = {
    Endpoint.HEAD_BUCKET: ("bucket", access.READ),
    Endpoint.LIST_OBJECTS: ("bucket", access.READ),
    Endpoint.LIST_OBJECTS_V2: ("bucket", access.READ),
    Endpoint.LIST_OBJECT_VERSIONS: ("bucket", access.READ),
    Endpoint.LIST_MULTIPART_UPLOADS: ("bucket", access.READ),
    Endpoint.GET_BUCKET_LOCATION: ("bucket", access.READ),
    Endpoint.GET_BUCKET_ACL: ("bucket", access.READ_ACP),
    Endpoint.PUT_BUCKET_ACL: ("bucket", access.WRITE_ACP),
    Endpoint.PUT_OBJECT: ("bucket", access.WRITE),
    Endpoint.COPY_OBJECT: ("bucket", access.WRITE),  # and READ of the source (the handler)
    Endpoint.DELETE_OBJECT: ("bucket", access.WRITE),
    Endpoint.DELETE_OBJECTS: ("bucket", access.WRITE),
    # an upload in progress: its initiator's (ops.multipart checks who initiated it)
    Endpoint.CREATE_MULTIPART_UPLOAD: ("bucket", access.WRITE),
    Endpoint.UPLOAD_PART: ("bucket", access.WRITE),
    Endpoint.UPLOAD_PART_COPY: ("bucket", access.WRITE),
    Endpoint.COMPLETE_MULTIPART_UPLOAD: ("bucket", access.WRITE),
    Endpoint.ABORT_MULTIPART_UPLOAD: ("bucket", access.WRITE),
    Endpoint.LIST_PARTS: ("bucket", access.WRITE),
    Endpoint.GET_OBJECT: ("object", access.READ),
    Endpoint.HEAD_OBJECT: ("object", access.READ),
    Endpoint.GET_OBJECT_ACL: ("object", access.READ_ACP),
    Endpoint.PUT_OBJECT_ACL: ("object", access.WRITE_ACP),
}
# Reads of the current object: the access check reads it with its bucket, in one snapshot.
READS_CURRENT_OBJECT = frozenset({Endpoint.GET_OBJECT, Endpoint.HEAD_OBJECT})
# What the owner of an object may always do with it, whatever its ACL says (S3's rule).
OWNER_RIGHTS = frozenset({access.READ_ACP, access.WRITE_ACP})
# What no grant lets an anonymous requester do (S3's answers).
SIGNED_ONLY = {
    Endpoint.CREATE_BUCKET: "Access Denied",
    Endpoint.CREATE_MULTIPART_UPLOAD: (
        "Anonymous users cannot initiate multipart uploads.  Please authenticate."
    ),
    Endpoint.COPY_OBJECT: "Anonymous users cannot copy objects.  Please authenticate.",
    Endpoint.UPLOAD_PART_COPY: "Anonymous users cannot copy objects.  Please authenticate.",
}


async def authorize(call: Call, endpoint: Endpoint) -> None:
    """Sets call.granted for a non-owner whom an ACL grants the operation; AccessDenied for
    anyone else. Missing buckets and keys are left to the handler's own answers."""
    requester = call.auth.owner
    if not call.req.bucket:  # the service: ListBuckets, for signed requests only
        if requester is None or (endpoint.is_admin and not call.auth.system):
            raise S3Error("AccessDenied")
        return
    if requester is None and endpoint in SIGNED_ONLY:
        raise S3Error("AccessDenied", SIGNED_ONLY[endpoint])
    if endpoint in READS_CURRENT_OBJECT and call.req.arg("versionId") is None:
        bucket, call.object_record = await call.meta.get_bucket_and_object(call.bucket, call.key)
        call.object_found = bucket is not None
    else:
        bucket = await call.meta.get_bucket(call.bucket)
    tenant = call.req.tenant
    if endpoint is Endpoint.CREATE_BUCKET and tenant is not None and tenant != requester:
        raise S3Error("AccessDenied")
    if bucket is not None and tenant is not None and bucket.owner != tenant:
        raise S3Error("NoSuchBucket", BucketName=call.bucket)  # that owner has none of it
    call.bucket_record = bucket
    if bucket is None:
        return  # NoSuchBucket (CreateBucket needs no bucket)
    check_expected_owner(call.req.headers.get("x-amz-expected-bucket-owner"), bucket)
    if requester is not None and requester == bucket.owner:
        return
    if endpoint is Endpoint.CREATE_BUCKET and requester is not None:
        return  # BucketAlreadyExists
    needed = REQUIRED.get(endpoint)
    if needed is None:
        raise S3Error("AccessDenied")
    resource, permission = needed
    if resource == "bucket":
        granted = bucket_allows(bucket, requester, permission)
    else:
        record = await named_record(call, call.bucket, call.key, call.req.arg("versionId"))
        granted = object_allows(bucket, record, requester, permission)
    if not granted:
        raise S3Error("AccessDenied")
    call.granted = True


async def named_record(
    call: Call, bucket: str, key: str, version_id: str | None
) -> ObjectRecord | None:
    """The object (version) whose ACL decides: the current one, or the version named."""
    if version_id is None:
        found, record = call.read_object(bucket, key)
        return record if found else await call.meta.get_object(bucket, key)
    return await call.meta.get_version(bucket, key, version_id)


def check_expected_owner(expected: str | None, bucket: BucketRecord) -> None:
    """x-amz-expected-bucket-owner (x-amz-source-expected-bucket-owner for a copy's source):
    the request is meant for a bucket of that owner only."""
    if expected is not None and expected.strip() != bucket.owner:
        raise S3Error("AccessDenied")


def bucket_allows(bucket: BucketRecord, requester: str | None, permission: str) -> bool:
    """Whether the bucket's owner is the requester or its ACL grants the permission."""
    if requester is not None and requester == bucket.owner:
        return True
    return access.allows(access.decode(bucket.acl, bucket.owner), requester, permission)


def object_allows(
    bucket: BucketRecord, record: ObjectRecord | None, requester: str | None, permission: str
) -> bool:
    """Whether the requester may do what the permission covers with an object (None: it is
    missing, and only whoever may list the bucket may learn that, as S3 answers)."""
    if requester is not None and requester == bucket.owner:
        return True
    if record is None:
        return bucket_allows(bucket, requester, access.READ)
    owner = record.owner or bucket.owner
    if requester is not None and requester == owner and permission in OWNER_RIGHTS:
        return True
    return access.allows(access.decode(record.acl, owner), requester, permission)
