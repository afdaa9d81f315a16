"""What a start does with the root user, the first system user, and says so.

The root user is made on the first start, with the key pair of OXSTORE_ROOT_USER /
OXSTORE_ROOT_PASSWORD or a generated one (shown once). Later starts keep it: the same pair
changes nothing, a new secret for its key replaces the old one, and a new key is added to the
root user (its oldest key is revoked when it has two already). Ownership never moves: buckets
belong to the root user, whatever key it signs with.

A data directory of a release before owners (its keys in DATA/.oxstore/credentials.json) is
adopted first: each key becomes a user of its own, and the records that named the key name
the user's id instead.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from pathlib import Path

from oxstore.auth.credentials import (
    new_access_key,
    new_owner_id,
    new_secret,
    seal_secret,
    unseal_secret,
)
from oxstore.meta.model import Metadata
from oxstore.meta.records import KeyRecord, OwnerRecord

ROOT_USER_ENV = "OXSTORE_ROOT_USER"
ROOT_PASSWORD_ENV = "OXSTORE_ROOT_PASSWORD"
ROOT_EMAIL_ENV = "OXSTORE_ROOT_EMAIL"
DEFAULT_ROOT_EMAIL = "root@localhost"
LEGACY_FILE = "credentials.json"


def _validate(access_key: str, secret_key: str) -> None:
    if not 3 <= len(access_key) <= 128:
        raise ValueError(f"access keys ({ROOT_USER_ENV}) must be 3 to 128 characters")
    if not 8 <= len(secret_key) <= 128:
        raise ValueError(f"secret keys ({ROOT_PASSWORD_ENV}) must be 8 to 128 characters")


def key_record(master: bytes, owner_id: str, access_key: str, secret: str) -> KeyRecord:
    return KeyRecord(
        access_key=access_key,
        owner=owner_id,
        sealed_secret=seal_secret(master, access_key, secret),
        created=time.time(),
    )


async def prepare_root(
    meta: Metadata, master: bytes, state_dir: Path, env: Mapping[str, str]
) -> list[str]:
    """Makes, adopts or updates the root user; returns what to tell the operator. ValueError
    for root credentials the environment cannot have."""
    said = await adopt_legacy_keys(meta, master, state_dir, env)
    wanted = None
    if env.get(ROOT_USER_ENV) and env.get(ROOT_PASSWORD_ENV):
        wanted = env[ROOT_USER_ENV], env[ROOT_PASSWORD_ENV]
        _validate(*wanted)
    root = await meta.root_id()
    if root is None:
        return said + await _create_root(meta, master, env, wanted, state_dir.parent)
    if wanted is None:
        owner = await meta.get_owner(root)
        keys = ", ".join(owner.keys) if owner is not None else "none"
        return [*said, f"oxstore: root user {root}: access keys {keys}"]
    return said + await _update_root(meta, master, root, *wanted)


async def _create_root(
    meta: Metadata,
    master: bytes,
    env: Mapping[str, str],
    wanted: tuple[str, str] | None,
    data_dir: Path,
) -> list[str]:
    user = OwnerRecord(
        id=new_owner_id(),
        email=env.get(ROOT_EMAIL_ENV) or DEFAULT_ROOT_EMAIL,
        created=time.time(),
        flags=["system"],
    )
    access_key, secret = wanted or (new_access_key(user.id), new_secret())
    await meta.create_user(user, key_record(master, user.id, access_key, secret), root=True)
    if wanted is not None:
        return [
            f"oxstore: created the root user {user.email} (id {user.id}) with access key "
            f"{access_key} from {ROOT_USER_ENV}"
        ]
    return [
        f"oxstore: created the root user {user.email} (id {user.id}) with generated "
        "credentials (shown once; keep them safe)\n"
        f"  access key: {access_key}\n  secret key: {secret}\n"
        "  kept sealed under the master key in the metadata store: list them with "
        f"`oxstore admin --data-dir {data_dir} user show {user.email}`, rotate with "
        f"`oxstore admin --data-dir {data_dir} key create {user.email}` then "
        f"`... key revoke {user.email} OLD_ACCESS_KEY`"
    ]


async def _update_root(
    meta: Metadata, master: bytes, root: str, access_key: str, secret: str
) -> list[str]:
    found = await meta.credential(access_key)
    if found is not None and found.owner != root:
        raise ValueError(
            f"{ROOT_USER_ENV} names the access key {access_key} of the user {found.owner}, "
            f"not one of the root user ({root})"
        )
    if found is None:
        record = key_record(master, root, access_key, secret)
        revoked = await meta.add_key(root, record, replace_oldest=True)
        line = (
            f"oxstore: added the access key {access_key} from {ROOT_USER_ENV} to the root "
            f"user {root}"
        )
        if revoked is not None:
            line += f"; revoked its oldest key {revoked} (a user has two key pairs at most)"
        return [line]
    if unseal_secret(master, access_key, found.sealed_secret) != secret:
        await meta.replace_secret(access_key, seal_secret(master, access_key, secret))
        return [
            f"oxstore: root user {root}: the secret of its access key {access_key} is now the "
            f"one in {ROOT_PASSWORD_ENV}"
        ]
    return [f"oxstore: root user {root}: access key {access_key} (from {ROOT_USER_ENV})"]


async def adopt_legacy_keys(
    meta: Metadata, master: bytes, state_dir: Path, env: Mapping[str, str]
) -> list[str]:
    """Gives each access key of a data directory from before owners a user (its root key the
    root user), renames the key to the user's id in every record, then sets the old file
    aside. Run again after a crash, it finishes what it started."""
    path = state_dir / LEGACY_FILE
    if not path.exists():
        return []
    stored = json.loads(path.read_text())
    names: dict[str, str] = {}
    for access_key, sealed_text in stored["keys"].items():
        sealed = base64.b64decode(sealed_text)
        unseal_secret(master, access_key, sealed)  # fails for another master key than its own
        found = await meta.credential(access_key)
        if found is not None:
            names[access_key] = found.owner
            continue
        is_root = access_key == stored["root"] and await meta.root_id() is None
        email = env.get(ROOT_EMAIL_ENV) or DEFAULT_ROOT_EMAIL
        user = OwnerRecord(
            id=new_owner_id(),
            email=email if is_root else f"{access_key.lower()}@localhost",
            created=time.time(),
            flags=["system"] if is_root else [],
        )
        key = KeyRecord(
            access_key=access_key, owner=user.id, sealed_secret=sealed, created=time.time()
        )
        await meta.create_user(user, key, root=is_root)
        names[access_key] = user.id
    await meta.rename_owners(names)
    path.rename(path.with_name(LEGACY_FILE + ".adopted"))
    adopted = ", ".join(f"{key} -> {owner}" for key, owner in names.items())
    return [f"oxstore: adopted the data directory's access keys as users ({adopted})"]
