"""Signature Version 2: `Authorization: AWS key:signature` and query authentication
(AWSAccessKeyId, Expires, Signature).

StringToSign = Verb \\n Content-MD5 \\n Content-Type \\n Date (or Expires) \\n
               CanonicalizedAmzHeaders CanonicalizedResource
The payload is not signed (Content-MD5, when sent, is checked against the body).
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from email.utils import parsedate_tz

from oxstore import _native
from oxstore.auth.credentials import Keyring
from oxstore.auth.sigv4 import path_spellings
from oxstore.http.request import Request
from oxstore.s3 import router
from oxstore.s3.errors import S3Error

MAX_SKEW = 15 * 60
# Query arguments that belong in the CanonicalizedResource: AWS's list, and every sub-resource
# that selects an operation here (the router's, the ostor-* admin API's included), so that a
# signature made for one operation (`GET /`, a presigned listing) authorises no other one
# (`GET /?ostor-users`, `?encryption`). A client that leaves one of them out of its string to
# sign is refused (SignatureDoesNotMatch), as S3 refuses botocore's missing `?object-lock`.
SUBRESOURCES = router.SUBRESOURCES | frozenset(
    """acl cors delete lifecycle location logging notification partNumber policy requestPayment
    response-cache-control response-content-disposition response-content-encoding
    response-content-language response-content-type response-expires restore tagging torrent
    uploadId uploads versionId versioning versions website accelerate object-lock replication
    analytics metrics inventory select select-type""".split()
)


def is_v2_header(header: str) -> bool:
    return header.startswith("AWS ") and ":" in header


def is_v2_query(req: Request) -> bool:
    return req.has_arg("AWSAccessKeyId") or (req.has_arg("Signature") and req.has_arg("Expires"))


def _amz_headers(req: Request) -> str:
    amz: dict[str, list[str]] = {}
    for name, value in req.header_list:
        if name.startswith("x-amz-"):
            amz.setdefault(name, []).append(value.strip())
    return "".join(f"{name}:{','.join(values)}\n" for name, values in sorted(amz.items()))


# a query authentication's own arguments, never signed
QUERY_AUTH = frozenset({"AWSAccessKeyId", "Signature", "Expires"})


def _subresources(req: Request) -> str:
    """The signed sub-resources, `?a&b=v`, sorted. Of an admin call (`?ostor-*`), every
    argument: its arguments name whom it acts on (emailAddress, genKey, ...), and a signature
    for one user's new key must not make another's."""
    admin = any(k.startswith("ostor-") for k, _ in req.query)
    picked = sorted(
        (k, v) for k, v in req.query if (k in SUBRESOURCES or admin) and k not in QUERY_AUTH
    )
    if not picked:
        return ""
    return "?" + "&".join(f"{k}={v}" if v != "" else k for k, v in picked)


def _resource_paths(req: Request) -> Iterator[str]:
    """The spellings of the resource a client may have signed, encoded strictly or leaving
    sub-delimiters alone. The resource always begins with the bucket: a virtual-host request's
    is /<the host's bucket><path> and nothing else (the bare path names another bucket's
    object: /b1/k on b2's host is object b1/k of b2, not object k of b1)."""
    virtual = req.virtual_host
    for path in path_spellings(req.raw_path or "/"):
        if virtual:
            yield f"/{req.bucket}{path}"
            continue
        yield path
        if req.bucket and "/" not in path[1:]:
            yield path + "/"  # botocore signs bucket requests as /bucket/


def _strings_to_sign(req: Request, date_line: str) -> Iterator[str]:
    head = (
        f"{req.method}\n{req.headers.get('content-md5', '')}\n"
        f"{req.headers.get('content-type', '')}\n{date_line}\n{_amz_headers(req)}"
    )
    for path in _resource_paths(req):
        yield head + path + _subresources(req)


def _check(req: Request, creds: Keyring, access_key: str, signature: str, dates: list[str]) -> None:
    secret = creds.secret_for(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    string_to_sign = ""
    for date_line in dates:
        for string_to_sign in _strings_to_sign(req, date_line):
            expected = _native.sigv2_signature(secret, string_to_sign)
            if _native.constant_time_eq(expected, signature):
                return
    raise S3Error(
        "SignatureDoesNotMatch",
        AWSAccessKeyId=access_key,
        StringToSign=string_to_sign,
        SignatureProvided=signature,
    )


def _request_time(req: Request) -> float:
    raw = req.headers.get("x-amz-date") or req.headers.get("date")
    parsed = parsedate_tz(raw) if raw else None
    if parsed is None:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    return calendar.timegm(parsed[:9]) - (parsed[9] or 0)


def verify_header(req: Request, header: str, creds: Keyring, now: float) -> str:
    """Checks `Authorization: AWS key:signature`; returns the access key."""
    access_key, _, signature = header[4:].strip().rpartition(":")
    requested = _request_time(req)
    if abs(now - requested) > MAX_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            RequestTime=req.headers.get("x-amz-date") or req.headers.get("date", ""),
            ServerTime=time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)),
            MaxAllowedSkewMilliseconds=str(MAX_SKEW * 1000),
        )
    # with x-amz-date the Date line is empty (the spec); some clients sign the Date anyway
    dates = [""] if "x-amz-date" in req.headers else []
    dates.append(req.headers.get("date", ""))
    _check(req, creds, access_key, signature, dates)
    return access_key


def verify_query(req: Request, creds: Keyring, now: float) -> str:
    """Checks ?AWSAccessKeyId=&Expires=&Signature=; returns the access key."""
    access_key = req.arg("AWSAccessKeyId") or ""
    signature = req.arg("Signature") or ""
    expires = req.arg("Expires") or ""
    if not access_key or not signature or not expires.isdigit():
        raise S3Error(
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters",
        )
    if now > int(expires):
        raise S3Error("AccessDenied", "Request has expired", Expires=expires)
    _check(req, creds, access_key, signature, [expires])
    return access_key
