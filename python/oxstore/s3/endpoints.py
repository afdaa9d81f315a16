"""Every S3 operation oxstore knows, and whether it is built yet.

An endpoint that is not built answers 501 NotImplemented: never a fake success.
"""

from __future__ import annotations

from enum import Enum


class Level(Enum):
    SERVICE = "service"
    BUCKET = "bucket"
    OBJECT = "object"


class Endpoint(Enum):
    # service
    LIST_BUCKETS = "ListBuckets"
    # bucket
    CREATE_BUCKET = "CreateBucket"
    HEAD_BUCKET = "HeadBucket"
    DELETE_BUCKET = "DeleteBucket"
    GET_BUCKET_LOCATION = "GetBucketLocation"
    LIST_OBJECTS = "ListObjects"
    LIST_OBJECTS_V2 = "ListObjectsV2"
    # object
    PUT_OBJECT = "PutObject"
    COPY_OBJECT = "CopyObject"
    GET_OBJECT = "GetObject"
    HEAD_OBJECT = "HeadObject"
    GET_OBJECT_ATTRIBUTES = "GetObjectAttributes"
    DELETE_OBJECT = "DeleteObject"
    DELETE_OBJECTS = "DeleteObjects"
    POST_OBJECT = "PostObject"
    # versioning
    PUT_BUCKET_VERSIONING = "PutBucketVersioning"
    GET_BUCKET_VERSIONING = "GetBucketVersioning"
    LIST_OBJECT_VERSIONS = "ListObjectVersions"
    # tagging
    PUT_OBJECT_TAGGING = "PutObjectTagging"
    GET_OBJECT_TAGGING = "GetObjectTagging"
    DELETE_OBJECT_TAGGING = "DeleteObjectTagging"
    PUT_BUCKET_TAGGING = "PutBucketTagging"
    GET_BUCKET_TAGGING = "GetBucketTagging"
    DELETE_BUCKET_TAGGING = "DeleteBucketTagging"
    # ACLs
    PUT_BUCKET_ACL = "PutBucketAcl"
    GET_BUCKET_ACL = "GetBucketAcl"
    PUT_OBJECT_ACL = "PutObjectAcl"
    GET_OBJECT_ACL = "GetObjectAcl"
    # CORS
    PUT_BUCKET_CORS = "PutBucketCors"
    GET_BUCKET_CORS = "GetBucketCors"
    DELETE_BUCKET_CORS = "DeleteBucketCors"
    CORS_PREFLIGHT = "CorsPreflight"
    # default encryption
    PUT_BUCKET_ENCRYPTION = "PutBucketEncryption"
    GET_BUCKET_ENCRYPTION = "GetBucketEncryption"
    DELETE_BUCKET_ENCRYPTION = "DeleteBucketEncryption"
    # multipart uploads
    CREATE_MULTIPART_UPLOAD = "CreateMultipartUpload"
    UPLOAD_PART = "UploadPart"
    UPLOAD_PART_COPY = "UploadPartCopy"
    COMPLETE_MULTIPART_UPLOAD = "CompleteMultipartUpload"
    ABORT_MULTIPART_UPLOAD = "AbortMultipartUpload"
    LIST_PARTS = "ListParts"
    LIST_MULTIPART_UPLOADS = "ListMultipartUploads"
    # bucket policies
    PUT_BUCKET_POLICY = "PutBucketPolicy"
    GET_BUCKET_POLICY = "GetBucketPolicy"
    DELETE_BUCKET_POLICY = "DeleteBucketPolicy"
    GET_BUCKET_POLICY_STATUS = "GetBucketPolicyStatus"
    # public access block and object ownership
    PUT_PUBLIC_ACCESS_BLOCK = "PutPublicAccessBlock"
    GET_PUBLIC_ACCESS_BLOCK = "GetPublicAccessBlock"
    DELETE_PUBLIC_ACCESS_BLOCK = "DeletePublicAccessBlock"
    PUT_BUCKET_OWNERSHIP_CONTROLS = "PutBucketOwnershipControls"
    GET_BUCKET_OWNERSHIP_CONTROLS = "GetBucketOwnershipControls"
    DELETE_BUCKET_OWNERSHIP_CONTROLS = "DeleteBucketOwnershipControls"
    # object lock
    PUT_OBJECT_LOCK_CONFIGURATION = "PutObjectLockConfiguration"
    GET_OBJECT_LOCK_CONFIGURATION = "GetObjectLockConfiguration"
    PUT_OBJECT_RETENTION = "PutObjectRetention"
    GET_OBJECT_RETENTION = "GetObjectRetention"
    PUT_OBJECT_LEGAL_HOLD = "PutObjectLegalHold"
    GET_OBJECT_LEGAL_HOLD = "GetObjectLegalHold"
    # configurations a bucket cannot have yet: read as absent, deleted as absent
    GET_BUCKET_LIFECYCLE = "GetBucketLifecycleConfiguration"
    DELETE_BUCKET_LIFECYCLE = "DeleteBucketLifecycle"
    GET_BUCKET_WEBSITE = "GetBucketWebsite"
    DELETE_BUCKET_WEBSITE = "DeleteBucketWebsite"
    GET_BUCKET_REPLICATION = "GetBucketReplication"
    DELETE_BUCKET_REPLICATION = "DeleteBucketReplication"
    LIST_BUCKET_ANALYTICS = "ListBucketAnalyticsConfigurations"
    LIST_BUCKET_INVENTORY = "ListBucketInventoryConfigurations"
    LIST_BUCKET_METRICS = "ListBucketMetricsConfigurations"
    LIST_BUCKET_INTELLIGENT_TIERING = "ListBucketIntelligentTieringConfigurations"
    GET_BUCKET_NOTIFICATION = "GetBucketNotificationConfiguration"
    GET_BUCKET_LOGGING = "GetBucketLogging"
    GET_BUCKET_ACCELERATE = "GetBucketAccelerateConfiguration"
    GET_BUCKET_REQUEST_PAYMENT = "GetBucketRequestPayment"
    # the ostor admin API (system users only)
    ADMIN_GET_USERS = "AdminGetUsers"
    ADMIN_PUT_USERS = "AdminPutUsers"
    ADMIN_POST_USERS = "AdminPostUsers"
    ADMIN_DELETE_USERS = "AdminDeleteUsers"
    ADMIN_POST_ACCOUNTS = "AdminPostAccounts"
    ADMIN_DELETE_ACCOUNTS = "AdminDeleteAccounts"
    ADMIN_GET_BUCKETS = "AdminGetBuckets"
    ADMIN_GET_QUOTAS = "AdminGetQuotas"
    ADMIN_PUT_QUOTAS = "AdminPutQuotas"
    ADMIN_DELETE_QUOTAS = "AdminDeleteQuotas"
    ADMIN_GET_LIMITS = "AdminGetLimits"
    ADMIN_PUT_LIMITS = "AdminPutLimits"
    ADMIN_DELETE_LIMITS = "AdminDeleteLimits"
    ADMIN_GET_USAGE = "AdminGetUsage"
    ADMIN_DELETE_USAGE = "AdminDeleteUsage"
    ADMIN_GET_KMS_KEYS = "AdminGetKmsKeys"  # the KMS keyring (oxstore's addition)
    ADMIN_PUT_KMS_KEYS = "AdminPutKmsKeys"
    ADMIN_POST_KMS_KEYS = "AdminPostKmsKeys"
    ADMIN_NOT_IMPLEMENTED = "AdminNotImplemented"  # an ostor-* call not built yet
    # known operations that are not built yet (answer NotImplemented)
    NOT_IMPLEMENTED = "NotImplemented"

    @property
    def action(self) -> str:
        return self.value

    @property
    def is_admin(self) -> bool:
        return self.value.startswith("Admin")
