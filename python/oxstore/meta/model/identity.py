"""Owners and their access keys: users, accounts under users, at most two key pairs each.

An owner's id (16 hex digits) is what buckets, objects, uploads and grants name; access keys
only say who is asking, so adding, rotating or revoking one never changes who owns what. A
user is found by its id or its e-mail address, an account by its user and its name, an access
key by itself. Secrets arrive here already sealed: the model stores them, it never sees them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oxstore.meta.model.keys import after_prefix, of_owner
from oxstore.meta.records import (
    KeyRecord,
    OwnerRecord,
    decode_bucket,
    decode_key,
    decode_owner,
    encode_record,
)
from oxstore.meta.store import Tx

MAX_KEYS = 2  # key pairs a user or an account may have (the provider's rule)
ROOT = b"root"  # settings: the root user's id


class IdentityError(Exception):
    """A change the identity rules refuse; `code` names the S3 error it answers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Credential:
    """An access key as authentication needs it: whose it is, and whether it may be used."""

    access_key: str
    sealed_secret: bytes
    owner: str  # the owner's id
    enabled: bool  # the owner (and an account's user) is enabled
    system: bool  # the owner is a system user: the admin API is open to it
    principal: str  # what bucket policies call the owner (principal_arn)


def _owner_key(owner_id: str) -> bytes:
    return owner_id.encode()


def _email_key(email: str) -> bytes:
    return email.strip().lower().encode()


def _account_key(user_id: str, name: str) -> bytes:
    return f"{user_id}/{name}".encode()


def owner_bucket_key(owner_id: str, bucket: str) -> bytes:
    return f"{owner_id}/{bucket}".encode()


def get_owner(tx: Tx, owner_id: str) -> OwnerRecord | None:
    raw = tx.get("owners", _owner_key(owner_id))
    return decode_owner(raw) if raw is not None else None


def user_by_email(tx: Tx, email: str) -> OwnerRecord | None:
    found = tx.get("owner_emails", _email_key(email))
    return get_owner(tx, found.decode()) if found is not None else None


def account_of(tx: Tx, user_id: str, name: str) -> OwnerRecord | None:
    found = tx.get("owner_accounts", _account_key(user_id, name))
    return get_owner(tx, found.decode()) if found is not None else None


def accounts_of(tx: Tx, user_id: str) -> list[OwnerRecord]:
    start = _account_key(user_id, "")
    found = (
        get_owner(tx, raw.decode())
        for _, raw in tx.scan("owner_accounts", start, after_prefix(start))
    )
    return [account for account in found if account is not None]


def users(tx: Tx) -> list[OwnerRecord]:
    """Every user (not accounts), by id."""
    records = (decode_owner(raw) for _, raw in tx.scan("owners", b""))
    return [record for record in records if not record.is_account]


def get_key(tx: Tx, access_key: str) -> KeyRecord | None:
    raw = tx.get("access_keys", access_key.encode())
    return decode_key(raw) if raw is not None else None


def credential(tx: Tx, access_key: str) -> Credential | None:
    """The key with its owner's standing: an account is enabled only while its user is."""
    key = get_key(tx, access_key)
    if key is None:
        return None
    owner = get_owner(tx, key.owner)
    if owner is None:
        return None
    user = get_owner(tx, owner.parent) if owner.is_account else owner
    enabled = owner.state == "enabled" and user is not None and user.state == "enabled"
    system = "system" in owner.flags
    principal = principal_arn(owner)
    return Credential(access_key, key.sealed_secret, owner.id, enabled, system, principal)


def principal_arn(owner: OwnerRecord) -> str:
    """The ARN bucket policies name an owner by: a user's "root", an account a user of its
    user's (AWS's forms for an account and the users under it)."""
    if owner.is_account:
        return f"arn:aws:iam::{owner.parent}:user/{owner.name}"
    return f"arn:aws:iam::{owner.id}:root"


def root_id(tx: Tx) -> str | None:
    raw = tx.get("settings", ROOT)
    return raw.decode() if raw is not None else None


def _save(tx: Tx, owner: OwnerRecord) -> None:
    tx.put("owners", _owner_key(owner.id), encode_record(owner))


def create_user(tx: Tx, owner: OwnerRecord, root: bool = False) -> None:
    """IdentityError when the e-mail address or the id is taken."""
    if not owner.email.strip():
        raise IdentityError("InvalidArgument", "A user needs an e-mail address.")
    if tx.get("owner_emails", _email_key(owner.email)) is not None:
        raise IdentityError("UserAlreadyExists", f"A user with e-mail {owner.email} exists.")
    if tx.get("owners", _owner_key(owner.id)) is not None:
        raise IdentityError("UserAlreadyExists", f"A user with id {owner.id} exists.")
    _save(tx, owner)
    tx.put("owner_emails", _email_key(owner.email), owner.id.encode())
    if root:
        tx.put("settings", ROOT, owner.id.encode())


def create_account(tx: Tx, account: OwnerRecord) -> None:
    """An account under its user (account.parent); IdentityError when the name is taken."""
    if get_owner(tx, account.parent) is None:
        raise IdentityError("NoSuchUser", "The user does not exist.")
    if tx.get("owner_accounts", _account_key(account.parent, account.name)) is not None:
        raise IdentityError("AccountAlreadyExists", f"The account {account.name} exists.")
    _save(tx, account)
    tx.put("owner_accounts", _account_key(account.parent, account.name), account.id.encode())


def add_key(tx: Tx, owner_id: str, key: KeyRecord, replace_oldest: bool = False) -> str | None:
    """Gives the owner an access key; IdentityError if it has MAX_KEYS already (unless
    replace_oldest: then the oldest goes, and is returned) or the key is someone's."""
    owner = get_owner(tx, owner_id)
    if owner is None:
        raise IdentityError("NoSuchUser", "The user does not exist.")
    if tx.get("access_keys", key.access_key.encode()) is not None:
        raise IdentityError("InvalidArgument", f"The access key {key.access_key} is taken.")
    revoked = None
    if len(owner.keys) >= MAX_KEYS:
        if not replace_oldest:
            raise IdentityError(
                "TooManyAccessKeys",
                f"{_describe(owner)} has {MAX_KEYS} access key pairs, the most it may have: "
                "revoke one first.",
            )
        revoked = owner.keys.pop(0)
        tx.delete("access_keys", revoked.encode())
    owner.keys.append(key.access_key)
    _save(tx, owner)
    tx.put("access_keys", key.access_key.encode(), encode_record(key))
    return revoked


def replace_secret(tx: Tx, access_key: str, sealed_secret: bytes) -> None:
    key = get_key(tx, access_key)
    assert key is not None
    key.sealed_secret = sealed_secret
    tx.put("access_keys", access_key.encode(), encode_record(key))


def revoke_key(tx: Tx, owner_id: str, access_key: str) -> None:
    owner = get_owner(tx, owner_id)
    if owner is None or access_key not in owner.keys:
        raise IdentityError("InvalidAccessKeyId", f"{access_key} is not a key of this owner.")
    owner.keys.remove(access_key)
    _save(tx, owner)
    tx.delete("access_keys", access_key.encode())


def change_owner(tx: Tx, owner_id: str, apply: Callable[[OwnerRecord], None]) -> OwnerRecord:
    owner = get_owner(tx, owner_id)
    if owner is None:
        raise IdentityError("NoSuchUser", "The user does not exist.")
    apply(owner)
    _save(tx, owner)
    return owner


def owned_buckets(tx: Tx, owner_id: str) -> list[str]:
    """The names of the owner's buckets, in order."""
    start = owner_bucket_key(owner_id, "")
    rows = tx.scan("owner_buckets", start, after_prefix(start))
    return [raw[len(start) :].decode() for raw, _ in rows]


def delete_owner(tx: Tx, owner_id: str) -> None:
    """Deletes a user with its accounts, or one account, with their keys; IdentityError if
    any of them owns a bucket (naming them) or if it is the root user."""
    owner = get_owner(tx, owner_id)
    if owner is None:
        raise IdentityError("NoSuchUser", "The user does not exist.")
    if owner_id == root_id(tx):
        raise IdentityError("AccessDenied", "The root user cannot be deleted.")
    doomed = [owner] if owner.is_account else [owner, *accounts_of(tx, owner.id)]
    buckets = [name for each in doomed for name in owned_buckets(tx, each.id)]
    if buckets:
        raise IdentityError(
            "OwnerHasBuckets",
            f"{_describe(owner)} owns buckets ({', '.join(buckets)}): delete them first.",
        )
    for each in doomed:
        for access_key in each.keys:
            tx.delete("access_keys", access_key.encode())
        tx.delete("owners", _owner_key(each.id))
        for table in ("quotas", "limits"):
            tx.delete(table, of_owner(each.id).encode())
        if each.is_account:
            tx.delete("owner_accounts", _account_key(each.parent, each.name))
        else:
            tx.delete("owner_emails", _email_key(each.email))


def _describe(owner: OwnerRecord) -> str:
    return f"The account {owner.name}" if owner.is_account else f"The user {owner.email}"


def index_bucket_owners(tx: Tx) -> None:
    """Rebuilds the owner -> buckets index from the bucket records (after adopting legacy
    owners, whose buckets a schema before 7 did not index)."""
    for key, _ in list(tx.scan("owner_buckets", b"")):
        tx.delete("owner_buckets", key)
    for name, raw in list(tx.scan("buckets", b"")):
        tx.put("owner_buckets", owner_bucket_key(decode_bucket(raw).owner, name.decode()), b"")
