"""`?ostor-usage`: the statistics objects (limits.usage): all their names (MAX_LISTED at a time;
`&after=NAME`, oxstore's addition, lists those after NAME), one of them (`&obj=NAME`) in the
document's JSON, or DELETE one. The document's syntax lines say
`?ostor-users` where its samples say `?ostor-usage`: oxstore follows the samples."""

from __future__ import annotations

from oxstore.admin.common import json_response
from oxstore.http.request import Response
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error

MAX_LISTED = 10_000


async def get_usage(call: Call) -> Response:
    name = call.req.arg("obj")
    if name is None:
        names = await call.meta.usage_object_names(MAX_LISTED + 1, call.req.arg("after") or "")
        listed = names[:MAX_LISTED]
        return json_response(
            {"nr_items": len(listed), "truncated": len(names) > MAX_LISTED, "items": listed}
        )
    body = await call.meta.usage_object(name)
    if body is None:
        raise S3Error("NoSuchKey", Key=name)
    return Response(status=200, headers=[("content-type", "application/json")], body=body)


async def delete_usage(call: Call) -> Response:
    name = call.req.arg("obj")
    if not name:
        raise S3Error("InvalidArgument", "Name the statistics object with obj.")
    if not await call.meta.delete_usage_object(name):
        raise S3Error("NoSuchKey", Key=name)
    return Response(status=204)
