"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""

from __future__ import annotations

import ipaddress
import re
import time

from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord
from oxstore.meta.store import BucketExistsError
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import offload, owned_bucket, read_config_body, xml_response
from oxstore.s3.xml import S3_NS, parse

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_CONFIGURATION_BODY = 64 * 1024
# The region whose buckets are created without a LocationConstraint, and which S3 refuses
# when it is named explicitly.
LEGACY_DEFAULT_REGION = "us-east-1"


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
    body = await read_config_body(call, MAX_CONFIGURATION_BODY)
    if not body.strip():
        return ""
    root = parse(body)
    if root.tag != "CreateBucketConfiguration":
        raise S3Error("MalformedXML")
    node = root.find("LocationConstraint")
    return (node.text or "").strip() if node is not None else ""


def _check_region(requested: str, region: str) -> None:
    if requested == "":
        return  # created in the server's region, as clients without a region expect
    if requested != region or requested == LEGACY_DEFAULT_REGION:
        raise S3Error("InvalidLocationConstraint", LocationConstraint=requested)


def _check_acl_headers(call: Call) -> None:
    acl = call.req.headers.get("x-amz-acl", "private")
    grants = [h for h in call.req.headers if h.startswith("x-amz-grant-")]
    if acl != "private" or grants:
        raise S3Error("NotImplemented", "Bucket ACLs other than private are not implemented yet.")
    if call.req.headers.get("x-amz-bucket-object-lock-enabled", "false").lower() == "true":
        raise S3Error("NotImplemented", "Object lock is not implemented yet.")


async def create_bucket(call: Call) -> Response:
    name = call.bucket
    if not valid_bucket_name(name):
        raise S3Error("InvalidBucketName", BucketName=name)
    _check_acl_headers(call)
    _check_region(await _location_constraint(call), call.config.region)
    owner = call.auth.access_key
    assert owner is not None
    existing = call.meta.get_bucket(name)
    if existing is not None:
        raise _exists(existing.owner, owner, name)
    if call.meta.count_buckets(owner) >= call.config.max_buckets_per_account:
        raise S3Error("TooManyBuckets")
    record = BucketRecord(name=name, owner=owner, created=time.time(), region=call.config.region)
    try:
        await offload(call.meta.create_bucket, record)
    except BucketExistsError as exc:
        raise _exists(exc.owner, owner, name) from exc
    return Response(status=200, headers=[("location", f"/{name}")])


def _exists(existing_owner: str, owner: str, name: str) -> S3Error:
    code = "BucketAlreadyOwnedByYou" if existing_owner == owner else "BucketAlreadyExists"
    return S3Error(code, BucketName=name)


async def head_bucket(call: Call) -> Response:
    bucket = owned_bucket(call)
    return Response(status=200, headers=[("x-amz-bucket-region", bucket.region)])


async def delete_bucket(call: Call) -> Response:
    owned_bucket(call)
    outcome = await offload(call.meta.delete_bucket, call.bucket)
    if outcome == "not_empty":
        raise S3Error("BucketNotEmpty", BucketName=call.bucket)
    if outcome == "missing":
        raise S3Error("NoSuchBucket", BucketName=call.bucket)
    return Response(status=204)


async def get_bucket_location(call: Call) -> Response:
    bucket = owned_bucket(call)
    region = "" if bucket.region == LEGACY_DEFAULT_REGION else bucket.region
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<LocationConstraint xmlns="{S3_NS}">{region}</LocationConstraint>'
    ).encode()
    return xml_response(body)
