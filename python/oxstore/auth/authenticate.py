"""Who sent a request: SigV4 or SigV2, in the Authorization header or the query, or nobody
(anonymous). POST uploads carry their signature in the form (auth.post_policy)."""

from __future__ import annotations

from collections.abc import Sequence

from oxstore.auth import sigv2, sigv4
from oxstore.auth.credentials import CredentialStore
from oxstore.auth.sigv4 import ANONYMOUS, AuthContext
from oxstore.http.request import Request
from oxstore.s3.errors import S3Error


def authenticate(
    req: Request, creds: CredentialStore, regions: Sequence[str], now: float
) -> AuthContext:
    """regions: the scopes a SigV4 signature may name, the server's default region first."""
    header = req.headers.get("authorization")
    if header is not None:
        if header.startswith(sigv4.ALGORITHM + " "):
            return sigv4.verify_header(req, header, creds, regions, now)
        if sigv2.is_v2_header(header):
            return AuthContext(access_key=sigv2.verify_header(req, header, creds, now))
        raise S3Error(
            "InvalidArgument",
            "Unsupported Authorization Type",
            ArgumentName="Authorization",
            ArgumentValue=header.split(" ")[0],
        )
    if req.has_arg("X-Amz-Algorithm") or req.has_arg("X-Amz-Signature"):
        return sigv4.verify_query(req, creds, regions, now)
    if sigv2.is_v2_query(req):
        return AuthContext(access_key=sigv2.verify_query(req, creds, now))
    return ANONYMOUS
