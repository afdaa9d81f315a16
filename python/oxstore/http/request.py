"""Server-neutral HTTP request and response values (the only shapes handlers see)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass(slots=True)
class Request:
    method: str
    raw_path: str  # as received, percent-encoded, without the query string
    query_string: str  # as received
    query: list[tuple[str, str]]  # decoded pairs, arrival order; a bare `?acl` gives ("acl", "")
    headers: dict[str, str]  # lower-case names; repeated headers joined with ","
    header_list: list[tuple[str, str]]  # every header as received (names lower-case)
    body: AsyncIterator[bytes]  # the raw request body
    client: str = ""
    tls: bool = False  # came over https
    unreadable: tuple[str, ...] = ()  # headers sent with values the server could not read
    # filled by the pipeline
    request_id: str = ""
    bucket: str | None = None
    key: str | None = None
    tenant: str | None = None  # the owner id a path /<id>:<bucket>/... names
    virtual_host: bool = False  # the bucket is the Host's (bucket.<domain>), not the path's
    operation: str = ""  # its kind (limits.rates.OP_KIND) once routed; "" before
    requester: str = ""  # the id of whoever signed it ("" anonymous)
    api: str = ""  # the endpoint's name once routed ("" for the operator's /-/ paths)
    error: str = ""  # the S3 error code it is answered with, if it is

    def arg(self, name: str) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return None

    def has_arg(self, name: str) -> bool:
        return any(k == name for k, _ in self.query)


def parse_query(query_string: str) -> list[tuple[str, str]]:
    """Decodes a query string keeping blank values and arrival order (`?acl` -> ("acl", ""))."""
    pairs: list[tuple[str, str]] = []
    if not query_string:
        return pairs
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name.replace("+", " ")), unquote(value.replace("+", " "))))
    return pairs


@dataclass(slots=True)
class Response:
    """What a handler answers. Exactly one body kind is set (or none: empty body)."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    file: tuple[str, int, int] | None = None  # (path, start, end exclusive) served by the server
    stream: AsyncIterator[bytes] | None = None
