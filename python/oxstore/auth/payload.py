"""How a request's payload is protected: the x-amz-content-sha256 modes of SigV4."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from oxstore.http.request import Request
from oxstore.s3.errors import S3Error

if TYPE_CHECKING:
    from oxstore._native import ChunkedSpec

UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_MODES = {
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": "signed",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER": "unsigned-trailer",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": "signed-trailer",
}
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(slots=True)
class PayloadSpec:
    """mode: "unsigned" | "sha256" | "signed" | "unsigned-trailer" | "signed-trailer"."""

    mode: str = "unsigned"
    expected_sha256: bytes | None = None
    chunked: ChunkedSpec | None = field(default=None)

    def writer_args(self) -> tuple[ChunkedSpec | None, dict[str, bytes]]:
        """(the ObjectWriter's chunked spec, the digests finish() must verify)."""
        expected = {"sha256": self.expected_sha256} if self.expected_sha256 else {}
        return self.chunked, expected

    def required_algorithms(self) -> set[str]:
        return {"sha256"} if self.expected_sha256 else set()


def payload_hash(req: Request, presigned: bool) -> str:
    """The value that goes into the canonical request."""
    value = req.headers.get("x-amz-content-sha256")
    if value is None:
        if presigned:
            return UNSIGNED
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if value != UNSIGNED and value not in STREAMING_MODES and not _SHA256_HEX.match(value):
        raise S3Error(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a "
            "valid sha256 value.",
            ArgumentName="x-amz-content-sha256",
            ArgumentValue=value,
        )
    return value


def payload_spec(
    req: Request,
    declared: str,
    signing_key: bytes | None,
    amz_date: str,
    scope: str,
    signature: str,
) -> PayloadSpec:
    """What the object writer must verify, from the declared payload hash."""
    if declared == UNSIGNED:
        return PayloadSpec()
    mode = STREAMING_MODES.get(declared)
    if mode is None:
        return PayloadSpec(mode="sha256", expected_sha256=bytes.fromhex(declared))
    chunked: ChunkedSpec = {"mode": mode, "decoded_length": _decoded_length(req)}
    if mode != "unsigned-trailer":
        assert signing_key is not None
        chunked["signing_key"] = signing_key
        chunked["amz_date"] = amz_date
        chunked["scope"] = scope
        chunked["seed_signature"] = signature
    if mode != "signed":
        trailer = req.headers.get("x-amz-trailer", "").strip().lower()
        if not trailer:
            raise S3Error("InvalidRequest", "Missing required header x-amz-trailer.")
        chunked["trailer"] = trailer
    return PayloadSpec(mode=mode, chunked=chunked)


def _decoded_length(req: Request) -> int:
    value = req.headers.get("x-amz-decoded-content-length")
    if value is None or not value.isdigit():
        raise S3Error("MissingContentLength")
    return int(value)


def content_length(req: Request) -> int | None:
    """The payload's length: the decoded length of aws-chunked bodies, else Content-Length;
    None for a body sent with plain `Transfer-Encoding: chunked` (its length shows at the end:
    the writer enforces the size limit while it streams)."""
    if req.headers.get("x-amz-content-sha256") in STREAMING_MODES:
        return _decoded_length(req)
    value = req.headers.get("content-length")
    if value is None:
        if "chunked" in req.headers.get("transfer-encoding", "").lower():
            return None
        raise S3Error("MissingContentLength")
    if not value.isdigit():
        raise S3Error("InvalidArgument", "Content-Length must be a number.")
    return int(value)
