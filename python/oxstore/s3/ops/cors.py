"""CORS: PUT/GET/DELETE ?cors, OPTIONS preflight, and the headers of actual responses."""

from __future__ import annotations

from oxstore.http.request import Request, Response
from oxstore.meta.model import Metadata
from oxstore.meta.records import BucketRecord
from oxstore.s3 import cors
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import (
    change_bucket,
    owned_bucket,
    read_config_body,
    require_content_digest,
    xml_response,
)

MAX_CORS_BODY = 64 * 1024
FORBIDDEN_PREFLIGHT = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
    "are not whitelisted by the resource's CORS spec."
)


async def put_bucket_cors(call: Call) -> Response:
    await owned_bucket(call)
    require_content_digest(call)
    stored = cors.encode(cors.parse_configuration(await read_config_body(call, MAX_CORS_BODY)))

    def change(bucket: BucketRecord) -> None:
        bucket.cors = stored

    await change_bucket(call, change)
    return Response(status=200)


async def get_bucket_cors(call: Call) -> Response:
    bucket = await owned_bucket(call)
    rules = cors.decode(bucket.cors)
    if not rules:
        raise S3Error("NoSuchCORSConfiguration", BucketName=call.bucket)
    return xml_response(cors.render_configuration(rules))


async def delete_bucket_cors(call: Call) -> Response:
    await owned_bucket(call)

    def change(bucket: BucketRecord) -> None:
        bucket.cors = None

    await change_bucket(call, change)
    return Response(status=204)


def _forbidden(call: Call, message: str) -> S3Error:
    resource = "OBJECT" if call.req.key else "BUCKET"
    return S3Error("AccessForbidden", message, Method="OPTIONS", ResourceType=resource)


async def preflight(call: Call) -> Response:
    """OPTIONS: answered from the first matching rule; never signed (browsers do not sign).
    What is checked first answers first, in S3's order: the origin, the bucket and its rules,
    the method, then the match."""
    req = call.req
    origin = req.headers.get("origin")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    bucket = await call.meta.get_bucket(call.bucket)
    if bucket is None:
        raise _forbidden(call, "CORSResponse: Bucket not found")
    rules = cors.decode(bucket.cors)
    if not rules:
        raise _forbidden(call, "CORSResponse: CORS is not enabled for this bucket.")
    method = req.headers.get("access-control-request-method")
    if not method:
        raise S3Error("BadRequest", "Invalid Access-Control-Request-Method: null")
    requested = [
        h.strip().lower()
        for h in req.headers.get("access-control-request-headers", "").split(",")
        if h.strip()
    ]
    rule = cors.matching_rule(rules, origin, method, requested)
    if rule is None:
        raise _forbidden(call, FORBIDDEN_PREFLIGHT)
    headers = cors.response_headers(rule, origin)
    if requested:
        headers.append(("access-control-allow-headers", ", ".join(requested)))
    return Response(status=200, headers=headers)


async def actual_response_headers(meta: Metadata, req: Request) -> list[tuple[str, str]]:
    """Access-Control-* headers for a request that carries Origin and matches a rule."""
    origin = req.headers.get("origin")
    if not origin or not req.bucket:
        return []
    bucket = await meta.get_bucket(req.bucket)
    rules = cors.decode(bucket.cors) if bucket is not None else []
    rule = cors.matching_rule(rules, origin, req.method, [])
    return cors.response_headers(rule, origin) if rule is not None else []
