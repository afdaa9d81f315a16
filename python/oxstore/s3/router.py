"""The route table: (method, level, sub-resource) -> Endpoint.

Sub-resources are the query parameters that select an operation (`?location`, `?acl`, ...).
A request naming a sub-resource that is not in the table answers NotImplemented; a method the
level does not support answers MethodNotAllowed.
"""

from __future__ import annotations

from oxstore.http.request import Request
from oxstore.s3.endpoints import Endpoint, Level
from oxstore.s3.errors import S3Error

# Query parameters that select an operation. Anything else (prefix, max-keys, response-*,
# X-Amz-* of presigned URLs, ...) is an argument of the operation.
SUBRESOURCES = frozenset(
    """accelerate acl analytics attributes cors delete encryption intelligent-tiering inventory
    legal-hold lifecycle location logging metadataConfiguration metrics notification object-lock
    ownershipControls partNumber policy policyStatus publicAccessBlock replication
    requestPayment restore retention select session tagging torrent uploadId uploads versionId
    versioning versions website ostor-users ostor-accounts ostor-buckets ostor-limits
    ostor-quotas ostor-usage ostor-kms-keys""".split()
)

# Sub-resources that modify an operation rather than select another one (UploadPart's
# partNumber comes with uploadId, which selects the operation).
MODIFIERS = frozenset({"versionId", "partNumber"})

ROUTES: dict[tuple[str, Level, str], Endpoint] = {
    ("GET", Level.SERVICE, ""): Endpoint.LIST_BUCKETS,
    ("GET", Level.SERVICE, "ostor-users"): Endpoint.ADMIN_GET_USERS,
    ("PUT", Level.SERVICE, "ostor-users"): Endpoint.ADMIN_PUT_USERS,
    ("POST", Level.SERVICE, "ostor-users"): Endpoint.ADMIN_POST_USERS,
    ("DELETE", Level.SERVICE, "ostor-users"): Endpoint.ADMIN_DELETE_USERS,
    ("POST", Level.SERVICE, "ostor-accounts"): Endpoint.ADMIN_POST_ACCOUNTS,
    ("DELETE", Level.SERVICE, "ostor-accounts"): Endpoint.ADMIN_DELETE_ACCOUNTS,
    ("GET", Level.SERVICE, "ostor-buckets"): Endpoint.ADMIN_GET_BUCKETS,
    ("GET", Level.SERVICE, "ostor-limits"): Endpoint.ADMIN_GET_LIMITS,
    ("PUT", Level.SERVICE, "ostor-limits"): Endpoint.ADMIN_PUT_LIMITS,
    ("DELETE", Level.SERVICE, "ostor-limits"): Endpoint.ADMIN_DELETE_LIMITS,
    ("GET", Level.SERVICE, "ostor-usage"): Endpoint.ADMIN_GET_USAGE,
    ("DELETE", Level.SERVICE, "ostor-usage"): Endpoint.ADMIN_DELETE_USAGE,
    ("GET", Level.SERVICE, "ostor-quotas"): Endpoint.ADMIN_GET_QUOTAS,
    ("PUT", Level.SERVICE, "ostor-quotas"): Endpoint.ADMIN_PUT_QUOTAS,
    ("DELETE", Level.SERVICE, "ostor-quotas"): Endpoint.ADMIN_DELETE_QUOTAS,
    ("GET", Level.SERVICE, "ostor-kms-keys"): Endpoint.ADMIN_GET_KMS_KEYS,
    ("PUT", Level.SERVICE, "ostor-kms-keys"): Endpoint.ADMIN_PUT_KMS_KEYS,
    ("POST", Level.SERVICE, "ostor-kms-keys"): Endpoint.ADMIN_POST_KMS_KEYS,
    ("PUT", Level.BUCKET, ""): Endpoint.CREATE_BUCKET,
    ("HEAD", Level.BUCKET, ""): Endpoint.HEAD_BUCKET,
    ("DELETE", Level.BUCKET, ""): Endpoint.DELETE_BUCKET,
    ("GET", Level.BUCKET, ""): Endpoint.LIST_OBJECTS,
    ("GET", Level.BUCKET, "location"): Endpoint.GET_BUCKET_LOCATION,
    ("PUT", Level.OBJECT, ""): Endpoint.PUT_OBJECT,
    ("GET", Level.OBJECT, ""): Endpoint.GET_OBJECT,
    ("HEAD", Level.OBJECT, ""): Endpoint.HEAD_OBJECT,
    ("GET", Level.OBJECT, "attributes"): Endpoint.GET_OBJECT_ATTRIBUTES,
    ("DELETE", Level.OBJECT, ""): Endpoint.DELETE_OBJECT,
    ("POST", Level.BUCKET, "delete"): Endpoint.DELETE_OBJECTS,
    ("POST", Level.BUCKET, ""): Endpoint.POST_OBJECT,
    ("PUT", Level.BUCKET, "versioning"): Endpoint.PUT_BUCKET_VERSIONING,
    ("GET", Level.BUCKET, "versioning"): Endpoint.GET_BUCKET_VERSIONING,
    ("GET", Level.BUCKET, "versions"): Endpoint.LIST_OBJECT_VERSIONS,
    ("PUT", Level.OBJECT, "tagging"): Endpoint.PUT_OBJECT_TAGGING,
    ("GET", Level.OBJECT, "tagging"): Endpoint.GET_OBJECT_TAGGING,
    ("DELETE", Level.OBJECT, "tagging"): Endpoint.DELETE_OBJECT_TAGGING,
    ("PUT", Level.BUCKET, "tagging"): Endpoint.PUT_BUCKET_TAGGING,
    ("GET", Level.BUCKET, "tagging"): Endpoint.GET_BUCKET_TAGGING,
    ("DELETE", Level.BUCKET, "tagging"): Endpoint.DELETE_BUCKET_TAGGING,
    ("PUT", Level.BUCKET, "acl"): Endpoint.PUT_BUCKET_ACL,
    ("GET", Level.BUCKET, "acl"): Endpoint.GET_BUCKET_ACL,
    ("PUT", Level.OBJECT, "acl"): Endpoint.PUT_OBJECT_ACL,
    ("GET", Level.OBJECT, "acl"): Endpoint.GET_OBJECT_ACL,
    ("PUT", Level.BUCKET, "cors"): Endpoint.PUT_BUCKET_CORS,
    ("GET", Level.BUCKET, "cors"): Endpoint.GET_BUCKET_CORS,
    ("DELETE", Level.BUCKET, "cors"): Endpoint.DELETE_BUCKET_CORS,
    ("OPTIONS", Level.BUCKET, ""): Endpoint.CORS_PREFLIGHT,
    ("OPTIONS", Level.OBJECT, ""): Endpoint.CORS_PREFLIGHT,
    ("PUT", Level.BUCKET, "encryption"): Endpoint.PUT_BUCKET_ENCRYPTION,
    ("GET", Level.BUCKET, "encryption"): Endpoint.GET_BUCKET_ENCRYPTION,
    ("DELETE", Level.BUCKET, "encryption"): Endpoint.DELETE_BUCKET_ENCRYPTION,
    ("POST", Level.OBJECT, "uploads"): Endpoint.CREATE_MULTIPART_UPLOAD,
    ("PUT", Level.OBJECT, "uploadId"): Endpoint.UPLOAD_PART,
    ("POST", Level.OBJECT, "uploadId"): Endpoint.COMPLETE_MULTIPART_UPLOAD,
    ("DELETE", Level.OBJECT, "uploadId"): Endpoint.ABORT_MULTIPART_UPLOAD,
    ("GET", Level.OBJECT, "uploadId"): Endpoint.LIST_PARTS,
    ("GET", Level.BUCKET, "uploads"): Endpoint.LIST_MULTIPART_UPLOADS,
    ("PUT", Level.BUCKET, "policy"): Endpoint.PUT_BUCKET_POLICY,
    ("GET", Level.BUCKET, "policy"): Endpoint.GET_BUCKET_POLICY,
    ("DELETE", Level.BUCKET, "policy"): Endpoint.DELETE_BUCKET_POLICY,
    ("GET", Level.BUCKET, "policyStatus"): Endpoint.GET_BUCKET_POLICY_STATUS,
    ("GET", Level.BUCKET, "lifecycle"): Endpoint.GET_BUCKET_LIFECYCLE,
    ("DELETE", Level.BUCKET, "lifecycle"): Endpoint.DELETE_BUCKET_LIFECYCLE,
    ("GET", Level.BUCKET, "website"): Endpoint.GET_BUCKET_WEBSITE,
    ("DELETE", Level.BUCKET, "website"): Endpoint.DELETE_BUCKET_WEBSITE,
    ("GET", Level.BUCKET, "replication"): Endpoint.GET_BUCKET_REPLICATION,
    ("DELETE", Level.BUCKET, "replication"): Endpoint.DELETE_BUCKET_REPLICATION,
    ("PUT", Level.BUCKET, "object-lock"): Endpoint.PUT_OBJECT_LOCK_CONFIGURATION,
    ("GET", Level.BUCKET, "object-lock"): Endpoint.GET_OBJECT_LOCK_CONFIGURATION,
    ("PUT", Level.OBJECT, "retention"): Endpoint.PUT_OBJECT_RETENTION,
    ("GET", Level.OBJECT, "retention"): Endpoint.GET_OBJECT_RETENTION,
    ("PUT", Level.OBJECT, "legal-hold"): Endpoint.PUT_OBJECT_LEGAL_HOLD,
    ("GET", Level.OBJECT, "legal-hold"): Endpoint.GET_OBJECT_LEGAL_HOLD,
    ("PUT", Level.BUCKET, "publicAccessBlock"): Endpoint.PUT_PUBLIC_ACCESS_BLOCK,
    ("GET", Level.BUCKET, "publicAccessBlock"): Endpoint.GET_PUBLIC_ACCESS_BLOCK,
    ("DELETE", Level.BUCKET, "publicAccessBlock"): Endpoint.DELETE_PUBLIC_ACCESS_BLOCK,
    ("PUT", Level.BUCKET, "ownershipControls"): Endpoint.PUT_BUCKET_OWNERSHIP_CONTROLS,
    ("GET", Level.BUCKET, "ownershipControls"): Endpoint.GET_BUCKET_OWNERSHIP_CONTROLS,
    ("DELETE", Level.BUCKET, "ownershipControls"): Endpoint.DELETE_BUCKET_OWNERSHIP_CONTROLS,
    ("GET", Level.BUCKET, "analytics"): Endpoint.LIST_BUCKET_ANALYTICS,
    ("GET", Level.BUCKET, "inventory"): Endpoint.LIST_BUCKET_INVENTORY,
    ("GET", Level.BUCKET, "metrics"): Endpoint.LIST_BUCKET_METRICS,
    ("GET", Level.BUCKET, "intelligent-tiering"): Endpoint.LIST_BUCKET_INTELLIGENT_TIERING,
    ("GET", Level.BUCKET, "notification"): Endpoint.GET_BUCKET_NOTIFICATION,
    ("GET", Level.BUCKET, "logging"): Endpoint.GET_BUCKET_LOGGING,
    ("GET", Level.BUCKET, "accelerate"): Endpoint.GET_BUCKET_ACCELERATE,
    ("GET", Level.BUCKET, "requestPayment"): Endpoint.GET_BUCKET_REQUEST_PAYMENT,
}

# Sub-resources asked of the wrong level: S3's answers (a sub-resource that exists elsewhere).
MISDIRECTED: dict[tuple[str, Level, str], tuple[str, str]] = {
    ("GET", Level.OBJECT, "uploads"): (
        "InvalidRequest",
        "Key is not expected for the GET method ?uploads subresource",
    ),
    ("GET", Level.OBJECT, "versions"): (
        "InvalidRequest",
        "There is no such thing as the ?versions sub-resource for a key",
    ),
}

# The operations that take a partNumber argument.
PART_NUMBERED = frozenset({Endpoint.UPLOAD_PART, Endpoint.GET_OBJECT, Endpoint.HEAD_OBJECT})

# The operations that take a versionId argument.
VERSIONED = frozenset(
    {
        Endpoint.GET_OBJECT,
        Endpoint.HEAD_OBJECT,
        Endpoint.DELETE_OBJECT,
        Endpoint.GET_OBJECT_ATTRIBUTES,
        Endpoint.PUT_OBJECT_TAGGING,
        Endpoint.GET_OBJECT_TAGGING,
        Endpoint.DELETE_OBJECT_TAGGING,
        Endpoint.PUT_OBJECT_ACL,
        Endpoint.GET_OBJECT_ACL,
        Endpoint.PUT_OBJECT_RETENTION,
        Endpoint.GET_OBJECT_RETENTION,
        Endpoint.PUT_OBJECT_LEGAL_HOLD,
        Endpoint.GET_OBJECT_LEGAL_HOLD,
    }
)

METHODS = frozenset({"GET", "PUT", "HEAD", "DELETE", "POST", "OPTIONS"})


def level_of(bucket: str | None, key: str | None) -> Level:
    if not bucket:
        return Level.SERVICE
    return Level.OBJECT if key else Level.BUCKET


def route(req: Request) -> Endpoint:
    level = level_of(req.bucket, req.key)
    if req.method not in METHODS:
        raise S3Error("MethodNotAllowed", Method=req.method, ResourceType=level.value.upper())
    selectors = sorted({k for k, _ in req.query if k in SUBRESOURCES and k not in MODIFIERS})
    if len(selectors) > 1:
        return Endpoint.NOT_IMPLEMENTED
    sub = selectors[0] if selectors else ""
    endpoint = ROUTES.get((req.method, level, sub))
    if endpoint is None:
        if (req.method, level, sub) in MISDIRECTED:
            raise S3Error(*MISDIRECTED[(req.method, level, sub)])
        if level is Level.SERVICE and sub.startswith("ostor-"):
            return Endpoint.ADMIN_NOT_IMPLEMENTED
        if sub or req.method == "POST":
            return Endpoint.NOT_IMPLEMENTED
        raise S3Error("MethodNotAllowed", Method=req.method, ResourceType=level.value.upper())
    if endpoint is Endpoint.LIST_OBJECTS and req.arg("list-type") == "2":
        return Endpoint.LIST_OBJECTS_V2
    if "x-amz-copy-source" in req.headers:
        if endpoint is Endpoint.PUT_OBJECT:
            return Endpoint.COPY_OBJECT
        if endpoint is Endpoint.UPLOAD_PART:
            return Endpoint.UPLOAD_PART_COPY
    if req.has_arg("partNumber") and endpoint not in PART_NUMBERED:
        if endpoint in (Endpoint.PUT_OBJECT, Endpoint.COPY_OBJECT):
            raise S3Error(
                "InvalidArgument", "This operation does not accept partNumber without uploadId"
            )
        return Endpoint.NOT_IMPLEMENTED
    if req.has_arg("versionId") and endpoint not in VERSIONED:
        return Endpoint.NOT_IMPLEMENTED
    return endpoint
