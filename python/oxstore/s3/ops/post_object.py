"""POST Object: browser uploads with an HTML form (multipart/form-data), signed by a V4 or V2
POST policy or unsigned into a bucket whose ACL lets anyone write. The file streams to disk
like a PUT body."""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from oxstore.auth import access, post_policy
from oxstore.auth.sigv4 import AuthContext
from oxstore.http.multipart_form import FormReader, boundary_of
from oxstore.http.request import Response
from oxstore.meta.records import ObjectRecord
from oxstore.meta.store import NoSuchBucketError
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.acl import requester_id
from oxstore.s3.ops.common import offload, xml_response
from oxstore.s3.ops.object import DEFAULT_CONTENT_TYPE, META_PREFIX, STORED_HEADERS, check_key
from oxstore.s3.ops.tagging import parse_tagging
from oxstore.s3.xml import document, el

STATUSES = {"200": 200, "201": 201, "204": 204}


def _object_record(
    call: Call, fields: dict[str, str], key: str, content_type: str, bucket_owner: str
) -> ObjectRecord:
    """The new object as the form describes it (size and digests come with the upload)."""
    owner = requester_id(call)
    acl = None
    if "acl" in fields:
        acl = access.encode(access.canned(fields["acl"], owner, bucket_owner))
    return ObjectRecord(
        bucket=call.bucket,
        key=key,
        size=0,
        etag="",
        last_modified=0.0,
        content_type=fields.get("content-type") or content_type or DEFAULT_CONTENT_TYPE,
        headers={h: fields[h] for h in STORED_HEADERS if h in fields},
        user_meta={
            n[len(META_PREFIX) :]: v for n, v in fields.items() if n.startswith(META_PREFIX)
        },
        storage_class=fields.get("x-amz-storage-class", "STANDARD"),
        owner=owner,
        acl=acl,
    )


def _answer(call: Call, fields: dict[str, str], record: ObjectRecord) -> Response:
    """303 to success_action_redirect, or success_action_status: 201 with a PostResponse
    document, 200 or (the default) 204."""
    headers = [("etag", f'"{record.etag}"')]
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
    bucket = call.meta.get_bucket(call.bucket)
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
    now = time.time()
    assert call.services.credentials is not None
    signer = post_policy.authenticate(
        fields, call.services.credentials, call.config.offer.signing_regions, now
    )
    length_range = None
    if signer is not None:
        policy = post_policy.parse(fields["policy"], now)
        post_policy.check(policy, fields, call.bucket)
        length_range = policy.length_range
    grants = access.decode(bucket.acl, bucket.owner)
    if signer != bucket.owner and not access.allows(grants, signer, access.WRITE):
        raise S3Error("AccessDenied")
    call.auth = AuthContext(access_key=signer)
    key = fields["key"].replace("${filename}", reader.filename)
    check_key(key)
    record = _object_record(call, fields, key, reader.file_content_type, bucket.owner)
    if "tagging" in fields:
        record.tags = parse_tagging(fields["tagging"].encode())
    if record.storage_class not in call.config.offer.storage_classes:
        raise S3Error("InvalidStorageClass", StorageClassRequested=record.storage_class)
    low, high = length_range or (0, call.config.max_object_size)
    data_id, result = await call.data.write(
        reader.file(),
        ["md5"],
        None,
        {},
        None,
        min(high, call.config.max_object_size),
        call.config.inline_threshold,
    )
    if result["size"] < low:
        if data_id:
            call.data.remove(data_id)
        raise S3Error("EntityTooSmall", ProposedSize=str(result["size"]), MinSizeAllowed=str(low))
    record.size = result["size"]
    record.etag = result["digests"]["md5"].hex()
    record.last_modified = time.time()
    record.data_id = data_id
    record.inline = result["inline"]
    try:
        await offload(call.meta.put_object, record)
    except NoSuchBucketError as exc:
        if data_id:
            call.data.remove(data_id)
        raise S3Error("NoSuchBucket", BucketName=call.bucket) from exc
    return _answer(call, fields, record)
