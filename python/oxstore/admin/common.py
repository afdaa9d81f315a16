"""What every ostor-* admin call shares: JSON answers, and finding the user (or account) a
call names by `emailAddress` or `id` (one of them, never both)."""

from __future__ import annotations

from typing import Any

import msgspec

from oxstore.auth.credentials import Keyring
from oxstore.http.request import Response
from oxstore.meta.model import IdentityError
from oxstore.meta.model.keys import of_bucket, of_owner
from oxstore.meta.records import OwnerRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error

NO_OWNER = "0000000000000000"  # the OwnerId of a user (accounts name their user)


def keyring(call: Call) -> Keyring:
    assert call.services.keys is not None
    return call.services.keys


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        status=status,
        headers=[("content-type", "application/json")],
        body=msgspec.json.encode(body),
    )


def one_of(call: Call, *names: str) -> tuple[str, str] | None:
    """(name, value) of the one argument among names the call sets; None if it sets none;
    InvalidArgument (400, as the document says) if it sets more than one."""
    given = [(name, call.req.arg(name)) for name in names if call.req.has_arg(name)]
    if len(given) > 1:
        raise S3Error("InvalidArgument", f"Only one of {', '.join(names)} may be set.")
    if not given:
        return None
    name, value = given[0]
    return name, value or ""


async def find_user(call: Call, required: bool = True) -> OwnerRecord | None:
    """The user named by emailAddress or id; NoSuchUser if there is none such; None when
    the call names none (InvalidArgument if one is required)."""
    named = one_of(call, "emailAddress", "id")
    if named is None:
        if required:
            raise S3Error("InvalidArgument", "Name a user with emailAddress or id.")
        return None
    name, value = named
    if name == "emailAddress":
        user = await call.meta.user_by_email(value)
    else:
        user = await call.meta.get_owner(value)
    if user is None or user.is_account:
        raise S3Error("NoSuchUser")
    return user


async def find_owner(call: Call) -> OwnerRecord:
    """The user the call names, or its account `accountName` when the call names one too."""
    user = await find_user(call)
    assert user is not None
    name = call.req.arg("accountName")
    if name is None:
        return user
    account = await call.meta.account_of(user.id, name)
    if account is None:
        raise S3Error("NoSuchAccount")
    return account


async def row_of(call: Call, kind: str, value: str) -> str:
    """The name of the quotas' or limits' row of the bucket `value` (kind "bucket";
    NoSuchBucket if there is none) or of the user or account the call names."""
    if kind == "bucket":
        if await call.meta.get_bucket(value) is None:
            raise S3Error("NoSuchBucket", BucketName=value)
        return of_bucket(value)
    return of_owner((await find_owner(call)).id)


def answer_refusal(err: IdentityError) -> S3Error:
    """The S3 error of a change the identity rules refused."""
    return S3Error(err.code, err.message)
