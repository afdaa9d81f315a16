"""A client of the ostor admin API: one SigV4-signed HTTP call per method, at the service level.

Signed with the native core's SigV4 primitives (the server's own), sent with http.client.
"""

from __future__ import annotations

import hashlib
import http.client
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from oxstore import _native

Params = Sequence[tuple[str, str | None]]  # (name, value) in order; value None: a bare flag
ALGORITHM = "AWS4-HMAC-SHA256"
SIGNED_HEADERS = ("host", "x-amz-content-sha256", "x-amz-date")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()  # every admin call has an empty body


class AdminError(Exception):
    """An error answer (status >= 300): the S3 error XML's Code and Message."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status


def query_string(params: Params) -> str:
    """`ostor-users&emailAddress=a%40b.c&genKey`: values RFC 3986-encoded, as AWS does."""
    return "&".join(
        _encode(name) if value is None else f"{_encode(name)}={_encode(value)}"
        for name, value in params
    )


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


class AdminClient:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        insecure: bool = False,
        ca_file: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        split = urlsplit(endpoint)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"the endpoint must be an http:// or https:// URL: {endpoint!r}")
        self.endpoint = endpoint
        self.https = split.scheme == "https"
        self.host = split.netloc.rpartition("@")[2]  # the Host header, as written
        self.hostname = split.hostname
        self.port = split.port
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.insecure = insecure
        self.ca_file = ca_file
        self.timeout = timeout

    def sign(
        self, method: str, params: Params, now: float | None = None, path: str = "/"
    ) -> dict[str, str]:
        """The headers of a signed request with an empty body (Authorization included)."""
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        date = amz_date[:8]
        scope = f"{date}/{self.region}/s3/aws4_request"
        headers = {"host": self.host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
        canonical = _native.sigv4_canonical_request(
            method,
            path,
            [(name, value or "") for name, value in params],
            list(headers.items()),
            list(SIGNED_HEADERS),
            EMPTY_SHA256,
        )
        key = _native.sigv4_signing_key(self.secret_key, date, self.region, "s3")
        to_sign = _native.sigv4_string_to_sign(amz_date, scope, canonical)
        signature = _native.hmac_sha256(key, to_sign.encode()).hex()
        headers["authorization"] = (
            f"{ALGORITHM} Credential={self.access_key}/{scope}, "
            f"SignedHeaders={';'.join(SIGNED_HEADERS)}, Signature={signature}"
        )
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        if not self.https:
            return http.client.HTTPConnection(self.hostname, self.port, timeout=self.timeout)
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(
            self.hostname, self.port, timeout=self.timeout, context=context
        )

    def call(self, method: str, params: Params) -> tuple[int, bytes]:
        """(status, body) of a successful answer; AdminError for an error answer; OSError or
        http.client.HTTPException when the server cannot be reached."""
        query = query_string(params)
        conn = self._connection()
        try:
            conn.request(method, f"/?{query}" if query else "/", headers=self.sign(method, params))
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status >= 300:
            raise _error(response.status, response.reason, body)
        return response.status, body


def _error(status: int, reason: str, body: bytes) -> AdminError:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        text = body.decode("utf-8", "replace").strip()
        return AdminError(reason or f"HTTP {status}", text[:200], status)
    fields = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in root}
    return AdminError(
        fields.get("Code") or reason or f"HTTP {status}", fields.get("Message", ""), status
    )
