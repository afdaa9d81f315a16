"""Presigned URLs: SigV4 query authentication (X-Amz-Algorithm, X-Amz-Credential, ...)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from oxstore.http.request import Request
from oxstore.s3.errors import S3Error

if TYPE_CHECKING:
    from oxstore.auth.sigv4 import Claim

MAX_EXPIRES = 604800  # seven days


def query_error(detail: str) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", detail)


def credential_error(detail: str) -> S3Error:
    return query_error(f"Error parsing the X-Amz-Credential parameter; {detail}")


def claim_from_query(req: Request, now: float) -> Claim:
    from oxstore.auth.sigv4 import ALGORITHM, make_claim, parse_amz_date

    args = {k: v for k, v in req.query if k.startswith("X-Amz-")}
    missing = [
        name
        for name in (
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Signature",
            "X-Amz-Date",
            "X-Amz-SignedHeaders",
            "X-Amz-Expires",
        )
        if name not in args
    ]
    if missing:
        raise query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    if args["X-Amz-Algorithm"] != ALGORITHM:
        raise query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    try:
        expires = int(args["X-Amz-Expires"])
    except ValueError as exc:
        raise query_error("X-Amz-Expires should be a number") from exc
    if expires > MAX_EXPIRES:
        raise query_error(
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires "
            "must be less than 604800 seconds"
        )
    if expires < 0:
        raise query_error("X-Amz-Expires must be non-negative")
    amz_date = args["X-Amz-Date"]
    try:
        signed_at = parse_amz_date(amz_date)
    except S3Error as exc:
        raise query_error(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        ) from exc
    if now >= signed_at + expires:  # a URL valid for 0 seconds is expired when it arrives
        raise S3Error(
            "AccessDenied",
            "Request has expired",
            Expires=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed_at + expires)),
            ServerTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        )
    if signed_at > now + 15 * 60:
        raise S3Error("AccessDenied", "Request is not valid yet")
    return make_claim(
        args["X-Amz-Credential"],
        args["X-Amz-SignedHeaders"],
        args["X-Amz-Signature"],
        amz_date,
        credential_error,
    )
