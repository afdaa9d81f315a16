"""ACLs of buckets and objects: GET/PUT ?acl, and the ACL a write asks for in its headers."""

from __future__ import annotations

from oxstore.auth import access
from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord, ObjectRecord
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


async def _requested_grants(call: Call, owner: str, bucket_owner: str) -> list[access.Grant]:
    """PUT ?acl: the headers' grants, or an AccessControlPolicy body (not both)."""
    body = await read_config_body(call, MAX_ACL_BODY)
    asked = access.asked_acl(call.req.headers)
    if asked is not None:
        if body.strip():
            raise S3Error(
                "UnexpectedContent", "This request does not support content with ACL headers."
            )
        return await _known_grantees(call, access.grants_of(asked, owner, bucket_owner))
    if not body.strip():
        raise S3Error("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
    return await _known_grantees(call, access.parse_policy(body, owner))


async def put_bucket_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    stored = access.encode(await _requested_grants(call, bucket.owner, bucket.owner))

    def change(record: BucketRecord) -> None:
        record.acl = stored

    await change_bucket(call, change)
    return Response(status=200)


async def get_bucket_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    grants = access.decode(bucket.acl, bucket.owner)
    return xml_response(access.render_policy(grants, bucket.owner))


async def put_object_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    version_id = version_arg(call)
    record = await find_object(call, bucket, call.key, version_id)
    owner = record.owner or bucket.owner
    stored = access.encode(await _requested_grants(call, owner, bucket.owner))

    def change(changed: ObjectRecord) -> None:
        changed.acl = stored

    return await change_version(call, bucket, version_id, change)


async def get_object_acl(call: Call) -> Response:
    bucket = await owned_bucket(call)
    record = await find_object(call, bucket, call.key, version_arg(call))
    owner = record.owner or bucket.owner
    response = xml_response(access.render_policy(access.decode(record.acl, owner), owner))
    response.headers += version_headers(bucket, record)
    return response
