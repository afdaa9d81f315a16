"""`?ostor-users` and `?ostor-accounts`: users, accounts under users, and their key pairs.

Beyond the document: `PUT ?ostor-users&emailAddress=E&system` creates a system user, and
`POST ?ostor-users&emailAddress=E&disable` (or `&enable`) changes a user's state (or an
account's, with accountName), as ostor-s3-admin's commands do.
"""

from __future__ import annotations

import re
import time
from typing import Any

from oxstore.admin.common import (
    NO_OWNER,
    answer_refusal,
    find_owner,
    find_user,
    json_response,
    keyring,
    one_of,
)
from oxstore.auth.credentials import new_access_key, new_owner_id, new_secret, unseal_secret
from oxstore.auth.root import key_record
from oxstore.http.request import Response
from oxstore.meta.model import IdentityError
from oxstore.meta.records import KeyRecord, OwnerRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error

EMAIL = re.compile(r"^[^@\s/]+@[^@\s/]+$")
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9._@+=,-]{1,64}$")


def _flags(owner: OwnerRecord) -> list[str]:
    return [*owner.flags, *(["disabled"] if owner.state == "disabled" else [])]


def _summary(user: OwnerRecord) -> dict[str, Any]:
    return {
        "UserEmail": user.email,
        "UserId": user.id,
        "State": user.state,
        "OwnerId": NO_OWNER,
        "Flags": _flags(user),
    }


async def _key_pairs(call: Call, owner: OwnerRecord) -> list[dict[str, str]]:
    """The owner's key pairs with their secrets (the admin API is for system users only)."""
    master = keyring(call).master
    return [
        {
            "AWSAccessKeyId": key.access_key,
            "AWSSecretAccessKey": unseal_secret(master, key.access_key, key.sealed_secret),
        }
        for key in await call.meta.keys_of(owner)
    ]


async def _new_key(call: Call, owner: OwnerRecord) -> tuple[KeyRecord, str]:
    """A fresh key pair for the owner, its access key prefixed with its user's id."""
    while True:
        access_key = new_access_key(owner.parent or owner.id)
        if await call.meta.credential(access_key) is None:
            break
    secret = new_secret()
    return key_record(keyring(call).master, owner.id, access_key, secret), secret


async def get_users(call: Call) -> Response:
    user = await find_user(call, required=False)
    if user is None:
        return json_response({"Users": [_summary(u) for u in await call.meta.users()]})
    accounts = await call.meta.accounts_of(user.id)
    return json_response(
        {
            **_summary(user),
            "AWSAccessKeys": await _key_pairs(call, user),
            "AccountCount": str(len(accounts)),
            # an account's State is oxstore's addition (disable and enable are too)
            "Accounts": [
                {"Name": a.name, "State": a.state, "AWSAccessKeys": await _key_pairs(call, a)}
                for a in accounts
            ],
        }
    )


async def put_users(call: Call) -> Response:
    one_of(call, "emailAddress", "id")  # both: 400
    email = (call.req.arg("emailAddress") or "").strip()
    if not EMAIL.match(email):
        raise S3Error("InvalidArgument", "Give the new user's emailAddress.")
    user = OwnerRecord(
        id=new_owner_id(),
        email=email,
        created=time.time(),
        flags=["system"] if call.req.has_arg("system") else [],
    )
    key, secret = await _new_key(call, user)
    try:
        await call.meta.create_user(user, key)
    except IdentityError as err:
        raise answer_refusal(err) from err
    return json_response(
        {
            "UserEmail": email,
            "UserId": user.id,
            "AWSAccessKeys": [{"AWSAccessKeyId": key.access_key, "AWSSecretAccessKey": secret}],
        }
    )


async def post_users(call: Call) -> Response:
    owner = await find_owner(call)
    action = one_of(call, "genKey", "revokeKey", "disable", "enable")
    if action is None:
        raise S3Error("InvalidArgument", "Give one of genKey, revokeKey, disable or enable.")
    name, value = action
    try:
        if name == "genKey":
            return await _generate_key(call, owner)
        if name == "revokeKey":
            await call.meta.revoke_key(owner.id, value)
            keyring(call).forget([value])
        else:
            await _set_state(call, owner, "enabled" if name == "enable" else "disabled")
    except IdentityError as err:
        raise answer_refusal(err) from err
    return Response(status=200)


async def _generate_key(call: Call, owner: OwnerRecord) -> Response:
    key, _ = await _new_key(call, owner)
    await call.meta.add_key(owner.id, key)
    owner = await call.meta.get_owner(owner.id) or owner
    user = await call.meta.get_owner(owner.parent) if owner.is_account else owner
    assert user is not None
    return json_response(
        {
            "UserEmail": user.email,
            "UserId": user.id,
            "AWSAccessKeys": await _key_pairs(call, owner),
        }
    )


async def _set_state(call: Call, owner: OwnerRecord, state: str) -> None:
    if state == "disabled" and owner.id == await call.meta.root_id():
        raise S3Error("AccessDenied", "The root user cannot be disabled.")

    def apply(record: OwnerRecord) -> None:
        record.state = state

    affected = await _keys_reached(call, owner)
    await call.meta.change_owner(owner.id, apply)
    keyring(call).forget(affected)


async def _keys_reached(call: Call, owner: OwnerRecord) -> list[str]:
    """The access keys a change of the owner reaches: its own, and its accounts' (this worker
    forgets them at once; other workers and gateways within credentials.KEY_TTL)."""
    accounts = [] if owner.is_account else await call.meta.accounts_of(owner.id)
    return [key for each in (owner, *accounts) for key in each.keys]


async def delete_users(call: Call) -> Response:
    user = await find_user(call)
    assert user is not None
    await _delete(call, user)
    return Response(status=204)


async def _delete(call: Call, owner: OwnerRecord) -> None:
    affected = await _keys_reached(call, owner)
    try:
        await call.meta.delete_owner(owner.id)
    except IdentityError as err:
        raise answer_refusal(err) from err
    keyring(call).forget(affected)


async def post_accounts(call: Call) -> Response:
    user = await find_user(call)
    assert user is not None
    name = call.req.arg("accountName") or ""
    if not ACCOUNT_NAME.match(name):
        raise S3Error(
            "InvalidArgument", "accountName: 1 to 64 letters, digits and ._@+=,- characters."
        )
    account = OwnerRecord(
        id=new_owner_id(), email="", created=time.time(), parent=user.id, name=name
    )
    key, secret = await _new_key(call, account)
    try:
        await call.meta.create_account(account, key)
    except IdentityError as err:
        raise answer_refusal(err) from err
    pairs = [{"AWSAccessKeyId": key.access_key, "AWSSecretAccessKey": secret}]
    return json_response({"Name": name, "AWSAccessKeys": pairs})


async def delete_accounts(call: Call) -> Response:
    if call.req.arg("accountName") is None:
        raise S3Error("InvalidArgument", "Name the account with accountName.")
    await _delete(call, await find_owner(call))
    return Response(status=204)
