"""The root user across starts (generated once, env keys added or rotated, ownership kept),
secrets sealed at rest, the key cache, and the adoption of a data directory from before owners."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from oxstore._native import seal
from oxstore.auth.credentials import KEY_TTL, Keyring, master_key, unseal_secret
from oxstore.auth.root import prepare_root
from oxstore.meta.model import Metadata
from oxstore.meta.open import open_store
from oxstore.meta.records import BucketRecord, ObjectRecord

ENV = {"OXSTORE_ROOT_USER": "ENVUSER", "OXSTORE_ROOT_PASSWORD": "env-secret-123"}


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[Metadata]:
    (tmp_path / ".oxstore").mkdir()
    metadata = Metadata(open_store("", tmp_path / ".oxstore" / "meta.sqlite3"))
    yield metadata
    metadata.close()


def start(meta: Metadata, data_dir: Path, env: dict[str, str]) -> list[str]:
    """What one server start does with the root user; what it says."""
    state = data_dir / ".oxstore"
    return asyncio.run(prepare_root(meta, master_key(state, env), state, env))


def root_keys(meta: Metadata) -> list[str]:
    async def keys() -> list[str]:
        root = await meta.get_owner(await meta.root_id() or "")
        assert root is not None
        return root.keys

    return asyncio.run(keys())


def test_generated_once_then_kept(meta: Metadata, tmp_path: Path) -> None:
    (said,) = start(meta, tmp_path, {})
    assert "generated credentials" in said and "secret key: " in said
    assert f"oxstore admin --data-dir {tmp_path} user show" in said and "key revoke" in said
    (key,) = root_keys(meta)
    assert key in said
    (again,) = start(meta, tmp_path, {})
    assert "secret key" not in again and key in again
    assert root_keys(meta) == [key]


def test_environment_keys_are_added_to_the_root_user_and_rotated(
    meta: Metadata, tmp_path: Path
) -> None:
    start(meta, tmp_path, {})
    (generated,) = root_keys(meta)
    root = asyncio.run(meta.root_id())
    (said,) = start(meta, tmp_path, ENV)
    assert "added the access key ENVUSER" in said
    assert root_keys(meta) == [generated, "ENVUSER"]
    (said,) = start(meta, tmp_path, {**ENV, "OXSTORE_ROOT_PASSWORD": "a-new-secret-456"})
    assert "the secret of its access key ENVUSER is now" in said
    master = master_key(tmp_path / ".oxstore", {})
    found = asyncio.run(meta.credential("ENVUSER"))
    assert found is not None and found.owner == root
    assert unseal_secret(master, "ENVUSER", found.sealed_secret) == "a-new-secret-456"
    third = {"OXSTORE_ROOT_USER": "THIRDKEY", "OXSTORE_ROOT_PASSWORD": "third-secret-789"}
    (said,) = start(meta, tmp_path, third)
    assert f"revoked its oldest key {generated}" in said
    assert root_keys(meta) == ["ENVUSER", "THIRDKEY"]
    assert asyncio.run(meta.root_id()) == root  # one root user all along


def test_a_key_of_another_user_is_refused_as_roots(meta: Metadata, tmp_path: Path) -> None:
    start(meta, tmp_path, {})
    from oxstore.auth.root import key_record
    from oxstore.meta.records import OwnerRecord

    master = master_key(tmp_path / ".oxstore", {})
    user = OwnerRecord(id="00000000000000aa", email="u@example.com", created=0)
    asyncio.run(meta.create_user(user, key_record(master, user.id, "USERKEY", "user-secret")))
    with pytest.raises(ValueError, match="USERKEY"):
        start(meta, tmp_path, {"OXSTORE_ROOT_USER": "USERKEY", "OXSTORE_ROOT_PASSWORD": "x" * 10})
    with pytest.raises(ValueError):
        start(meta, tmp_path, {"OXSTORE_ROOT_USER": "ab", "OXSTORE_ROOT_PASSWORD": "x"})


def test_secrets_are_sealed_and_files_private(meta: Metadata, tmp_path: Path) -> None:
    start(meta, tmp_path, ENV)
    database = (tmp_path / ".oxstore" / "meta.sqlite3").read_bytes()
    assert b"env-secret-123" not in database
    master = tmp_path / ".oxstore" / "master.key"
    assert stat.S_IMODE(master.stat().st_mode) == 0o600


def test_master_key_from_environment_and_bad_values(tmp_path: Path) -> None:
    key = {"OXSTORE_MASTER_KEY": "11" * 32}
    assert master_key(tmp_path, key) == b"\x11" * 32
    assert not (tmp_path / "master.key").exists()
    with pytest.raises(ValueError):
        master_key(tmp_path, {"OXSTORE_MASTER_KEY": "abcd"})


def test_the_key_cache_reads_again_after_its_lifetime(meta: Metadata, tmp_path: Path) -> None:
    start(meta, tmp_path, ENV)
    now = [0.0]
    keys = Keyring(meta, master_key(tmp_path / ".oxstore", {}), clock=lambda: now[0])

    async def secret() -> str | None:
        return await keys.checked(lambda: keys.secret_for("ENVUSER"))

    assert asyncio.run(secret()) == "env-secret-123"
    start(meta, tmp_path, {**ENV, "OXSTORE_ROOT_PASSWORD": "rotated-secret"})
    assert asyncio.run(secret()) == "env-secret-123"  # cached
    now[0] += KEY_TTL + 0.1
    assert asyncio.run(secret()) == "rotated-secret"


def test_a_data_directory_from_before_owners_is_adopted(meta: Metadata, tmp_path: Path) -> None:
    """Keys in credentials.json, records naming access keys: each key becomes a user, and
    every record names the user's id."""
    state = tmp_path / ".oxstore"
    master = master_key(state, {})

    def sealed(key: str, secret: str) -> str:
        return base64.b64encode(seal(master, secret.encode(), key.encode())).decode()

    legacy = {"root": "OLDROOT", "keys": {"OLDROOT": sealed("OLDROOT", "root-secret-1")}}
    legacy["keys"]["OLDUSER"] = sealed("OLDUSER", "user-secret-1")
    (state / "credentials.json").write_text(json.dumps(legacy))
    grants = json.dumps([["user", "OLDROOT", "FULL_CONTROL"], ["user", "OLDUSER", "READ"]])

    async def legacy_records() -> None:
        await meta.create_bucket(BucketRecord(name="old", owner="OLDROOT", created=1, region="r"))
        record = ObjectRecord(
            bucket="old",
            key="k",
            size=1,
            etag="e",
            last_modified=1,
            content_type="t",
            owner="OLDUSER",
            acl=grants,
            inline=b"x",
        )
        await meta.put_object(record)

    asyncio.run(legacy_records())
    said = start(meta, tmp_path, {})
    assert "adopted" in said[0] and "OLDROOT ->" in said[0]
    assert not (state / "credentials.json").exists()
    root = asyncio.run(meta.root_id())
    user = asyncio.run(meta.credential("OLDUSER"))
    assert root is not None and user is not None and user.owner != root
    bucket = asyncio.run(meta.get_bucket("old"))
    assert bucket is not None and bucket.owner == root
    assert asyncio.run(meta.list_buckets(root)) == [bucket]
    found = asyncio.run(meta.get_object("old", "k"))
    assert found is not None and found.owner == user.owner
    assert json.loads(found.acl or "") == [
        ["user", root, "FULL_CONTROL"],
        ["user", user.owner, "READ"],
    ]
    assert root_keys(meta) == ["OLDROOT"]
    old_root = asyncio.run(meta.credential("OLDROOT"))
    assert old_root is not None
    assert unseal_secret(master, "OLDROOT", old_root.sealed_secret) == "root-secret-1"
