"""The operator's paths under /-/ (no bucket is named "-"): health, metrics, the console.
Each prefix has one handler; the pipeline hands them every request whose path starts with
/-/, before any S3 parsing, so none of them is ever an S3 request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oxstore import console, health, metrics
from oxstore.gauges import exposition
from oxstore.http.request import Request, Response
from oxstore.s3.context import Services
from oxstore.s3.errors import S3Error
from oxstore.s3.sse import is_secure

PREFIX = "/-/"
METRICS_REFUSED = "Metrics need the bearer token of --metrics-token, or --metrics-address."
Handler = Callable[[Request, Services], Awaitable[Response]]


async def _health(req: Request, services: Services) -> Response:
    """The process answers (kept for clients of the first /-/health)."""
    return Response(status=200)


async def _metrics(req: Request, services: Services) -> Response:
    """Prometheus text, for whoever holds the metrics token (or, without one configured,
    for clients on this host only)."""
    config = services.config
    if not metrics_allowed(req, config.metrics_token, bool(config.metrics_port)):
        raise S3Error("AccessDenied", METRICS_REFUSED)
    body = await exposition(config, services.meta)
    return Response(status=200, headers=[("content-type", metrics.CONTENT_TYPE)], body=body)


def metrics_allowed(req: Request, token: str, elsewhere: bool = False) -> bool:
    """With a token, whoever sends it; without one, nobody when the metrics have an address of
    their own (`elsewhere`), else clients on this host."""
    if token:
        return metrics.token_matches(req.headers.get("authorization", ""), token)
    if elsewhere:
        return False
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
