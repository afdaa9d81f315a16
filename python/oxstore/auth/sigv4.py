"""Signature Version 4: the Authorization header and presigned URLs."""

from __future__ import annotations

import calendar
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_tz
from urllib.parse import quote, unquote

from oxstore import _native
from oxstore.auth.credentials import Keyring
from oxstore.auth.payload import PayloadSpec, payload_hash, payload_spec
from oxstore.http.request import Request
from oxstore.s3.errors import S3Error

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
MAX_SKEW = 15 * 60
ErrorFactory = Callable[[str], S3Error]  # the error a malformed signature part raises
_CREDENTIAL_FORMAT = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'


@dataclass(slots=True)
class AuthContext:
    access_key: str | None  # None: anonymous
    owner: str | None = None  # the id of the key's owner (set once the signature is checked)
    system: bool = False  # the owner is a system user
    principal: str = ""  # the owner's ARN, as bucket policies name it ("": anonymous)
    signing_key: bytes | None = None
    amz_date: str = ""
    scope: str = ""
    signature: str = ""
    payload: PayloadSpec = field(default_factory=PayloadSpec)
    presigned: bool = False


@dataclass(slots=True)
class Claim:
    """What a request says about its signature, before it is checked."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


ANONYMOUS = AuthContext(access_key=None)
_signing_keys: dict[tuple[str, str, str, str], bytes] = {}


def verify_header(
    req: Request, header: str, creds: Keyring, regions: Sequence[str], now: float
) -> AuthContext:
    """`Authorization: AWS4-HMAC-SHA256 ...`; regions: the scopes a signature may name."""
    return _verify(req, _claim_from_header(req, header), creds, regions, now, False)


def verify_query(req: Request, creds: Keyring, regions: Sequence[str], now: float) -> AuthContext:
    """A presigned URL (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, ...)."""
    from oxstore.auth.presign import claim_from_query

    return _verify(req, claim_from_query(req, now), creds, regions, now, True)


def _malformed(detail: str) -> S3Error:
    return S3Error(
        "AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}"
    )


def _claim_from_header(req: Request, header: str) -> Claim:
    fields: dict[str, str] = {}
    for part in header[len(ALGORITHM) :].split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name] = value.strip()
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in fields:
            raise _malformed(f"the authorization header requires the {required} parameter.")
    return make_claim(
        fields["Credential"],
        fields["SignedHeaders"],
        fields["Signature"],
        request_time(req),
        _malformed,
    )


def make_claim(
    credential: str, signed_headers: str, signature: str, amz_date: str, error: ErrorFactory
) -> Claim:
    access_key, date, region, service = split_credential(credential, error)
    return Claim(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed_headers.split(";"),
        signature=signature,
        amz_date=amz_date,
    )


def split_credential(credential: str, error: ErrorFactory) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or len(parts[1]) != 8:
        raise error(f"the Credential is mal-formed; expecting {_CREDENTIAL_FORMAT}.")
    return parts[0], parts[1], parts[2], parts[3]


def request_time(req: Request) -> str:
    """The request's x-amz-date (or Date, converted) in ISO 8601 basic form."""
    value = req.headers.get("x-amz-date")
    if value:
        return value
    date = req.headers.get("date")
    parsed = parsedate_tz(date) if date else None
    if parsed is None:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    epoch = calendar.timegm(parsed[:9]) - (parsed[9] or 0)
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


@functools.lru_cache(maxsize=256)  # requests of one second share their x-amz-date
def parse_amz_date(value: str) -> float:
    """Epoch seconds of an ISO 8601 basic timestamp (20130524T000000Z); sliced by hand
    because time.strptime costs more than the rest of a small request's signature check."""
    try:
        if len(value) != 16 or value[8] != "T" or value[15] != "Z":
            raise ValueError(value)
        fields = (value[0:4], value[4:6], value[6:8], value[9:11], value[11:13], value[13:15])
        year, month, day, hour, minute, second = (int(f) for f in fields)
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
            raise ValueError(value)
        return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except ValueError as exc:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        ) from exc


def _check_scope(claim: Claim, regions: Sequence[str], error: ErrorFactory) -> None:
    if claim.region not in regions:
        err = error(f"the region '{claim.region}' is wrong; expecting '{regions[0]}'")
        err.extra["Region"] = regions[0]
        raise err
    if claim.service != SERVICE:
        raise error(f"the service '{claim.service}' is wrong; expecting '{SERVICE}'")
    if claim.amz_date[:8] != claim.date:
        raise error("Invalid credential date. Date is not the same as X-Amz-Date.")


def _signing_key(secret: str, claim: Claim) -> bytes:
    cache_key = (claim.access_key, claim.date, claim.region, secret)
    key = _signing_keys.get(cache_key)
    if key is None:
        if len(_signing_keys) > 1024:
            _signing_keys.clear()
        key = _native.sigv4_signing_key(secret, claim.date, claim.region, claim.service)
        _signing_keys[cache_key] = key
    return key


# Characters RFC 3986 allows unencoded in a path segment. The server sees the path decoded, so
# the spelling the client signed is unknown: strict clients (the AWS SDKs) encode them, others
# send them as they are.
_SUB_DELIMS = "!$&'()*+,;=:@"


def path_spellings(raw_path: str) -> Iterator[str]:
    """The spellings of the request path a client may have signed, strict first."""
    yield raw_path
    relaxed = quote(unquote(raw_path), safe="/" + _SUB_DELIMS)
    if relaxed != raw_path:
        yield relaxed


# x-amz-* headers S3 takes unsigned: x-amz-user-agent (the JavaScript SDKs' User-Agent, which
# browsers do not let them set) and, on presigned URLs, x-amz-content-sha256 (sent along with a
# URL signed for UNSIGNED-PAYLOAD). Every other x-amz-* header must be signed: each may change
# what a request does (x-amz-copy-source turns a PutObject into a CopyObject, x-amz-acl makes
# an object public, x-amz-meta-* writes metadata).
UNSIGNED_AMZ_HEADERS = frozenset({"x-amz-user-agent"})
UNSIGNED_AMZ_HEADERS_PRESIGNED = UNSIGNED_AMZ_HEADERS | {"x-amz-content-sha256"}


def refuse_unsigned_headers(req: Request, signed_headers: Sequence[str], presigned: bool) -> None:
    """S3's AccessDenied with HeadersNotSigned (the names, lower-case, comma-separated) for
    x-amz-* request headers the signature does not cover."""
    exempt = UNSIGNED_AMZ_HEADERS_PRESIGNED if presigned else UNSIGNED_AMZ_HEADERS
    signed = {name.lower() for name in signed_headers}
    unsigned = sorted(
        {
            name
            for name, _ in req.header_list
            if name.startswith("x-amz-") and name not in signed and name not in exempt
        }
    )
    if unsigned:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


def _signed_query(req: Request, presigned: bool) -> list[tuple[str, str]]:
    return [(k, v) for k, v in req.query if not (presigned and k == "X-Amz-Signature")]


def _mismatch(req: Request, claim: Claim, declared: str, presigned: bool) -> S3Error:
    """SignatureDoesNotMatch with what the server signed (for the client to compare)."""
    canonical = _native.sigv4_canonical_request(
        req.method,
        req.raw_path,
        _signed_query(req, presigned),
        req.header_list,
        claim.signed_headers,
        declared,
    )
    return S3Error(
        "SignatureDoesNotMatch",
        AWSAccessKeyId=claim.access_key,
        StringToSign=_native.sigv4_string_to_sign(claim.amz_date, claim.scope, canonical),
        SignatureProvided=claim.signature,
        CanonicalRequest=canonical,
    )


def _verify(
    req: Request,
    claim: Claim,
    creds: Keyring,
    regions: Sequence[str],
    now: float,
    presigned: bool,
) -> AuthContext:
    if presigned:
        from oxstore.auth.presign import credential_error

        _check_scope(claim, regions, credential_error)
    else:
        _check_scope(claim, regions, _malformed)
        skew = abs(now - parse_amz_date(claim.amz_date))
        if skew > MAX_SKEW:
            raise S3Error(
                "RequestTimeTooSkewed",
                RequestTime=claim.amz_date,
                ServerTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                MaxAllowedSkewMilliseconds=str(MAX_SKEW * 1000),
            )
    if "host" not in claim.signed_headers:
        raise S3Error("AccessDenied", "The host header must be signed.")
    refuse_unsigned_headers(req, claim.signed_headers, presigned)
    secret = creds.secret_for(claim.access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=claim.access_key)
    declared = payload_hash(req, presigned)
    key = _signing_key(secret, claim)
    query = _signed_query(req, presigned)
    if not any(
        _native.sigv4_verify(
            key,
            req.method,
            path,
            query,
            req.header_list,
            claim.signed_headers,
            declared,
            claim.amz_date,
            claim.scope,
            claim.signature,
        )
        for path in path_spellings(req.raw_path)
    ):
        raise _mismatch(req, claim, declared, presigned)
    payload = payload_spec(req, declared, key, claim.amz_date, claim.scope, claim.signature)
    return AuthContext(
        access_key=claim.access_key,
        signing_key=key,
        amz_date=claim.amz_date,
        scope=claim.scope,
        signature=claim.signature,
        payload=payload,
        presigned=presigned,
    )
