"""One module per operation family; HANDLERS maps each built endpoint to its handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oxstore.http.request import Response
from oxstore.s3 import listing
from oxstore.s3.context import Call
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.ops import (
    acl,
    bucket,
    cors,
    multipart,
    post_object,
    service,
    tagging,
    unset,
    versioning,
)
from oxstore.s3.ops import object as object_ops

HANDLERS: dict[Endpoint, Callable[[Call], Awaitable[Response]]] = {
    Endpoint.LIST_BUCKETS: service.list_buckets,
    Endpoint.CREATE_BUCKET: bucket.create_bucket,
    Endpoint.HEAD_BUCKET: bucket.head_bucket,
    Endpoint.DELETE_BUCKET: bucket.delete_bucket,
    Endpoint.GET_BUCKET_LOCATION: bucket.get_bucket_location,
    Endpoint.LIST_OBJECTS: listing.list_objects,
    Endpoint.LIST_OBJECTS_V2: listing.list_objects_v2,
    Endpoint.PUT_OBJECT: object_ops.put_object,
    Endpoint.COPY_OBJECT: object_ops.copy_object,
    Endpoint.GET_OBJECT: object_ops.get_object,
    Endpoint.HEAD_OBJECT: object_ops.head_object,
    Endpoint.GET_OBJECT_ATTRIBUTES: object_ops.get_object_attributes,
    Endpoint.DELETE_OBJECT: object_ops.delete_object,
    Endpoint.DELETE_OBJECTS: object_ops.delete_objects,
    Endpoint.PUT_BUCKET_VERSIONING: versioning.put_bucket_versioning,
    Endpoint.GET_BUCKET_VERSIONING: versioning.get_bucket_versioning,
    Endpoint.LIST_OBJECT_VERSIONS: versioning.list_object_versions,
    Endpoint.PUT_OBJECT_TAGGING: tagging.put_object_tagging,
    Endpoint.GET_OBJECT_TAGGING: tagging.get_object_tagging,
    Endpoint.DELETE_OBJECT_TAGGING: tagging.delete_object_tagging,
    Endpoint.PUT_BUCKET_TAGGING: tagging.put_bucket_tagging,
    Endpoint.GET_BUCKET_TAGGING: tagging.get_bucket_tagging,
    Endpoint.DELETE_BUCKET_TAGGING: tagging.delete_bucket_tagging,
    Endpoint.POST_OBJECT: post_object.post_object,
    Endpoint.PUT_BUCKET_ACL: acl.put_bucket_acl,
    Endpoint.GET_BUCKET_ACL: acl.get_bucket_acl,
    Endpoint.PUT_OBJECT_ACL: acl.put_object_acl,
    Endpoint.GET_OBJECT_ACL: acl.get_object_acl,
    Endpoint.PUT_BUCKET_CORS: cors.put_bucket_cors,
    Endpoint.GET_BUCKET_CORS: cors.get_bucket_cors,
    Endpoint.DELETE_BUCKET_CORS: cors.delete_bucket_cors,
    Endpoint.CORS_PREFLIGHT: cors.preflight,
    Endpoint.CREATE_MULTIPART_UPLOAD: multipart.create_multipart_upload,
    Endpoint.UPLOAD_PART: multipart.upload_part,
    Endpoint.UPLOAD_PART_COPY: multipart.upload_part_copy,
    Endpoint.COMPLETE_MULTIPART_UPLOAD: multipart.complete_multipart_upload,
    Endpoint.ABORT_MULTIPART_UPLOAD: multipart.abort_multipart_upload,
    Endpoint.LIST_PARTS: multipart.list_parts,
    Endpoint.LIST_MULTIPART_UPLOADS: multipart.list_multipart_uploads,
    Endpoint.GET_BUCKET_POLICY: unset.GET_POLICY,
    Endpoint.DELETE_BUCKET_POLICY: unset.delete,
    Endpoint.GET_BUCKET_POLICY_STATUS: unset.GET_POLICY_STATUS,
    Endpoint.GET_BUCKET_LIFECYCLE: unset.GET_LIFECYCLE,
    Endpoint.DELETE_BUCKET_LIFECYCLE: unset.delete,
    Endpoint.GET_BUCKET_ENCRYPTION: unset.GET_ENCRYPTION,
    Endpoint.DELETE_BUCKET_ENCRYPTION: unset.delete,
    Endpoint.GET_BUCKET_WEBSITE: unset.GET_WEBSITE,
    Endpoint.DELETE_BUCKET_WEBSITE: unset.delete,
    Endpoint.GET_BUCKET_REPLICATION: unset.GET_REPLICATION,
    Endpoint.DELETE_BUCKET_REPLICATION: unset.delete,
    Endpoint.GET_OBJECT_LOCK_CONFIGURATION: unset.GET_OBJECT_LOCK,
    Endpoint.GET_BUCKET_NOTIFICATION: unset.GET_NOTIFICATION,
    Endpoint.GET_BUCKET_LOGGING: unset.GET_LOGGING,
    Endpoint.GET_BUCKET_ACCELERATE: unset.GET_ACCELERATE,
    Endpoint.GET_BUCKET_REQUEST_PAYMENT: unset.GET_REQUEST_PAYMENT,
}
