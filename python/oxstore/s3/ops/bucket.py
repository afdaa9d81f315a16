"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""

from __future__ import annotations

import ipaddress
import re
import time

from oxstore.auth import access
from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord, LockConfig
from oxstore.meta.store import BucketExistsError
from oxstore.s3 import bucket_controls
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.acl import write_acl
from oxstore.s3.ops.common import (
    bucket_headers,
    owned_bucket,
    read_config_body,
    xml_response,
)
from oxstore.s3.xml import S3_NS, parse

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_CONFIGURATION_BODY = 64 * 1024
US_EAST_1 = "us-east-1"


def valid_bucket_name(name: str) -> bool:
    """S3's general-purpose bucket naming rules."""
    if not _BUCKET_NAME.match(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
        return False
    if name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


async def _location_constraint(call: Call) -> str:
    body = (await read_config_body(call, MAX_CONFIGURATION_BODY)).strip()
    if not body:
        return ""
    if not body.startswith(b"<"):  # the provider's API also takes the bare region name
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            raise S3Error("MalformedXML") from exc
    root = parse(body)
    if root.tag != "CreateBucketConfiguration":
        raise S3Error("MalformedXML")
    node = root.find("LocationConstraint")
    return (node.text or "").strip() if node is not None else ""


def _placement(call: Call, requested: str) -> tuple[str, str]:
    """(region, storage policy id) of a new bucket.

    No location constraint means the default region; naming the default region explicitly, or
    an unknown one, is InvalidLocationConstraint (S3's rule for us-east-1, and the provider's),
    but for us-east-1 itself as a server's default region: minio-py names it on every
    make_bucket, and MinIO accepts it as that region.
    x-gmt-policyid picks a storage policy of that region; without it the region's default.
    """
    offer = call.config.offer
    if requested == US_EAST_1 == offer.default_region:
        requested = ""
    if requested and (requested == offer.default_region or offer.region(requested) is None):
        raise S3Error("InvalidLocationConstraint", LocationConstraint=requested)
    region = requested or offer.default_region
    policy_id = call.req.headers.get("x-gmt-policyid")
    if policy_id is None:
        return region, offer.default_policy(region).id
    policy = offer.policy(policy_id.strip())
    if policy is None:
        raise S3Error(
            "InvalidArgument",
            "The storage policy id is not valid.",
            ArgumentName="x-gmt-policyid",
            ArgumentValue=policy_id,
        )
    if policy.region != region:
        raise S3Error(
            "InvalidLocationConstraint",
            f"The storage policy {policy.id} belongs to region {policy.region}.",
            LocationConstraint=region,
        )
    return region, policy.id


def _lock_asked(call: Call) -> LockConfig | None:
    """x-amz-bucket-object-lock-enabled: true makes a bucket with object lock (and so with
    versioning Enabled, for good)."""
    value = call.req.headers.get("x-amz-bucket-object-lock-enabled", "false").strip().lower()
    if value not in ("true", "false"):
        raise S3Error(
            "InvalidArgument",
            "x-amz-bucket-object-lock-enabled must be true or false",
            ArgumentName="x-amz-bucket-object-lock-enabled",
        )
    return LockConfig() if value == "true" else None


async def create_bucket(call: Call) -> Response:
    name = call.bucket
    if not valid_bucket_name(name):
        raise S3Error("InvalidBucketName", BucketName=name)
    lock = _lock_asked(call)
    ownership = _ownership_asked(call)
    asked = access.asked_acl(call.req.headers)
    if ownership == bucket_controls.ENFORCED:
        if asked is not None and asked.canned not in ("private", "bucket-owner-full-control"):
            raise S3Error("InvalidBucketAclWithObjectOwnership")
        asked = None
    acl = await write_acl(call, asked)
    region, policy_id = _placement(call, await _location_constraint(call))
    owner = call.auth.owner
    assert owner is not None
    existing = await call.meta.get_bucket(name)
    if existing is not None:
        raise _exists(existing.owner, owner, name)
    if await call.meta.count_buckets(owner) >= call.config.max_buckets_per_account:
        raise S3Error("TooManyBuckets")
    record = BucketRecord(
        name=name,
        owner=owner,
        created=time.time(),
        region=region,
        policy_id=policy_id,
        acl=acl,
        object_ownership=ownership,
        object_lock=lock,
        versioning="Enabled" if lock is not None else "",
    )
    try:
        await call.meta.create_bucket(record)
    except BucketExistsError as exc:
        raise _exists(exc.owner, owner, name) from exc
    return Response(status=200, headers=[("location", f"/{name}")])


def _ownership_asked(call: Call) -> str:
    """x-amz-object-ownership of CreateBucket ("": none sent)."""
    value = call.req.headers.get("x-amz-object-ownership")
    if value is None:
        return ""
    if value not in bucket_controls.OWNERSHIPS:
        raise S3Error(
            "InvalidArgument",
            "Invalid x-amz-object-ownership header",
            ArgumentName="x-amz-object-ownership",
            ArgumentValue=value,
        )
    return value


def _exists(existing_owner: str, owner: str, name: str) -> S3Error:
    code = "BucketAlreadyOwnedByYou" if existing_owner == owner else "BucketAlreadyExists"
    return S3Error(code, BucketName=name)


async def head_bucket(call: Call) -> Response:
    return Response(status=200, headers=bucket_headers(await owned_bucket(call)))


async def delete_bucket(call: Call) -> Response:
    await owned_bucket(call)
    outcome = await call.meta.delete_bucket(call.bucket)
    if outcome == "not_empty":
        raise S3Error("BucketNotEmpty", BucketName=call.bucket)
    if outcome == "missing":
        raise S3Error("NoSuchBucket", BucketName=call.bucket)
    return Response(status=204)


async def get_bucket_location(call: Call) -> Response:
    bucket = await owned_bucket(call)
    region = "" if bucket.region == call.config.offer.default_region else bucket.region
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<LocationConstraint xmlns="{S3_NS}">{region}</LocationConstraint>'
    ).encode()
    return xml_response(body)
