"""Bucket policies: PUT/GET/DELETE ?policy and GET ?policyStatus. The document is checked
(auth.policy), its principals must be owners the store knows, and it is kept as sent, on the
bucket's record: requests read it with the bucket, no read of their own."""

from __future__ import annotations

from oxstore.auth import policy
from oxstore.http.request import Response
from oxstore.s3 import bucket_controls
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import owned_bucket, read_config_body, set_bucket, xml_response
from oxstore.s3.xml import document, el


async def put_bucket_policy(call: Call) -> Response:
    bucket = await owned_bucket(call)
    body = await read_config_body(call, policy.MAX_POLICY + 1)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise policy.malformed(
            "Policies must be valid JSON and the first byte must be '{'"
        ) from exc
    parsed = policy.parse(text, call.bucket)
    bucket_controls.check_policy(bucket, parsed.public)
    for name in parsed.principals:
        owner_id, account = policy.principal_owner(name)
        found = await call.meta.get_owner(owner_id)
        if found is None or (account and not await _has_account(call, owner_id, account)):
            raise policy.malformed("Invalid principal in policy")
    await set_bucket(call, bucket_policy=text)
    return Response(status=204)


async def _has_account(call: Call, user_id: str, name: str) -> bool:
    return await call.meta.account_of(user_id, name) is not None


async def get_bucket_policy(call: Call) -> Response:
    bucket = await owned_bucket(call)
    if bucket.bucket_policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=call.bucket)
    return Response(
        status=200,
        headers=[("content-type", "application/json")],
        body=bucket.bucket_policy.encode(),
    )


async def delete_bucket_policy(call: Call) -> Response:
    await owned_bucket(call)
    await set_bucket(call, bucket_policy=None)
    return Response(status=204)


async def get_bucket_policy_status(call: Call) -> Response:
    bucket = await owned_bucket(call)
    if bucket.bucket_policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=call.bucket)
    public = policy.parse(bucket.bucket_policy, bucket.name).public
    public = public and not bucket_controls.blocks(bucket).restrict_public_buckets
    return xml_response(document("PolicyStatus", [el("IsPublic", public)]))
