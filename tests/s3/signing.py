"""A small raw-request client: botocore signs, the test chooses every byte of the body.

Used where boto3 itself cannot send what a test needs (aws-chunked bodies, broken payloads,
skewed clocks).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
from unittest import mock

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class _Auth(S3SigV4Auth):
    """botocore's S3 signer, but the payload hash is the one the test put in the headers."""

    def __init__(self, credentials: Credentials, region: str, payload_hash: str | None) -> None:
        super().__init__(credentials, "s3", region)
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:  # type: ignore[override]
        return self._payload_hash or super().payload(request)


def sign(
    server,  # type: ignore[no-untyped-def]
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    secret_key: str | None = None,
    access_key: str | None = None,
    when: datetime.datetime | None = None,
    region: str = "us-east-1",
) -> AWSRequest:
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=headers)
    creds = Credentials(access_key or server.access_key, secret_key or server.secret_key)
    declared = {k.lower(): v for k, v in headers.items()}.get("x-amz-content-sha256")
    auth = _Auth(creds, region, declared)
    if when is None:
        auth.add_auth(request)
    else:
        naive = when.astimezone(datetime.UTC).replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
            auth.add_auth(request)
    return request


def send(request: AWSRequest) -> requests.Response:
    prepared = request.prepare()
    return requests.request(
        prepared.method,
        prepared.url,
        headers=dict(prepared.headers),
        data=prepared.body,
        timeout=30,
    )


def start_put(  # type: ignore[no-untyped-def]
    server,
    path: str,
    size: int,
    first: bytes,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> http.client.HTTPConnection:
    """A signed PUT (unsigned payload) of size bytes of which only `first` is sent yet: the
    test sends the rest, then reads the answer."""
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    request = sign(server, "PUT", path, headers, access_key=access_key, secret_key=secret_key)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("PUT", path, skip_accept_encoding=True)
    for name, value in request.headers.items():
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    connection.send(first)
    return connection


def error_code(response: requests.Response) -> str:
    text = response.text
    start = text.find("<Code>")
    return text[start + 6 : text.find("</Code>")] if start >= 0 else ""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str = "us-east-1") -> bytes:
    key = _hmac(("AWS4" + secret).encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, "s3")
    return _hmac(key, "aws4_request")


def aws_chunked(
    payload: bytes,
    chunk_size: int,
    key: bytes | None,
    amz_date: str,
    scope: str,
    seed: str,
    trailer: tuple[str, str] | None = None,
) -> bytes:
    """Frames payload as aws-chunked; signs chunks (and the trailer) when key is given."""
    out = bytearray()
    previous = seed
    pieces = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)] + [b""]
    for piece in pieces:
        if key is not None:
            string_to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    amz_date,
                    scope,
                    previous,
                    EMPTY_SHA256,
                    hashlib.sha256(piece).hexdigest(),
                ]
            )
            previous = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
            out += f"{len(piece):x};chunk-signature={previous}\r\n".encode()
        else:
            out += f"{len(piece):x}\r\n".encode()
        out += piece
        if piece:
            out += b"\r\n"
    if trailer is not None:
        name, value = trailer
        out += f"{name}:{value}\r\n".encode()
        if key is not None:
            block = f"{name}:{value}\n".encode()
            string_to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    amz_date,
                    scope,
                    previous,
                    hashlib.sha256(block).hexdigest(),
                ]
            )
            signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
            out += f"x-amz-trailer-signature:{signature}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def aws_chunked_put(  # type: ignore[no-untyped-def]
    server, bucket, key, payload, mode, trailer=None, corrupt=None, extra=None
):
    """A PUT with an aws-chunked body in one of the streaming modes; extra: more headers."""
    modes = {
        "signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
    signed = mode != "unsigned-trailer"
    now = datetime.datetime.now(datetime.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key_bytes = signing_key(server.secret_key, amz_date[:8]) if signed else None
    draft = aws_chunked(payload, 8192, key_bytes, amz_date, scope, "0" * 64, trailer)
    headers = {
        "x-amz-content-sha256": modes[mode],
        "x-amz-decoded-content-length": str(len(payload)),
        "content-encoding": "aws-chunked",
        "content-length": str(len(draft)),
        **(extra or {}),
    }
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    request = sign(server, "PUT", f"/{bucket}/{key}", headers, b"", when=now)
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = aws_chunked(payload, 8192, key_bytes, amz_date, scope, seed, trailer)
    if corrupt is not None:
        body = corrupt(body)
    request.data = body
    return send(request)


def presigned_url(server, method: str, path: str, expires: int) -> str:  # type: ignore[no-untyped-def]
    """A SigV4 presigned URL made by botocore's pure-Python signer, which (unlike the CRT one
    boto3 uses with botocore[crt]) signs any X-Amz-Expires, 0 included."""
    from botocore.auth import S3SigV4QueryAuth

    request = AWSRequest(method=method, url=server.endpoint + path)
    creds = Credentials(server.access_key, server.secret_key)
    S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=expires).add_auth(request)
    return request.url
