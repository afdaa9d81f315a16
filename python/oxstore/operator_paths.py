"""The operator's paths under /-/ (no bucket is named "-"): health, metrics, the console.
Each prefix has one handler; the pipeline hands them every request whose path starts with
/-/, before any S3 parsing, so none of them is ever an S3 request."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from oxstore import console, health, metrics
from oxstore.gauges import store_gauges
from oxstore.http.request import Request, Response
from oxstore.s3.context import Services
from oxstore.s3.errors import S3Error
from oxstore.s3.sse import is_secure

PREFIX = "/-/"
Handler = Callable[[Request, Services], Awaitable[Response]]


async def _health(req: Request, services: Services) -> Response:
    """The process answers (kept for clients of the first /-/health)."""
    return Response(status=200)


async def _metrics(req: Request, services: Services) -> Response:
    """Prometheus text, for whoever holds the metrics token (or, without one configured,
    for clients on this host only)."""
    if not metrics_allowed(req, services.config.metrics_token):
        raise S3Error("AccessDenied", "Metrics need the bearer token of --metrics-token.")
    meter = services.meter
    assert meter is not None
    values, in_flight = meter.summed()
    gauges = await store_gauges(services)
    headers = [("content-type", "text/plain; version=0.0.4; charset=utf-8")]
    return Response(status=200, headers=headers, body=metrics.render(values, in_flight, gauges))


def metrics_allowed(req: Request, token: str) -> bool:
    if token:
        sent = req.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return is_secure(req.client, tls=False, allow_plain_http=False)  # the loopback only


def is_scrape(req: Request, token: str) -> bool:
    """GET /metrics with the metrics token: Prometheus' default path (without the token it
    stays the S3 path of a bucket named "metrics")."""
    return bool(token) and req.raw_path == "/metrics" and metrics_allowed(req, token)


# path prefix -> handler (the longest matching prefix answers)
ROUTES: dict[str, Handler] = {
    "/-/health": _health,
    "/-/health/live": health.live,
    "/-/health/ready": health.ready,
    "/-/metrics": _metrics,
    "/-/console": console.serve,
}


async def answer(req: Request, services: Services) -> Response:
    if req.raw_path == "/metrics":
        return await _metrics(req, services)
    path = req.raw_path
    for prefix in sorted(ROUTES, key=len, reverse=True):
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return await ROUTES[prefix](req, services)
    raise S3Error("NoSuchKey", Key=path)
