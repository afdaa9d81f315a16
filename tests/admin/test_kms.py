"""The KMS keyring of SSE-KMS: `KmsKeys` over real stores (SQLite and PostgreSQL), the
`?ostor-kms-keys` admin calls and `oxstore admin kms key ...` against a real server, and key
material sealed at rest under the master key."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import requests

from oxstore._native import unseal
from oxstore.auth.credentials import master_key
from oxstore.kms import CURRENT_TTL, KmsKeys, WriteKey
from oxstore.meta.model import Metadata
from oxstore.meta.open import open_store
from oxstore.s3.errors import S3Error
from tests.admin.helpers import admin, create_user, delete_user
from tests.admin.test_cli import oxstore_admin
from tests.conftest import Server

MASTER = bytes(range(32))
OpenMeta = Callable[[], Metadata]


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def open_meta(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenMeta]:
    """Opens Metadata over one fresh database; each call another store over it (another
    worker or gateway)."""
    url = request.getfixturevalue("postgres").new_database() if request.param == "postgres" else ""
    opened: list[Metadata] = []

    def open_one() -> Metadata:
        opened.append(Metadata(open_store(url, tmp_path / "meta.sqlite3")))
        return opened[-1]

    yield open_one
    for meta in opened:
        meta.close()


async def expect_not_found(call: Callable[[str], Awaitable[object]], text: str) -> None:
    with pytest.raises(S3Error) as info:
        await call(text)
    assert (info.value.code, info.value.status) == ("KMS.NotFoundException", 400)
    assert info.value.message == f"Invalid keyId '{text}'"


# ---- KmsKeys over a real store ---------------------------------------------------------------


def test_one_default_key_is_made_and_kept(open_meta: OpenMeta) -> None:
    async def scenario() -> None:
        # two gateways' first SSE-KMS writes at once agree on one default key
        one, two = KmsKeys(open_meta(), MASTER), KmsKeys(open_meta(), MASTER)
        first, second = await asyncio.gather(one.for_write(None), two.for_write(None))
        assert first == second and first.version == 1 and len(first.kek) == 32
        assert await one.for_write(None) == first
        later = KmsKeys(open_meta(), MASTER)
        assert await later.for_write(None) == first
        assert await later.default_id() == first.key_id
        (listed,) = await later.list()
        assert listed.id == first.key_id and len(listed.versions) == 1

    asyncio.run(scenario())


def test_rotation_makes_a_new_current_version_and_keeps_the_old(open_meta: OpenMeta) -> None:
    async def scenario() -> None:
        here = KmsKeys(open_meta(), MASTER)
        assert await here.default_id() is None
        key = await here.create("photos")
        clock = Clock()
        elsewhere = KmsKeys(open_meta(), MASTER, clock)  # another gateway
        old = await elsewhere.for_write(key.id)
        assert (old.key_id, old.version) == (key.id, 1)
        rotated = await here.rotate(key.id)
        assert [len(k.versions) for k in (key, rotated)] == [1, 2]
        new = await here.for_write(key.id)  # the gateway that rotated uses it at once
        assert new.version == 2 and new.kek != old.kek
        # the other one within CURRENT_TTL, without reading the store
        reads: list[str] = []
        read = elsewhere.meta.kms_key

        async def counted(key_id: str) -> object:
            reads.append(key_id)
            return await read(key_id)

        elsewhere.meta.kms_key = counted  # type: ignore[method-assign,assignment]
        clock.now += CURRENT_TTL - 0.5
        assert await elsewhere.for_write(key.id) == old and reads == []
        clock.now += 1.0
        assert await elsewhere.for_write(key.id) == new and reads == [key.id]
        fresh = KmsKeys(open_meta(), MASTER)
        assert await fresh.for_write(key.id) == new
        assert await fresh.kek(key.id, 1) == old.kek and await fresh.kek(key.id, 2) == new.kek
        for key_id, version in ((key.id, 3), (key.id, 0), (str(uuid.uuid4()), 1)):
            with pytest.raises(S3Error) as info:
                await fresh.kek(key_id, version)
            assert (info.value.code, info.value.status) == ("InternalError", 500)
        assert [k.description for k in await fresh.list()] == ["photos"]

    asyncio.run(scenario())


def test_keys_are_named_by_id_or_arn(open_meta: OpenMeta) -> None:
    async def scenario() -> None:
        keys = KmsKeys(open_meta(), MASTER)
        key = await keys.create("")
        arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"
        assert (await keys.for_write(arn)).key_id == key.id
        assert (await keys.for_write(key.id.upper())).key_id == key.id
        assert len((await keys.rotate(arn)).versions) == 2
        unknown = str(uuid.uuid4())
        for text in (
            unknown,
            f"arn:aws:kms:us-east-1:123456789012:key/{unknown}",
            "alias/aws/s3",
            "not-a-key",
            f"{key.id}x",
            f"arn:aws:kms:us-east-1:123456789012:key/{key.id}/x",
            "arn:aws:kms:us-east-1:123456789012:key/",
            "",
        ):
            await expect_not_found(keys.for_write, text)
        await expect_not_found(keys.rotate, unknown)
        assert [len(k.versions) for k in await keys.list()] == [2]

    asyncio.run(scenario())


def test_a_write_key_never_shows_its_material() -> None:
    key = WriteKey("k", 1, b"\x01" * 32)
    assert "kek" not in repr(key) and "\\x01" not in repr(key)


# ---- the admin API and the command line ------------------------------------------------------


def test_the_command_line_creates_lists_and_rotates_keys(server: Server) -> None:
    made = oxstore_admin(server, "--json", "kms", "key", "create", "--description", "cli key")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert set(key) == {"KeyId", "Description", "Created", "Versions", "Default"}
    assert (key["Description"], key["Versions"], key["Default"]) == ("cli key", 1, False)
    assert key["Created"].endswith("Z")
    listed = oxstore_admin(server, "kms", "key", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["KEY", "ID", "DESCRIPTION", "CREATED", "VERSIONS", "DEFAULT"]
    (row,) = [r.split() for r in rows if r.startswith(key["KeyId"])]
    assert row[1:3] == ["cli", "key"] and row[-2:] == ["1", "no"]
    rotated = oxstore_admin(server, "kms", "key", "rotate", key["KeyId"])
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.splitlines()[1].split()[-2:] == ["2", "no"]
    as_json = json.loads(oxstore_admin(server, "--json", "kms", "key", "list").stdout)
    (entry,) = [k for k in as_json["Keys"] if k["KeyId"] == key["KeyId"]]
    assert entry == {**key, "Versions": 2}
    for unknown in (str(uuid.uuid4()), "not-a-key"):
        failed = oxstore_admin(server, "kms", "key", "rotate", unknown)
        assert failed.returncode == 1 and "KMS.NotFoundException" in failed.stderr
        assert f"Invalid keyId '{unknown}'" in failed.stderr


def test_the_admin_api_answers_keys_never_material(server: Server) -> None:
    made = admin(server, "PUT", "ostor-kms-keys")
    assert made.status_code == 200, made.text
    key = made.json()
    assert key["Description"] == "" and key["Versions"] == 1
    rotated = admin(server, "POST", "ostor-kms-keys", keyId=key["KeyId"], rotate=None)
    assert rotated.status_code == 200 and rotated.json()["Versions"] == 2
    listed = admin(server, "GET", "ostor-kms-keys").json()["Keys"]
    assert {**key, "Versions": 2} in listed
    for args in ({"rotate": None}, {"keyId": key["KeyId"]}, {"keyId": "", "rotate": None}):
        answer = admin(server, "POST", "ostor-kms-keys", **args)
        assert answer.status_code == 400 and "<Code>InvalidArgument</Code>" in answer.text
    unknown = admin(server, "POST", "ostor-kms-keys", keyId=str(uuid.uuid4()), rotate=None)
    assert unknown.status_code == 400 and "<Code>KMS.NotFoundException</Code>" in unknown.text
    too_long = admin(server, "PUT", "ostor-kms-keys", description="d" * 8193)
    assert too_long.status_code == 400


@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_only_system_users_manage_kms_keys(server: Server, method: str) -> None:
    user = create_user(server, f"kms-{method.lower()}@example.com")
    try:
        args = {"keyId": str(uuid.uuid4()), "rotate": None} if method == "POST" else {}
        answer = admin(
            server,
            method,
            "ostor-kms-keys",
            access_key=user.access_key,
            secret_key=user.secret_key,
            **args,
        )
        assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text
        anonymous = requests.request(method, f"{server.endpoint}/?ostor-kms-keys", timeout=10)
        assert anonymous.status_code == 403
    finally:
        delete_user(server, user.email)


def test_key_material_is_sealed_under_the_master_key(server: Server) -> None:
    key = admin(server, "PUT", "ostor-kms-keys", description="sealed").json()
    master = master_key(server.data_dir / ".oxstore", os.environ)
    meta = server.metadata()

    async def scenario() -> tuple[bytes, bytes, str]:
        keys = KmsKeys(meta, master)
        record = await meta.kms_key(key["KeyId"])
        assert record is not None
        material = await keys.kek(key["KeyId"], 1)
        default = await keys.for_write(None)  # made by this process, seen by the server
        return record.versions[0].sealed, material, default.key_id

    try:
        sealed, material, default_id = asyncio.run(scenario())
    finally:
        meta.close()
    aad = f"kms-key/{key['KeyId']}/1".encode()
    assert len(material) == 32 and unseal(master, sealed, aad) == material
    with pytest.raises(ValueError):
        unseal(bytes(32), sealed, aad)
    with pytest.raises(ValueError):
        unseal(master, sealed, f"kms-key/{key['KeyId']}/2".encode())
    listed = admin(server, "GET", "ostor-kms-keys").json()["Keys"]
    assert [k["KeyId"] for k in listed if k["Default"]] == [default_id]
    if not server.meta_flag:  # the embedded store: its files hold the sealed bytes only
        files = (server.data_dir / ".oxstore").glob("meta.sqlite3*")
        stored = b"".join(path.read_bytes() for path in files)
        assert sealed in stored and material not in stored
