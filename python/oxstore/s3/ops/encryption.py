"""Bucket default encryption: PUT/GET/DELETE ?encryption. With a default set, writes that
ask for no encryption (PUT, POST, CreateMultipartUpload, copies) are encrypted as it says
(s3.encryption.asked_for)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from oxstore.http.request import Response
from oxstore.meta.records import DefaultEncryption
from oxstore.s3 import encryption
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import (
    owned_bucket,
    parsed,
    read_config_body,
    require_content_digest,
    set_bucket,
    xml_response,
)
from oxstore.s3.xml import document, el, group, parse

MAX_BODY = 16 * 1024
ALGORITHMS = (encryption.SSE_S3, encryption.SSE_KMS)


def _parse(body: bytes) -> DefaultEncryption:
    """The one rule of a ServerSideEncryptionConfiguration document."""
    root = parse(body, MAX_BODY)
    rules = root.findall("Rule") if root.tag == "ServerSideEncryptionConfiguration" else []
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    rule = rules[0]
    applied = rule.find("ApplyServerSideEncryptionByDefault")
    if applied is None:
        raise S3Error("MalformedXML")
    algorithm = _text(applied, "SSEAlgorithm")
    if algorithm not in ALGORITHMS:
        raise S3Error("MalformedXML")
    key = _text(applied, "KMSMasterKeyID")
    if key and algorithm != encryption.SSE_KMS:
        raise S3Error(
            "InvalidArgument",
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms",
            ArgumentName="ApplyServerSideEncryptionByDefault",
        )
    bucket_key = _text(rule, "BucketKeyEnabled").lower()
    if bucket_key not in ("", "true", "false"):
        raise S3Error("MalformedXML")
    return DefaultEncryption(algorithm=algorithm, kms_key=key, bucket_key=bucket_key == "true")


def _text(node: Element, tag: str) -> str:
    return (node.findtext(tag) or "").strip()


async def put_bucket_encryption(call: Call) -> Response:
    await owned_bucket(call)
    require_content_digest(call)
    default = await parsed(_parse, await read_config_body(call, MAX_BODY))
    if default.algorithm == encryption.SSE_KMS:  # an unknown key is refused now, not per write
        kms = call.services.kms
        assert kms is not None
        found = await kms.for_write(default.kms_key or None)
        if default.kms_key:
            default = DefaultEncryption(
                algorithm=default.algorithm, kms_key=found.key_id, bucket_key=default.bucket_key
            )
    await set_bucket(call, default_encryption=default)
    return Response(status=200)


async def get_bucket_encryption(call: Call) -> Response:
    bucket = await owned_bucket(call)
    default = bucket.default_encryption
    if default is None:
        raise S3Error("ServerSideEncryptionConfigurationNotFoundError", BucketName=call.bucket)
    applied = [el("SSEAlgorithm", default.algorithm)]
    if default.kms_key:
        applied.append(el("KMSMasterKeyID", default.kms_key))
    rule = group(
        "Rule",
        [
            group("ApplyServerSideEncryptionByDefault", applied),
            el("BucketKeyEnabled", default.bucket_key),
        ],
    )
    return xml_response(document("ServerSideEncryptionConfiguration", [rule]))


async def delete_bucket_encryption(call: Call) -> Response:
    await owned_bucket(call)
    await set_bucket(call, default_encryption=None)
    return Response(status=204)
