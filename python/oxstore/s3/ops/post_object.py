"""POST Object: browser uploads with an HTML form (multipart/form-data), signed by a V4 or V2
POST policy or unsigned into a bucket whose ACL lets anyone write. The file streams to disk
like a PUT body."""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from oxstore.auth import post_policy
from oxstore.auth.authenticate import signed_by
from oxstore.auth.sigv4 import AuthContext
from oxstore.http.multipart_form import FormReader, boundary_of
from oxstore.http.request import Response
from oxstore.meta.model import QuotaExceededError
from oxstore.meta.records import ObjectRecord
from oxstore.meta.store import NoSuchBucketError
from oxstore.s3 import checksums, condition_keys, description, encryption, object_lock, permissions
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.acl import object_acl
from oxstore.s3.ops.common import xml_response
from oxstore.s3.ops.object import check_key
from oxstore.s3.ops.receive import write_stream
from oxstore.s3.xml import document, el

STATUSES = {"200": 200, "201": 201, "204": 204}


def _answer(call: Call, fields: dict[str, str], record: ObjectRecord) -> Response:
    """303 to success_action_redirect, or success_action_status: 201 with a PostResponse
    document, 200 or (the default) 204."""
    headers = [("etag", f'"{record.etag}"'), *encryption.headers(record.encryption)]
    if record.version_id != "null":
        headers.append(("x-amz-version-id", record.version_id))
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect:
        query = urlencode({"bucket": call.bucket, "key": record.key, "etag": f'"{record.etag}"'})
        separator = "&" if "?" in redirect else "?"
        headers.append(("location", f"{redirect}{separator}{query}"))
        return Response(status=303, headers=headers)
    location = f"{call.config.endpoint}/{quote(call.bucket)}/{quote(record.key)}"
    headers.append(("location", location))
    status = STATUSES.get(fields.get("success_action_status", ""), 204)
    if status != 201:
        return Response(status=status, headers=headers)
    response = xml_response(
        document(
            "PostResponse",
            [
                el("Location", location),
                el("Bucket", call.bucket),
                el("Key", record.key),
                el("ETag", f'"{record.etag}"'),
            ],
            namespace=False,
        ),
        status=201,
    )
    response.headers += headers
    return response


async def post_object(call: Call) -> Response:
    bucket = await call.meta.get_bucket(call.bucket)
    if bucket is None:
        raise S3Error("NoSuchBucket", BucketName=call.bucket)
    reader = FormReader(call.req.body, boundary_of(call.req.headers.get("content-type", "")))
    fields = await reader.fields()
    if "key" not in fields:
        raise S3Error(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.",
            ArgumentName="key",
        )
    # the policy speaks of the key the object gets
    fields["key"] = fields["key"].replace("${filename}", reader.filename)
    now = time.time()
    keys, quotas = call.services.keys, call.services.quotas
    assert keys is not None and quotas is not None
    regions = call.config.offer.signing_regions
    signer = await keys.checked(lambda: post_policy.authenticate(fields, keys, regions, now))
    length_range = None
    if signer is not None:
        policy = post_policy.parse(fields["policy"], now)
        post_policy.check(policy, fields, call.bucket)
        length_range = policy.length_range
    # a V4 form's scope (date/region/s3/aws4_request): the request is SigV4-signed
    scope = fields.get("x-amz-credential", "").partition("/")[2] if signer else ""
    call.auth = signed_by(AuthContext(access_key=signer, scope=scope), keys)
    key = fields["key"]
    described = description.of_form(
        fields, reader.file_content_type, call.config, secure=call.secure
    )
    form = condition_keys.Form(fields, described.tags)
    if not await permissions.form_allowed(call, bucket, key, form):
        raise S3Error("AccessDenied")
    await permissions.check_lock_asked(call, bucket, key, described.lock, form)
    check_key(key)
    sealed = await encryption.sealing(call, encryption.asked_for(bucket, described.encryption))
    owner, acl = await object_acl(call, described.acl, bucket)
    digest = "content-md5" in fields or bool(checksums.sent_checksums(fields))
    lock = object_lock.for_write(described.lock, bucket.object_lock, digest)
    expected = checksums.sent_checksums(fields)
    algorithm = next(iter(expected), None) or fields.get("x-amz-checksum-algorithm", "")
    low, high = length_range or (0, call.config.max_object_size)
    got = await write_stream(
        call,
        call.data.spec_for(bucket.policy_id),
        reader.file(),
        None,
        min(high, call.config.max_object_size),
        call.config.inline_threshold,
        checksums.algorithm_of(algorithm) if algorithm else "",
        expected,
        sealed.data_key if sealed else None,
    )
    if got.size < low:
        if got.data_id:
            call.data.remove(got.data_id)
        raise S3Error("EntityTooSmall", ProposedSize=str(got.size), MinSizeAllowed=str(low))
    record = ObjectRecord(
        bucket=call.bucket,
        key=key,
        size=got.size,
        etag=encryption.etag(sealed, got.etag),
        last_modified=time.time(),
        checksums=got.checksums,
        data_id=got.data_id,
        layout=got.layout,
        inline=got.inline,
        **described.stored(),
        owner=owner,
        acl=acl,
        encryption=encryption.envelope(call, sealed, got.data_id),
        **lock,
    )
    try:
        await call.meta.put_object(record, quota=await quotas.quota_for(bucket))
    except (NoSuchBucketError, QuotaExceededError) as exc:
        if got.data_id:
            call.data.remove(got.data_id)
        if isinstance(exc, QuotaExceededError):
            raise
        raise S3Error("NoSuchBucket", BucketName=call.bucket) from exc
    return _answer(call, fields, record)
