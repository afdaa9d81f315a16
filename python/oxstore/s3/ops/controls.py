"""A bucket's public access block (PUT/GET/DELETE ?publicAccessBlock) and object ownership
(PUT/GET/DELETE ?ownershipControls); s3.bucket_controls says what they change."""

from __future__ import annotations

from oxstore.http.request import Response
from oxstore.meta.records import PublicAccessBlock
from oxstore.s3 import bucket_controls
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import (
    owned_bucket,
    parsed,
    read_config_body,
    set_bucket,
    xml_response,
)
from oxstore.s3.xml import document, el, group, parse

MAX_BODY = 16 * 1024
# the document's elements and the settings they are
BLOCKS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


def _parse_block(body: bytes) -> PublicAccessBlock:
    root = parse(body, MAX_BODY)
    if root.tag != "PublicAccessBlockConfiguration":
        raise S3Error("MalformedXML")
    settings: dict[str, bool] = {}
    for child in root:
        value = (child.text or "").strip().lower()
        if child.tag not in BLOCKS or value not in ("true", "false"):
            raise S3Error("MalformedXML")
        settings[BLOCKS[child.tag]] = value == "true"
    return PublicAccessBlock(**settings)


async def put_public_access_block(call: Call) -> Response:
    await owned_bucket(call)
    block = await parsed(_parse_block, await read_config_body(call, MAX_BODY))
    await set_bucket(call, public_access_block=block)
    return Response(status=200)


async def get_public_access_block(call: Call) -> Response:
    block = (await owned_bucket(call)).public_access_block
    if block is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", BucketName=call.bucket)
    children = [el(name, getattr(block, field)) for name, field in BLOCKS.items()]
    return xml_response(document("PublicAccessBlockConfiguration", children))


async def delete_public_access_block(call: Call) -> Response:
    await owned_bucket(call)
    await set_bucket(call, public_access_block=None)
    return Response(status=204)


def ownership_of(value: str) -> str:
    """An ObjectOwnership value, checked."""
    if value not in bucket_controls.OWNERSHIPS:
        raise S3Error("MalformedXML")
    return value


def _parse_ownership(body: bytes) -> str:
    root = parse(body, MAX_BODY)
    rules = root.findall("Rule") if root.tag == "OwnershipControls" else []
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    return ownership_of((rules[0].findtext("ObjectOwnership") or "").strip())


async def put_bucket_ownership_controls(call: Call) -> Response:
    await owned_bucket(call)
    ownership = await parsed(_parse_ownership, await read_config_body(call, MAX_BODY))
    await set_bucket(call, object_ownership=ownership)
    return Response(status=200)


async def get_bucket_ownership_controls(call: Call) -> Response:
    ownership = (await owned_bucket(call)).object_ownership
    if not ownership:
        raise S3Error("OwnershipControlsNotFoundError", BucketName=call.bucket)
    rule = group("Rule", [el("ObjectOwnership", ownership)])
    return xml_response(document("OwnershipControls", [rule]))


async def delete_bucket_ownership_controls(call: Call) -> Response:
    await owned_bucket(call)
    await set_bucket(call, object_ownership="")
    return Response(status=204)
