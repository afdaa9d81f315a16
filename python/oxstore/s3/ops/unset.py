"""Bucket configurations oxstore cannot set yet (lifecycle, notifications, ...): a
bucket never has one, so reading one answers what S3 answers for a bucket without it, and
deleting one leaves none. Setting one answers 501 NotImplemented (the route table)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oxstore.http.request import Response
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.common import owned_bucket, xml_response
from oxstore.s3.xml import document, el

Handler = Callable[[Call], Awaitable[Response]]


def missing(code: str) -> Handler:
    """GET of a configuration S3 reports missing with an error (NoSuchBucketPolicy, ...)."""

    async def get(call: Call) -> Response:
        await owned_bucket(call)
        raise S3Error(code, BucketName=call.bucket)

    return get


def empty(root: str, *children: str) -> Handler:
    """GET of a configuration S3 reports as an empty (or default) document."""

    async def get(call: Call) -> Response:
        await owned_bucket(call)
        return xml_response(document(root, children))

    return get


def none_listed(root: str) -> Handler:
    """GET of a kind of configuration a bucket holds several of, by id (analytics, inventory,
    metrics, intelligent-tiering): an empty list, and NoSuchConfiguration for any id."""

    async def get(call: Call) -> Response:
        await owned_bucket(call)
        if call.req.arg("id") is not None:
            raise S3Error("NoSuchConfiguration")
        return xml_response(document(root, [el("IsTruncated", False)]))

    return get


async def delete(call: Call) -> Response:
    """DELETE of a configuration the bucket cannot have: there is none afterwards."""
    await owned_bucket(call)
    return Response(status=204)


GET_LIFECYCLE = missing("NoSuchLifecycleConfiguration")
GET_WEBSITE = missing("NoSuchWebsiteConfiguration")
GET_REPLICATION = missing("ReplicationConfigurationNotFoundError")
GET_ANALYTICS = none_listed("ListBucketAnalyticsConfigurationResult")
GET_INVENTORY = none_listed("ListInventoryConfigurationsResult")
GET_METRICS = none_listed("ListMetricsConfigurationsResult")
GET_INTELLIGENT_TIERING = none_listed("ListBucketIntelligentTieringConfigurationsOutput")
GET_NOTIFICATION = empty("NotificationConfiguration")
GET_LOGGING = empty("BucketLoggingStatus")
GET_ACCELERATE = empty("AccelerateConfiguration")
GET_REQUEST_PAYMENT = empty("RequestPaymentConfiguration", el("Payer", "BucketOwner"))
