"""Which S3 action (as bucket policies name them) each endpoint is: one row per endpoint, the
name of its action, the name when the request names an object version (versionId), and
whether it acts on an object (its resource `arn:aws:s3:::bucket/key`) or on the bucket.

Endpoints that are not S3 actions (the ostor admin API, CORS preflights, what is not built)
have no row; tests/unit/test_policy.py checks that every other endpoint has one."""

from __future__ import annotations

from typing import NamedTuple

from oxstore.s3.endpoints import Endpoint


class Action(NamedTuple):
    name: str
    on_object: bool = False
    versioned: str = ""  # the name when versionId is given ("": the same)


E = Endpoint
OBJECT = True
ACTIONS: dict[Endpoint, Action] = {
    E.LIST_BUCKETS: Action("s3:ListAllMyBuckets"),
    E.CREATE_BUCKET: Action("s3:CreateBucket"),
    E.HEAD_BUCKET: Action("s3:ListBucket"),
    E.DELETE_BUCKET: Action("s3:DeleteBucket"),
    E.GET_BUCKET_LOCATION: Action("s3:GetBucketLocation"),
    E.LIST_OBJECTS: Action("s3:ListBucket"),
    E.LIST_OBJECTS_V2: Action("s3:ListBucket"),
    E.LIST_OBJECT_VERSIONS: Action("s3:ListBucketVersions"),
    E.LIST_MULTIPART_UPLOADS: Action("s3:ListBucketMultipartUploads"),
    E.PUT_OBJECT: Action("s3:PutObject", OBJECT),
    E.COPY_OBJECT: Action("s3:PutObject", OBJECT),
    E.POST_OBJECT: Action("s3:PutObject", OBJECT),
    E.CREATE_MULTIPART_UPLOAD: Action("s3:PutObject", OBJECT),
    E.UPLOAD_PART: Action("s3:PutObject", OBJECT),
    E.UPLOAD_PART_COPY: Action("s3:PutObject", OBJECT),
    E.COMPLETE_MULTIPART_UPLOAD: Action("s3:PutObject", OBJECT),
    E.ABORT_MULTIPART_UPLOAD: Action("s3:AbortMultipartUpload", OBJECT),
    E.LIST_PARTS: Action("s3:ListMultipartUploadParts", OBJECT),
    E.GET_OBJECT: Action("s3:GetObject", OBJECT, "s3:GetObjectVersion"),
    E.HEAD_OBJECT: Action("s3:GetObject", OBJECT, "s3:GetObjectVersion"),
    E.GET_OBJECT_ATTRIBUTES: Action(
        "s3:GetObjectAttributes", OBJECT, "s3:GetObjectVersionAttributes"
    ),
    E.DELETE_OBJECT: Action("s3:DeleteObject", OBJECT, "s3:DeleteObjectVersion"),
    E.DELETE_OBJECTS: Action("s3:DeleteObject", OBJECT, "s3:DeleteObjectVersion"),
    E.PUT_OBJECT_TAGGING: Action("s3:PutObjectTagging", OBJECT, "s3:PutObjectVersionTagging"),
    E.GET_OBJECT_TAGGING: Action("s3:GetObjectTagging", OBJECT, "s3:GetObjectVersionTagging"),
    E.DELETE_OBJECT_TAGGING: Action(
        "s3:DeleteObjectTagging", OBJECT, "s3:DeleteObjectVersionTagging"
    ),
    E.PUT_OBJECT_ACL: Action("s3:PutObjectAcl", OBJECT, "s3:PutObjectVersionAcl"),
    E.GET_OBJECT_ACL: Action("s3:GetObjectAcl", OBJECT, "s3:GetObjectVersionAcl"),
    E.PUT_BUCKET_VERSIONING: Action("s3:PutBucketVersioning"),
    E.GET_BUCKET_VERSIONING: Action("s3:GetBucketVersioning"),
    E.PUT_BUCKET_TAGGING: Action("s3:PutBucketTagging"),
    E.GET_BUCKET_TAGGING: Action("s3:GetBucketTagging"),
    E.DELETE_BUCKET_TAGGING: Action("s3:PutBucketTagging"),
    E.PUT_BUCKET_ACL: Action("s3:PutBucketAcl"),
    E.GET_BUCKET_ACL: Action("s3:GetBucketAcl"),
    E.PUT_BUCKET_CORS: Action("s3:PutBucketCORS"),
    E.GET_BUCKET_CORS: Action("s3:GetBucketCORS"),
    E.DELETE_BUCKET_CORS: Action("s3:PutBucketCORS"),
    E.PUT_BUCKET_ENCRYPTION: Action("s3:PutEncryptionConfiguration"),
    E.GET_BUCKET_ENCRYPTION: Action("s3:GetEncryptionConfiguration"),
    E.DELETE_BUCKET_ENCRYPTION: Action("s3:PutEncryptionConfiguration"),
    E.PUT_BUCKET_POLICY: Action("s3:PutBucketPolicy"),
    E.GET_BUCKET_POLICY: Action("s3:GetBucketPolicy"),
    E.DELETE_BUCKET_POLICY: Action("s3:DeleteBucketPolicy"),
    E.GET_BUCKET_POLICY_STATUS: Action("s3:GetBucketPolicyStatus"),
    E.GET_BUCKET_LIFECYCLE: Action("s3:GetLifecycleConfiguration"),
    E.DELETE_BUCKET_LIFECYCLE: Action("s3:PutLifecycleConfiguration"),
    E.GET_BUCKET_WEBSITE: Action("s3:GetBucketWebsite"),
    E.DELETE_BUCKET_WEBSITE: Action("s3:DeleteBucketWebsite"),
    E.GET_BUCKET_REPLICATION: Action("s3:GetReplicationConfiguration"),
    E.DELETE_BUCKET_REPLICATION: Action("s3:PutReplicationConfiguration"),
    E.PUT_OBJECT_LOCK_CONFIGURATION: Action("s3:PutBucketObjectLockConfiguration"),
    E.GET_OBJECT_LOCK_CONFIGURATION: Action("s3:GetBucketObjectLockConfiguration"),
    E.PUT_OBJECT_RETENTION: Action("s3:PutObjectRetention", OBJECT),
    E.GET_OBJECT_RETENTION: Action("s3:GetObjectRetention", OBJECT),
    E.PUT_OBJECT_LEGAL_HOLD: Action("s3:PutObjectLegalHold", OBJECT),
    E.GET_OBJECT_LEGAL_HOLD: Action("s3:GetObjectLegalHold", OBJECT),
    E.PUT_PUBLIC_ACCESS_BLOCK: Action("s3:PutBucketPublicAccessBlock"),
    E.GET_PUBLIC_ACCESS_BLOCK: Action("s3:GetBucketPublicAccessBlock"),
    E.DELETE_PUBLIC_ACCESS_BLOCK: Action("s3:PutBucketPublicAccessBlock"),
    E.PUT_BUCKET_OWNERSHIP_CONTROLS: Action("s3:PutBucketOwnershipControls"),
    E.GET_BUCKET_OWNERSHIP_CONTROLS: Action("s3:GetBucketOwnershipControls"),
    E.DELETE_BUCKET_OWNERSHIP_CONTROLS: Action("s3:PutBucketOwnershipControls"),
    E.LIST_BUCKET_ANALYTICS: Action("s3:GetAnalyticsConfiguration"),
    E.LIST_BUCKET_INVENTORY: Action("s3:GetInventoryConfiguration"),
    E.LIST_BUCKET_METRICS: Action("s3:GetMetricsConfiguration"),
    E.LIST_BUCKET_INTELLIGENT_TIERING: Action("s3:GetIntelligentTieringConfiguration"),
    E.GET_BUCKET_NOTIFICATION: Action("s3:GetBucketNotification"),
    E.GET_BUCKET_LOGGING: Action("s3:GetBucketLogging"),
    E.GET_BUCKET_ACCELERATE: Action("s3:GetAccelerateConfiguration"),
    E.GET_BUCKET_REQUEST_PAYMENT: Action("s3:GetBucketRequestPayment"),
}
# S3 actions a policy may name besides those above: real ones of features not built yet
# (a policy written for S3 is accepted as written; they allow or deny nothing here yet)
OTHER_ACTIONS = (
    "s3:BypassGovernanceRetention",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketWebsite",
    "s3:PutReplicationConfiguration",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:RestoreObject",
    "s3:PutBucketNotification",
    "s3:PutBucketLogging",
    "s3:PutAccelerateConfiguration",
    "s3:PutBucketRequestPayment",
    "s3:PutAnalyticsConfiguration",
    "s3:PutInventoryConfiguration",
    "s3:PutMetricsConfiguration",
    "s3:PutIntelligentTieringConfiguration",
    "s3:GetObjectTorrent",
    "s3:GetObjectVersionTorrent",
    "s3:GetObjectVersionForReplication",
)
OBJECT_ACTION_NAMES = frozenset(
    name
    for action in ACTIONS.values()
    if action.on_object
    for name in (action.name, action.versioned)
    if name
) | frozenset(
    n for n in OTHER_ACTIONS if "Object" in n or n.startswith("s3:Replicate") or "Retention" in n
)
KNOWN = tuple(
    sorted({n for a in ACTIONS.values() for n in (a.name, a.versioned) if n} | set(OTHER_ACTIONS))
)


def name_of(action: Action, versioned: bool) -> str:
    """The action's name for a request (versioned: it names an object version)."""
    return action.versioned if versioned and action.versioned else action.name
