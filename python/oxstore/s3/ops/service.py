"""Service-level operations: ListBuckets."""

from __future__ import annotations

from oxstore.http.request import Response
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.listing import decode_token, encode_token
from oxstore.s3.ops.common import owner_xml, xml_response
from oxstore.s3.xml import document, el, group, iso8601


def _max_buckets(call: Call) -> int | None:
    raw = call.req.arg("max-buckets")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise S3Error("InvalidArgument", "Argument max-buckets must be between 1 and 10000.")
    return int(raw)


async def list_buckets(call: Call) -> Response:
    owner = call.auth.owner
    assert owner is not None
    prefix = call.req.arg("prefix") or ""
    token = call.req.arg("continuation-token")
    after = decode_token(token) if token else ""
    limit = _max_buckets(call)
    buckets = [
        b
        for b in await call.meta.list_buckets(owner)
        if b.name.startswith(prefix) and b.name > after
    ]
    next_token = None
    if limit is not None and len(buckets) > limit:
        buckets = buckets[:limit]
        next_token = encode_token(buckets[-1].name)
    entries = [
        group(
            "Bucket",
            [
                el("Name", b.name),
                el("CreationDate", iso8601(b.created)),
                el("BucketRegion", b.region),
            ],
        )
        for b in buckets
    ]
    body = document(
        "ListAllMyBucketsResult",
        [
            owner_xml(owner),
            group("Buckets", entries),
            el("ContinuationToken", next_token),
            el("Prefix", call.req.arg("prefix")),
        ],
    )
    return xml_response(body)
