"""What a bucket's object ownership (PutBucketOwnershipControls) and public access block
(PutPublicAccessBlock) say about ACLs and policies: who owns what a write makes, which ACLs a
write may set, which grants count, which policies may be put and what a public one allows."""

from __future__ import annotations

from oxstore.auth import access
from oxstore.meta.records import BucketRecord, PublicAccessBlock
from oxstore.s3.errors import S3Error

ENFORCED = "BucketOwnerEnforced"
PREFERRED = "BucketOwnerPreferred"
WRITER = "ObjectWriter"
OWNERSHIPS = (ENFORCED, PREFERRED, WRITER)
OPEN = PublicAccessBlock()  # a bucket without a block: nothing blocked
PUBLIC_GROUPS = (access.ALL_USERS, access.AUTHENTICATED_USERS)


def acls_disabled(bucket: BucketRecord) -> bool:
    return bucket.object_ownership == ENFORCED


def blocks(bucket: BucketRecord) -> PublicAccessBlock:
    return bucket.public_access_block or OPEN


def object_owner(bucket: BucketRecord, writer: str, asked: access.AskedAcl | None) -> str:
    """Who owns an object `writer` writes: the bucket's owner when ACLs are disabled, or
    when preferred and the write grants it full control; else the writer."""
    if acls_disabled(bucket):
        return bucket.owner
    if bucket.object_ownership == PREFERRED and asked is not None:
        if asked.canned == "bucket-owner-full-control":
            return bucket.owner
    return writer


def check_asked(bucket: BucketRecord, asked: access.AskedAcl | None) -> None:
    """With ACLs disabled, a write may carry no ACL but bucket-owner-full-control (S3's
    AccessControlListNotSupported)."""
    if acls_disabled(bucket) and asked is not None:
        if asked.canned != "bucket-owner-full-control":
            raise S3Error("AccessControlListNotSupported")


def check_grants(bucket: BucketRecord, grants: list[access.Grant]) -> None:
    """BlockPublicAcls: a write may not set grants to everyone (AccessDenied)."""
    if blocks(bucket).block_public_acls and is_public(grants):
        raise S3Error("AccessDenied")


def is_public(grants: list[access.Grant]) -> bool:
    return any(g.kind == "group" and g.grantee in PUBLIC_GROUPS for g in grants)


def counted(bucket: BucketRecord, grants: list[access.Grant]) -> list[access.Grant]:
    """The grants an access check counts: IgnorePublicAcls leaves out grants to everyone."""
    if not blocks(bucket).ignore_public_acls:
        return grants
    return [g for g in grants if not (g.kind == "group" and g.grantee in PUBLIC_GROUPS)]


def check_policy(bucket: BucketRecord, public: bool) -> None:
    """BlockPublicPolicy: a policy that allows everyone is refused (AccessDenied)."""
    if public and blocks(bucket).block_public_policy:
        raise S3Error("AccessDenied")


def policy_restricted(bucket: BucketRecord, public: bool) -> bool:
    """RestrictPublicBuckets: a public policy allows nobody but the bucket's owner."""
    return public and blocks(bucket).restrict_public_buckets
