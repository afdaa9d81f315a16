"""The web console: static HTML, CSS and JavaScript served under /-/console/.

The page signs every S3 request itself (SigV4 with Web Crypto), so this module only serves
files: it knows no credentials and holds no session. The files it may serve are the ones in
static/ when the module loads, looked up by name; a request path is never joined to a
directory, so no path can reach outside it."""

from __future__ import annotations

import json
from pathlib import Path

from oxstore.http.request import Request, Response
from oxstore.s3.context import Services
from oxstore.topology import StoragePolicy

PREFIX = "/-/console"
STATIC = Path(__file__).with_name("static")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
}

# The page talks only to this origin, runs only its own scripts and is never framed (no
# clickjacking of its delete buttons); no Referer, so a presigned link it opens leaks nothing.
SECURITY_HEADERS = [
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-cache"),
]


def _files() -> dict[str, Path]:
    """name -> path of every servable file (flat: static/ has no subdirectories)."""
    return {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in CONTENT_TYPES}


FILES = _files()


def _config(services: Services) -> bytes:
    """What the page needs to know of this server: the region to sign for by default, the
    regions a bucket may be created in and each region's storage policies."""
    offer = services.config.offer
    regions = [region.name for region in offer.regions]
    policies = [
        {"id": p.id, "region": p.region, "default": p.default, "label": _policy_label(p)}
        for p in offer.policies
    ]
    config = {"region": offer.default_region, "regions": regions, "policies": policies}
    return json.dumps(config).encode()


def _policy_label(policy: StoragePolicy) -> str:
    """A policy as the create form shows it: its description (or id) and how it stores data."""
    layout = f"erasure {policy.erasure}" if policy.erasure else f"copies {policy.placement}"
    return f"{policy.description or policy.id} ({layout})"


def _plain(status: int, text: str, *extra: tuple[str, str]) -> Response:
    headers = [("content-type", "text/plain; charset=utf-8"), *extra]
    return Response(status=status, headers=headers, body=text.encode())


def _file(req: Request, path: Path) -> Response:
    size = path.stat().st_size
    headers = [
        ("content-type", CONTENT_TYPES[path.suffix]),
        ("content-length", str(size)),
        *SECURITY_HEADERS,
    ]
    if req.method == "HEAD" or size == 0:
        return Response(status=200, headers=headers)
    return Response(status=200, headers=headers, file=(str(path), 0, size))


def is_navigation(req: Request) -> bool:
    """A browser opening a page asks for HTML first; S3 clients never accept text/html."""
    return "text/html" in req.headers.get("accept", "")


def entrance() -> Response:
    """Where a browser opening the endpoint itself is sent (S3 would answer it AccessDenied)."""
    return Response(status=307, headers=[("location", PREFIX + "/")])


async def serve(req: Request, services: Services) -> Response:
    """Answers one request under /-/console (the route table in operator_paths sends them)."""
    if req.method not in ("GET", "HEAD"):
        return _plain(405, "Method Not Allowed\n", ("allow", "GET, HEAD"))
    path = req.raw_path
    if path == PREFIX:
        # relative URLs in the page resolve against /-/console/, never /-/
        return Response(status=301, headers=[("location", PREFIX + "/")])
    name = path.removeprefix(PREFIX + "/") or "index.html"
    if name == "config.json":
        headers = [("content-type", "application/json"), *SECURITY_HEADERS]
        body = _config(services)
        return Response(status=200, headers=headers, body=None if req.method == "HEAD" else body)
    found = FILES.get(name)
    if found is None:
        return _plain(404, "Not Found\n")
    return _file(req, found)
