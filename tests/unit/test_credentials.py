"""Root credentials: generated once and printed once, env wins, secrets sealed at rest."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from oxstore.auth.credentials import CredentialStore


def test_generated_once_then_reused(tmp_path: Path) -> None:
    first, message = CredentialStore.open(tmp_path, {})
    root = first.root_access_key
    secret = first.secret_for(root)
    assert message is not None and root in message and secret in message  # type: ignore[operator]
    again, message2 = CredentialStore.open(tmp_path, {})
    assert message2 is None
    assert again.root_access_key == root and again.secret_for(root) == secret


def test_secret_is_sealed_and_files_are_private(tmp_path: Path) -> None:
    creds, _ = CredentialStore.open(tmp_path, {})
    secret = creds.secret_for(creds.root_access_key)
    state = tmp_path / ".oxstore"
    stored = (state / "credentials.json").read_text()
    assert secret not in stored
    assert json.loads(stored)["root"] == creds.root_access_key
    for name in ("credentials.json", "master.key"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600


def test_environment_wins_and_is_persisted(tmp_path: Path) -> None:
    CredentialStore.open(tmp_path, {})
    env = {"OXSTORE_ROOT_USER": "ENVUSER", "OXSTORE_ROOT_PASSWORD": "env-secret-123"}
    creds, message = CredentialStore.open(tmp_path, env)
    assert message is None
    assert creds.secret_for("ENVUSER") == "env-secret-123"
    later, _ = CredentialStore.open(tmp_path, {})
    assert later.root_access_key == "ENVUSER"
    assert later.secret_for("ENVUSER") == "env-secret-123"


def test_master_key_from_environment_and_bad_values(tmp_path: Path) -> None:
    key = {"OXSTORE_MASTER_KEY": "11" * 32}
    creds, _ = CredentialStore.open(tmp_path, key)
    assert not (tmp_path / ".oxstore" / "master.key").exists()
    assert CredentialStore.open(tmp_path, key)[0].root_access_key == creds.root_access_key
    with pytest.raises(ValueError):
        CredentialStore.open(tmp_path / "other", {"OXSTORE_MASTER_KEY": "abcd"})
    with pytest.raises(ValueError):
        CredentialStore.open(
            tmp_path / "third", {"OXSTORE_ROOT_USER": "ab", "OXSTORE_ROOT_PASSWORD": "x"}
        )
