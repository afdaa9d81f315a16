"""Who may do what: the one place a request is authorised, by the bucket's policy and ACLs.

An explicit Deny of the bucket's policy refuses anyone, the bucket's owner too (but for
managing the policy itself: an owner cannot lock themselves out). Otherwise the bucket's owner
may do everything; anyone else, anonymous included, what the policy allows, or what the
bucket's or the object's ACL grants of the operations listed here; but the bucket's policy,
public access block and ownership controls are its owner's alone (OWNER_ONLY), and a write's
object-lock headers need the lock's own permissions (check_lock_asked).
"""

from __future__ import annotations

import functools
from typing import Literal

from oxstore.auth import access, policy
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.s3 import bucket_controls, object_lock
from oxstore.s3.actions import ACTIONS, Action, name_of
from oxstore.s3.condition_keys import Form, RequestKeys
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
# What the bucket owner may do whatever its policy says.
POLICY_MANAGEMENT = frozenset(
    {
        Endpoint.PUT_BUCKET_POLICY,
        Endpoint.GET_BUCKET_POLICY,
        Endpoint.DELETE_BUCKET_POLICY,
        Endpoint.GET_BUCKET_POLICY_STATUS,
    }
)
# What only the bucket's owner may do (its id exactly: an account under a user is an owner of
# its own), whatever its policy allows anyone else: S3 answers 405 MethodNotAllowed to whom the
# policy allows, 403 AccessDenied to anyone else, so that no one but the owner may see or
# change who may do what with the bucket.
OWNER_ONLY = POLICY_MANAGEMENT | frozenset(
    {
        Endpoint.PUT_PUBLIC_ACCESS_BLOCK,
        Endpoint.GET_PUBLIC_ACCESS_BLOCK,
        Endpoint.DELETE_PUBLIC_ACCESS_BLOCK,
        Endpoint.PUT_BUCKET_OWNERSHIP_CONTROLS,
        Endpoint.GET_BUCKET_OWNERSHIP_CONTROLS,
        Endpoint.DELETE_BUCKET_OWNERSHIP_CONTROLS,
    }
)
# Endpoints whose action needs another one allowed too (S3: GetObjectAttributes needs
# s3:GetObject, or s3:GetObjectVersion for a version): a Deny of either refuses.
ALSO_NEEDS = {Endpoint.GET_OBJECT_ATTRIBUTES: Endpoint.GET_OBJECT}
# Admin calls any signed-in user may make about what they own (oxstore's addition): the
# inventory of their own buckets, with sizes and object counts (the console's bucket list).
SELF_SERVICE = frozenset({Endpoint.ADMIN_GET_BUCKETS})
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
        if requester is None or (
            endpoint.is_admin and not call.auth.system and endpoint not in SELF_SERVICE
        ):
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
    owner = requester is not None and requester == bucket.owner
    if endpoint is Endpoint.DELETE_OBJECTS and bucket.bucket_policy is not None and not owner:
        # each key is its own resource: ops.object asks key_allowed() of each
        call.granted, call.keys_by_policy = True, True
        call.acl_granted = bucket_allows(bucket, requester, access.WRITE)
        return
    verdict = None
    if bucket.bucket_policy is not None:  # (most buckets: no coroutine, no argument lookup)
        version_id = call.req.arg("versionId")
        verdict = await policy_verdict(call, bucket, endpoint, call.req.key, version_id)
        also = ALSO_NEEDS.get(endpoint)
        if also is not None and verdict != "Deny":
            verdict = await both_allowing(call, bucket, verdict, also, owner, version_id)
    if verdict == "Deny" and not (owner and endpoint in POLICY_MANAGEMENT):
        raise S3Error("AccessDenied")
    if owner or (endpoint is Endpoint.CREATE_BUCKET and requester is not None):
        return  # (CreateBucket of someone else's: BucketAlreadyExists)
    if endpoint in OWNER_ONLY:
        if verdict == "Allow":
            raise S3Error("MethodNotAllowed", Method=call.req.method, ResourceType="BUCKET")
        raise S3Error("AccessDenied")
    if verdict == "Allow":
        call.granted = True
        return
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


async def both_allowing(
    call: Call,
    bucket: BucketRecord,
    verdict: policy.Verdict,
    also: Endpoint,
    owner: bool,
    version_id: str | None,
) -> policy.Verdict:
    """The verdict on a request whose action needs another one allowed too (ALSO_NEEDS):
    Deny when the policy denies the other; for anyone but the owner, Allow only when the
    other is allowed as well (by the policy, or, when it says nothing of it, by the object's
    ACL), else none (the ACLs decide the request itself)."""
    other = await policy_verdict(call, bucket, also, call.req.key, version_id)
    if other == "Deny":
        return "Deny"
    if verdict != "Allow" or owner or other == "Allow":
        return verdict
    needed = REQUIRED.get(also)
    if other is None and needed is not None:
        record = await named_record(call, call.bucket, call.key, version_id)
        if object_allows(bucket, record, call.auth.owner, needed[1]):
            return verdict
    return None


async def bypasses_governance(call: Call, bucket: BucketRecord, key: str) -> bool:
    """Whether the request asks to bypass GOVERNANCE retention (its header) and may: the
    bucket's owner, or whom its policy allows s3:BypassGovernanceRetention."""
    if call.req.headers.get(object_lock.BYPASS, "").lower() != "true":
        return False
    verdict = await policy_verdict(call, bucket, BYPASS_ACTION, key, None)
    if verdict is not None:
        return verdict == "Allow"
    return call.auth.owner is not None and call.auth.owner == bucket.owner


BYPASS_ACTION = Action("s3:BypassGovernanceRetention", on_object=True)


async def check_lock_asked(
    call: Call,
    bucket: BucketRecord,
    key: str,
    asked: object_lock.Lock | None,
    form: Form | None = None,
) -> None:
    """A write's x-amz-object-lock-* headers (a POST's fields) set a retention or a legal hold
    only for whom the write may do so as PutObjectRetention / PutObjectLegalHold would: the
    bucket's owner, or whom its policy allows s3:PutObjectRetention (s3:PutObjectLegalHold);
    no ACL grants them, and a Deny refuses the owner too. AccessDenied otherwise, before
    anything is stored. (A bucket's default retention is the owner's: it asks for nothing.)"""
    if asked is None:
        return
    needed = [Endpoint.PUT_OBJECT_RETENTION] if asked.mode else []
    if asked.legal_hold:
        needed.append(Endpoint.PUT_OBJECT_LEGAL_HOLD)
    owner = call.auth.owner is not None and call.auth.owner == bucket.owner
    for endpoint in needed:
        verdict = await policy_verdict(call, bucket, endpoint, key, None, form)
        if verdict == "Deny" or (verdict is None and not owner):
            raise S3Error("AccessDenied")


async def policy_verdict(
    call: Call,
    bucket: BucketRecord,
    endpoint: Endpoint | Action,
    key: str | None,
    version_id: str | None,
    form: Form | None = None,
) -> policy.Verdict:
    """What the bucket's policy says of the request (None: it has none, or says nothing),
    as the endpoint's action or the action given; form: a POST upload's."""
    text = bucket.bucket_policy
    action = endpoint if isinstance(endpoint, Action) else ACTIONS.get(endpoint)
    if text is None or action is None:
        return None
    parsed = policy.parse(text, bucket.name)
    auth = call.auth
    resource = policy.ARN_PREFIX + bucket.name
    existing = None
    if action.on_object:
        resource += "/" + (key or "")
        if parsed.reads_existing_tags and key:
            existing = await named_record(call, bucket.name, key, version_id)
    names = frozenset() if auth.owner is None else requester_names(auth.owner, auth.principal)
    lookup = RequestKeys(call, existing, form).lookup
    verdict = parsed.verdict(names, name_of(action, version_id is not None), resource, lookup)
    if verdict == "Allow" and auth.owner != bucket.owner:
        if bucket_controls.policy_restricted(bucket, parsed.public):
            return None  # RestrictPublicBuckets: a public policy allows no one else
    return verdict


@functools.lru_cache(maxsize=4096)
def requester_names(owner: str, principal: str) -> frozenset[str]:
    """Every name a policy's principal may give the requester: the owner id, its own root
    ARN and (an account's) its user's ARN for it."""
    return frozenset({owner, f"arn:aws:iam::{owner}:root", principal})


async def key_allowed(
    call: Call, bucket: BucketRecord, endpoint: Endpoint, key: str, version_id: str | None
) -> bool:
    """For a request of several keys (DeleteObjects): whether this key may be acted on."""
    verdict = await policy_verdict(call, bucket, endpoint, key, version_id)
    if verdict == "Deny":
        return False
    if not call.keys_by_policy:  # authorize() decided for the whole request
        return True
    return verdict == "Allow" or call.acl_granted


async def form_allowed(call: Call, bucket: BucketRecord, key: str, form: Form) -> bool:
    """For a POST upload, authorised in its handler (the form tells its signer, key and the
    policy's condition keys): by the bucket's policy, else its ownership or a WRITE grant."""
    verdict = await policy_verdict(call, bucket, Endpoint.POST_OBJECT, key, None, form)
    if verdict is not None:
        return verdict == "Allow"
    return bucket_allows(bucket, call.auth.owner, access.WRITE)


async def source_allowed(
    call: Call, bucket: BucketRecord, key: str, version_id: str | None
) -> bool:
    """Whether the requester may read a copy's source (s3:GetObject of it, by the source
    bucket's policy or ownership or a read grant on the object)."""
    verdict = await policy_verdict(call, bucket, Endpoint.GET_OBJECT, key, version_id)
    if verdict is not None:
        return verdict == "Allow"
    requester = call.auth.owner
    if requester is not None and requester == bucket.owner:
        return True
    named = await named_record(call, bucket.name, key, version_id)
    return object_allows(bucket, named, requester, access.READ)


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
    """Whether the bucket's owner is the requester or its ACL grants the permission (ACLs
    count unless the bucket disables them; public grants unless it ignores them)."""
    if requester is not None and requester == bucket.owner:
        return True
    if bucket_controls.acls_disabled(bucket):
        return False
    grants = bucket_controls.counted(bucket, access.decode(bucket.acl, bucket.owner))
    return access.allows(grants, requester, permission)


def object_allows(
    bucket: BucketRecord, record: ObjectRecord | None, requester: str | None, permission: str
) -> bool:
    """Whether the requester may do what the permission covers with an object (None: it is
    missing, and only whoever may list the bucket may learn that, as S3 answers)."""
    if requester is not None and requester == bucket.owner:
        return True
    if record is None:
        return bucket_allows(bucket, requester, access.READ)
    if bucket_controls.acls_disabled(bucket):  # the bucket's owner owns every object
        return False
    owner = record.owner or bucket.owner
    if requester is not None and requester == owner and permission in OWNER_RIGHTS:
        return True
    grants = bucket_controls.counted(bucket, access.decode(record.acl, owner))
    return access.allows(grants, requester, permission)
