"""Object lock: PUT/GET ?object-lock of a bucket, PUT/GET ?retention and ?legal-hold of an
object version (s3.object_lock has the rules; deletes check them in meta.model)."""

from __future__ import annotations

from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord, ObjectRecord
from oxstore.s3 import object_lock, permissions
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import (
    change_bucket,
    owned_bucket,
    read_config_body,
    require_content_digest,
    xml_response,
)
from oxstore.s3.ops.versioning import change_version, find_object, version_arg, version_headers

NO_LOCK = "Bucket is missing Object Lock Configuration"


async def put_object_lock_configuration(call: Call) -> Response:
    await owned_bucket(call)
    require_content_digest(call)
    config = object_lock.parse_configuration(await read_config_body(call, object_lock.MAX_BODY))

    def change(bucket: BucketRecord) -> None:
        if bucket.object_lock is None and bucket.versioning != "Enabled":
            raise S3Error(
                "InvalidBucketState",
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
            )
        bucket.object_lock = config

    await change_bucket(call, change)
    return Response(status=200)


async def get_object_lock_configuration(call: Call) -> Response:
    bucket = await owned_bucket(call)
    if bucket.object_lock is None:
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=call.bucket)
    return xml_response(object_lock.render_configuration(bucket.object_lock))


async def _locked_bucket(call: Call) -> BucketRecord:
    bucket = await owned_bucket(call)
    if bucket.object_lock is None:
        raise S3Error("InvalidRequest", NO_LOCK)
    return bucket


async def put_object_retention(call: Call) -> Response:
    bucket = await _locked_bucket(call)
    require_content_digest(call)
    mode, until = object_lock.parse_retention(await read_config_body(call, object_lock.MAX_BODY))
    bypass = await permissions.bypasses_governance(call, bucket, call.key)

    def change(record: ObjectRecord) -> None:  # in the transaction, on the stored version
        _no_marker(record)
        object_lock.check_retention_change(object_lock.of(record), mode, until, bypass)
        record.lock_mode, record.retain_until = mode, until

    return await change_version(call, bucket, version_arg(call), change)


async def get_object_retention(call: Call) -> Response:
    bucket = await _locked_bucket(call)
    record = await find_object(call, bucket, call.key, version_arg(call))
    if not record.lock_mode:
        raise S3Error(
            "NoSuchObjectLockConfiguration",
            "The specified object does not have a ObjectLock configuration",
        )
    response = xml_response(object_lock.render_retention(object_lock.of(record)))
    response.headers += version_headers(bucket, record)
    return response


async def put_object_legal_hold(call: Call) -> Response:
    bucket = await _locked_bucket(call)
    require_content_digest(call)
    held = object_lock.parse_legal_hold(await read_config_body(call, object_lock.MAX_BODY))

    def change(record: ObjectRecord) -> None:
        _no_marker(record)
        record.legal_hold = held

    return await change_version(call, bucket, version_arg(call), change)


async def get_object_legal_hold(call: Call) -> Response:
    bucket = await _locked_bucket(call)
    record = await find_object(call, bucket, call.key, version_arg(call))
    response = xml_response(object_lock.render_legal_hold(record.legal_hold))
    response.headers += version_headers(bucket, record)
    return response


def _no_marker(record: ObjectRecord) -> None:
    if record.delete_marker:
        raise S3Error("MethodNotAllowed", Method="PUT", ResourceType="DeleteMarker")
