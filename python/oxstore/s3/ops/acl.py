"""ACLs of buckets and objects: GET/PUT ?acl, and the ACL a write asks for in its headers."""

from __future__ import annotations

from oxstore.auth import access
from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.s3 import bucket_controls
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import (
    change_bucket,
    owned_bucket,
    read_config_body,
    xml_response,
)
from oxstore.s3.ops.versioning import change_version, find_object, version_arg, version_headers

MAX_ACL_BODY = 64 * 1024


def requester_id(call: Call) -> str:
    """The canonical id a write by this requester gets as owner."""
    return call.auth.owner or access.ANONYMOUS_OWNER


async def write_acl(
    call: Call, asked: access.AskedAcl | None, bucket_owner: str | None = None
) -> str | None:
    """The stored form of the ACL a write asks for (None: none, the default private one),
    its grantees' e-mail addresses resolved."""
    if asked is None:
        return None
    grants = access.grants_of(asked, requester_id(call), bucket_owner)
    return access.encode(await _known_grantees(call, grants))


async def object_acl(
    call: Call, asked: access.AskedAcl | None, bucket: BucketRecord
) -> tuple[str, str | None]:
    """The owner and the stored ACL of an object a write makes (PUT, copy, multipart, POST),
    as the bucket's object ownership and public access block say."""
    bucket_controls.check_asked(bucket, asked)
    owner = bucket_controls.object_owner(bucket, requester_id(call), asked)
    if asked is None or bucket_controls.acls_disabled(bucket):
        return owner, None
    grants = await _known_grantees(call, access.grants_of(asked, owner, bucket.owner))
    bucket_controls.check_grants(bucket, grants)
    return owner, access.encode(grants)


async def _known_grantees(call: Call, grants: list[access.Grant]) -> list[access.Grant]:
    """The grants with e-mail addresses resolved to their users' ids, if every user they name
    exists (as S3 answers: UnresolvableGrantByEmailAddress, InvalidArgument for an id)."""
    known = []
    for grant in grants:
        if grant.kind == "email":
            user = await call.meta.user_by_email(grant.grantee)
            if user is None:
                raise S3Error("UnresolvableGrantByEmailAddress", EmailAddress=grant.grantee)
            grant = access.Grant("user", user.id, grant.permission)
        elif grant.kind == "user" and grant.grantee != access.ANONYMOUS_OWNER:
            if await call.meta.get_owner(grant.grantee) is None:
                raise S3Error(
                    "InvalidArgument",
                    "Invalid id",
                    ArgumentName="CanonicalUser/ID",
                    ArgumentValue=grant.grantee,
                )
        known.append(grant)
    return known


async def _requested_acl(call: Call, owner: str, bucket: BucketRecord) -> str | None:
    """PUT ?acl: the stored form of the headers' grants or of an AccessControlPolicy body
    (not both); None with ACLs disabled, where only bucket-owner-full-control may be put."""
    body = await read_config_body(call, MAX_ACL_BODY)
    asked = access.asked_acl(call.req.headers)
    if bucket_controls.acls_disabled(bucket):
        bucket_controls.check_asked(bucket, asked or access.AskedAcl(canned="refused"))
        return None
    if asked is not None:
        if body.strip():
            raise S3Error(
                "UnexpectedContent", "This request does not support content with ACL headers."
            )
        grants = access.grants_of(asked, owner, bucket.owner)
    elif not body.strip():
        raise S3Error("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
    else:
        grants = access.parse_policy(body, owner)
    known = await _known_grantees(call, grants)
    bucket_controls.check_grants(bucket, known)
    return access.encode(known)


async def put_bucket_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    stored = await _requested_acl(call, bucket.owner, bucket)

    def change(record: BucketRecord) -> None:
        record.acl = stored

    await change_bucket(call, change)
    return Response(status=200)


async def get_bucket_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    stored = None if bucket_controls.acls_disabled(bucket) else bucket.acl
    grants = access.decode(stored, bucket.owner)
    return xml_response(access.render_policy(grants, bucket.owner))


async def put_object_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    version_id = version_arg(call)
    record = await find_object(call, bucket, call.key, version_id)
    owner = record.owner or bucket.owner
    stored = await _requested_acl(call, owner, bucket)

    def change(changed: ObjectRecord) -> None:
        changed.acl = stored

    return await change_version(call, bucket, version_id, change)


async def get_object_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    record = await find_object(call, bucket, call.key, version_arg(call))
    owner, stored = record.owner or bucket.owner, record.acl
    if bucket_controls.acls_disabled(bucket):  # the bucket's owner owns every object
        owner, stored = bucket.owner, None
    response = xml_response(access.render_policy(access.decode(stored, owner), owner))
    response.headers += version_headers(bucket, record)
    return response
