"""Who sent a request: SigV4 or SigV2, in the Authorization header or the query, or nobody
(anonymous). POST uploads carry their signature in the form (auth.post_policy)."""

from __future__ import annotations

from collections.abc import Sequence

from oxstore.auth import sigv2, sigv4
from oxstore.auth.credentials import Keyring
from oxstore.auth.sigv4 import ANONYMOUS, AuthContext
from oxstore.http.request import Request
from oxstore.s3.errors import S3Error


async def authenticate(
    req: Request, keys: Keyring, regions: Sequence[str], now: float
) -> AuthContext:
    """regions: the scopes a SigV4 signature may name, the server's default region first."""
    context = await keys.checked(lambda: _verify(req, keys, regions, now))
    return signed_by(context, keys)


def signed_by(context: AuthContext, keys: Keyring) -> AuthContext:
    """The context with its key's owner, once the signature is good; AccessDenied for a key
    of a disabled user or account."""
    if context.access_key is None:
        return context
    signer = keys.checked_signer(context.access_key)
    if not signer.enabled:
        raise S3Error("AccessDenied", "The user or account of this access key is disabled.")
    context.owner = signer.owner
    context.system = signer.system
    context.principal = signer.principal
    return context


def _verify(req: Request, keys: Keyring, regions: Sequence[str], now: float) -> AuthContext:
    if "x-amz-security-token" in req.headers or req.has_arg("X-Amz-Security-Token"):
        # temporary credentials: oxstore issues none, so no session token is valid (ignored,
        # a credential meant to expire would go on working)
        raise S3Error("InvalidToken")
    header = req.headers.get("authorization")
    if header is not None:
        if header.startswith(sigv4.ALGORITHM + " "):
            return sigv4.verify_header(req, header, keys, regions, now)
        if sigv2.is_v2_header(header):
            return AuthContext(access_key=sigv2.verify_header(req, header, keys, now))
        raise S3Error(
            "InvalidArgument",
            "Unsupported Authorization Type",
            ArgumentName="Authorization",
            ArgumentValue=header.split(" ")[0],
        )
    if req.has_arg("X-Amz-Algorithm") or req.has_arg("X-Amz-Signature"):
        return sigv4.verify_query(req, keys, regions, now)
    if sigv2.is_v2_query(req):
        # query authentication: s3:authType REST-QUERY-STRING, as SigV4's presigned URLs
        return AuthContext(access_key=sigv2.verify_query(req, keys, now), presigned=True)
    return ANONYMOUS
