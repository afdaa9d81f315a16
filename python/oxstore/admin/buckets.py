"""`?ostor-buckets`: every bucket (or a user's), with its size as the writes counted it. A user
who is not a system user may ask too, for their own buckets only (oxstore's addition, for the
console's bucket list)."""

from __future__ import annotations

from oxstore.admin.common import find_user, json_response
from oxstore.http.request import Response
from oxstore.meta.records import BucketRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.xml import iso8601


async def _entry(call: Call, bucket: BucketRecord) -> dict[str, object]:
    usage = await call.meta.bucket_usage(bucket.name)
    return {
        "name": bucket.name,
        "epoch": 0,  # a bucket name is never reused while its bucket exists
        "creation_date": iso8601(bucket.created),
        "owner_id": bucket.owner,
        "size": {
            "current": usage.bytes,
            "hmax": usage.hmax,
            "h_integral": usage.integral,
            "last_ts": usage.hour,
        },
        "objects": usage.objects,
    }


async def get_buckets(call: Call) -> Response:
    user = await find_user(call, required=False)
    owner = user.id if user is not None else None
    if not call.auth.system:
        if owner not in (None, call.auth.owner):
            raise S3Error("AccessDenied")
        owner = call.auth.owner
    buckets = await call.meta.list_buckets(owner)
    return json_response({"Buckets": [await _entry(call, b) for b in buckets]})
