"""The operator's paths under /-/ (no bucket is named "-"): health, metrics, the console.
Each prefix has one handler; the pipeline hands them every request whose path starts with
/-/, before any S3 parsing, so none of them is ever an S3 request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from oxstore.http.request import Request, Response
from oxstore.s3.context import Services
from oxstore.s3.errors import S3Error

PREFIX = "/-/"
Handler = Callable[[Request, Services], Awaitable[Response]]


async def _health(req: Request, services: Services) -> Response:
    """The process answers (kept for clients of the first /-/health)."""
    return Response(status=200)


# path prefix -> handler (the longest matching prefix answers)
ROUTES: dict[str, Handler] = {
    "/-/health": _health,
}


async def answer(req: Request, services: Services) -> Response:
    path = req.raw_path.split("?", 1)[0]
    for prefix in sorted(ROUTES, key=len, reverse=True):
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return await ROUTES[prefix](req, services)
    raise S3Error("NoSuchKey", Key=path)
