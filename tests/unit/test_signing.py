"""Unit tests of what a signature covers: SigV2's CanonicalizedResource (every sub-resource
that selects an operation, the virtual host's bucket) and SigV4's unsigned x-amz-* headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import formatdate

import pytest

from oxstore.auth import sigv2, sigv4
from oxstore.http.request import Request, parse_query
from oxstore.s3.addressing import host_bucket, resolve
from oxstore.s3.errors import S3Error
from oxstore.s3.router import SUBRESOURCES

ACCESS, SECRET = "AKIDEXAMPLE", "secret-of-the-example"
NOW = time.time()


class _Keys:
    def secret_for(self, access_key: str) -> str | None:
        return SECRET if access_key == ACCESS else None


def _request(method: str, host: str, path: str, query: str, headers: dict[str, str]) -> Request:
    async def body():  # pragma: no cover - never read here
        yield b""

    all_headers = {"host": host, **headers}
    req = Request(
        method, path, query, parse_query(query), all_headers, list(all_headers.items()), body()
    )
    req.bucket, req.key = resolve(host, path, ("s3.local",))
    req.virtual_host = host_bucket(host, ("s3.local",)) is not None
    return req


def _v2(method: str, host: str, path: str, query: str, resource: str) -> Request:
    date = formatdate(NOW, usegmt=True)
    to_sign = f"{method}\n\n\n{date}\n{resource}"
    digest = hmac.new(SECRET.encode(), to_sign.encode(), hashlib.sha1).digest()
    header = f"AWS {ACCESS}:{base64.b64encode(digest).decode()}"
    return _request(method, host, path, query, {"date": date, "authorization": header})


def _v2_accepts(req: Request) -> bool:
    try:
        sigv2.verify_header(req, req.headers["authorization"], _Keys(), NOW)  # type: ignore[arg-type]
    except S3Error as err:
        assert (err.code, err.status) == ("SignatureDoesNotMatch", 403)
        return False
    return True


@pytest.mark.parametrize("sub", sorted(SUBRESOURCES))
def test_v2_signs_every_subresource_the_router_knows(sub: str) -> None:
    admin = sub.startswith("ostor-")
    path = "/" if admin else "/b/k"
    query = f"{sub}&emailAddress=a%40b.c&prefix=p"
    assert not _v2_accepts(_v2("GET", "127.0.0.1", path, query, path))
    # an admin call's arguments are all signed (they name whom it acts on)
    signed = f"{path}?emailAddress=a@b.c&{sub}&prefix=p" if admin else f"{path}?{sub}"
    assert _v2_accepts(_v2("GET", "127.0.0.1", path, query, signed))
    if admin:
        assert not _v2_accepts(_v2("GET", "127.0.0.1", path, query, f"{path}?{sub}"))


def test_v2_subresources_are_sorted_and_valued() -> None:
    query = "versionId=v1&tagging&prefix=p"
    assert _v2_accepts(_v2("GET", "127.0.0.1", "/b/k", query, "/b/k?tagging&versionId=v1"))
    assert not _v2_accepts(_v2("GET", "127.0.0.1", "/b/k", query, "/b/k?versionId=v1&tagging"))
    assert not _v2_accepts(_v2("GET", "127.0.0.1", "/b/k", query, "/b/k?tagging"))


@pytest.mark.parametrize(
    ("host", "path", "signed", "good"),
    [
        ("127.0.0.1", "/b1/k", "/b1/k", True),
        ("127.0.0.1", "/b1", "/b1", True),
        ("127.0.0.1", "/b1", "/b1/", True),  # botocore's spelling of a bucket
        ("b2.s3.local", "/b1/k", "/b2/b1/k", True),
        ("b2.s3.local", "/b1/k", "/b1/k", False),  # object k of b1 is not object b1/k of b2
        ("b2.s3.local", "/b2/k", "/b2/b2/k", True),
        ("b2.s3.local", "/b2/k", "/b2/k", False),
        ("b2.s3.local", "/", "/b2/", True),
        ("b2.s3.local", "/", "/", False),
    ],
)
def test_v2_resource_of_virtual_host_requests(
    host: str, path: str, signed: str, good: bool
) -> None:
    assert _v2_accepts(_v2("GET", host, path, "", signed)) is good


def _v4(headers: dict[str, str], extra: dict[str, str]) -> Request:
    """A GET signed with SigV4 over `headers` (and host), sent with `extra` besides."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(NOW))
    signed = {"host": "127.0.0.1", "x-amz-date": amz_date, **headers}
    names = sorted(signed)
    from oxstore import _native

    key = _native.sigv4_signing_key(SECRET, amz_date[:8], "us-east-1", "s3")
    payload = signed.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    canonical = _native.sigv4_canonical_request(
        "GET", "/b/k", [], list(signed.items()), names, payload
    )
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    to_sign = _native.sigv4_string_to_sign(amz_date, scope, canonical)
    signature = _native.sigv4_signature(key, to_sign)
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return _request(
        "GET", "127.0.0.1", "/b/k", "", {**signed, **extra, "authorization": authorization}
    )


def _v4_check(req: Request) -> S3Error | None:
    try:
        sigv4.verify_header(req, req.headers["authorization"], _Keys(), ["us-east-1"], NOW)  # type: ignore[arg-type]
    except S3Error as err:
        return err
    return None


def test_v4_refuses_unsigned_amz_headers() -> None:
    sha = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    assert _v4_check(_v4(sha, {})) is None
    assert _v4_check(_v4(sha, {"x-amz-user-agent": "aws-sdk-js/3", "user-agent": "x"})) is None
    err = _v4_check(_v4(sha, {"x-amz-copy-source": "/b/secret", "x-amz-acl": "public-read"}))
    assert err is not None and (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == "There were headers present in the request which were not signed"
    assert err.extra["HeadersNotSigned"] == "x-amz-acl, x-amz-copy-source"
    err = _v4_check(_v4({}, sha))  # header auth signs x-amz-content-sha256
    assert err is not None and err.extra["HeadersNotSigned"] == "x-amz-content-sha256"
