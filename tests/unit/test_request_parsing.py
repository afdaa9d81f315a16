"""Unit tests of the pure request-parsing pieces: addressing, routes, ranges, conditions."""

from __future__ import annotations

import pytest

from oxstore.http.request import Request, parse_query
from oxstore.s3.addressing import resolve
from oxstore.s3.conditions import read_precondition
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import S3Error
from oxstore.s3.ops.bucket import valid_bucket_name
from oxstore.s3.ranges import parse_range
from oxstore.s3.router import route


def _req(method: str, bucket: str | None, key: str | None, query: str = "") -> Request:
    async def body():  # pragma: no cover - never read here
        yield b""

    req = Request(method, "/", query, parse_query(query), {}, [], body())
    req.bucket, req.key = bucket, key
    return req


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("127.0.0.1:9000", "/", (None, None)),
        ("127.0.0.1:9000", "/b", ("b", None)),
        ("127.0.0.1:9000", "/b/", ("b", None)),
        ("127.0.0.1:9000", "/b/k/x%20y", ("b", "k/x y")),
        ("127.0.0.1:9000", "/b//k", ("b", "/k")),
        ("photos.s3.local:9000", "/a%2Bb", ("photos", "a+b")),
        ("photos.s3.local", "/", ("photos", None)),
        ("s3.local", "/photos/k", ("photos", "k")),
    ],
)
def test_resolve(host: str, path: str, expected: tuple[str | None, str | None]) -> None:
    assert resolve(host, path, ("s3.local",)) == expected


def test_parse_query_keeps_bare_names_and_order() -> None:
    assert parse_query("acl&b=1&a=x%20y") == [("acl", ""), ("b", "1"), ("a", "x y")]


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "endpoint"),
    [
        ("GET", None, None, "", Endpoint.LIST_BUCKETS),
        ("GET", "b", None, "", Endpoint.LIST_OBJECTS),
        ("GET", "b", None, "list-type=2&prefix=a", Endpoint.LIST_OBJECTS_V2),
        ("GET", "b", None, "location", Endpoint.GET_BUCKET_LOCATION),
        ("GET", "b", None, "versioning", Endpoint.GET_BUCKET_VERSIONING),
        ("GET", "b", None, "versions&prefix=a", Endpoint.LIST_OBJECT_VERSIONS),
        ("PUT", "b", "k", "versionId=x", Endpoint.NOT_IMPLEMENTED),
        ("PUT", "b", None, "", Endpoint.CREATE_BUCKET),
        ("PUT", "b", "k", "", Endpoint.PUT_OBJECT),
        ("PUT", "b", "k", "partNumber=1&uploadId=x", Endpoint.UPLOAD_PART),
        ("POST", "b", "k", "uploads", Endpoint.CREATE_MULTIPART_UPLOAD),
        ("POST", "b", "k", "uploadId=x", Endpoint.COMPLETE_MULTIPART_UPLOAD),
        ("DELETE", "b", "k", "uploadId=x", Endpoint.ABORT_MULTIPART_UPLOAD),
        ("GET", "b", "k", "uploadId=x&max-parts=2", Endpoint.LIST_PARTS),
        ("GET", "b", None, "uploads&prefix=a", Endpoint.LIST_MULTIPART_UPLOADS),
        ("GET", "b", "k", "partNumber=2", Endpoint.GET_OBJECT),
        ("DELETE", "b", "k", "partNumber=2", Endpoint.NOT_IMPLEMENTED),
        ("GET", "b", "k", "response-content-type=a", Endpoint.GET_OBJECT),
        ("GET", "b", "k", "X-Amz-Signature=abc", Endpoint.GET_OBJECT),
        ("HEAD", "b", "k", "", Endpoint.HEAD_OBJECT),
        ("DELETE", "b", "k", "", Endpoint.DELETE_OBJECT),
    ],
)
def test_route(method: str, bucket: str | None, key: str | None, query: str, endpoint: Endpoint):
    assert route(_req(method, bucket, key, query)) is endpoint


def test_route_refuses_unknown_method() -> None:
    with pytest.raises(S3Error) as info:
        route(_req("PATCH", "b", "k"))
    assert info.value.code == "MethodNotAllowed"
    assert info.value.status == 405


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=2-5", 10, (2, 6)),
        ("bytes=5-", 10, (5, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-30", 10, (0, 10)),
        ("bytes=3-100", 10, (3, 10)),
        ("bytes=5-2", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("items=0-1", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=0-", 0)])
def test_unsatisfiable_range(header: str, size: int) -> None:
    with pytest.raises(S3Error) as info:
        parse_range(header, size)
    assert (info.value.code, info.value.status) == ("InvalidRange", 416)


EARLY = "Mon, 01 Jan 2001 00:00:00 GMT"
LATE = "Fri, 01 Jan 2100 00:00:00 GMT"
MODIFIED = 1_700_000_000.5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"if-match": '"abc"'}, None),
        ({"if-match": '"zzz"'}, 412),
        ({"if-match": "*"}, None),
        ({"if-none-match": '"abc"'}, 304),
        ({"if-none-match": '"zzz"'}, None),
        ({"if-modified-since": LATE}, 304),
        ({"if-modified-since": EARLY}, None),
        ({"if-unmodified-since": EARLY}, 412),
        ({"if-unmodified-since": LATE}, None),
        # S3 precedence: a true If-Match wins over a false If-Unmodified-Since ...
        ({"if-match": '"abc"', "if-unmodified-since": EARLY}, None),
        # ... and a false If-None-Match over a true If-Modified-Since.
        ({"if-none-match": '"zzz"', "if-modified-since": LATE}, None),
        ({"if-match": '"zzz"', "if-none-match": '"abc"'}, 412),
    ],
)
def test_read_precondition(headers: dict[str, str], expected: int | None) -> None:
    assert read_precondition(headers, "abc", MODIFIED) == expected


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("abc", True),
        ("my.bucket-1", True),
        ("ab", False),
        ("a" * 64, False),
        ("Abc", False),
        ("-abc", False),
        ("abc-", False),
        ("a..b", False),
        ("a.-b", False),
        ("192.168.1.1", False),
        ("xn--abc", False),
        ("abc-s3alias", False),
        ("a_b", False),
    ],
)
def test_bucket_names(name: str, valid: bool) -> None:
    assert valid_bucket_name(name) is valid
