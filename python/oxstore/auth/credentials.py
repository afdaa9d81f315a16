"""Access keys and their secrets, kept sealed at rest under a master key.

Root credentials come from OXSTORE_ROOT_USER / OXSTORE_ROOT_PASSWORD or are generated on first
start. The file DATA/.oxstore/credentials.json holds each secret sealed (AES-256-GCM) under the
master key in DATA/.oxstore/master.key (or OXSTORE_MASTER_KEY, hex).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oxstore._native import seal, unseal

ROOT_USER_ENV = "OXSTORE_ROOT_USER"
ROOT_PASSWORD_ENV = "OXSTORE_ROOT_PASSWORD"
MASTER_KEY_ENV = "OXSTORE_MASTER_KEY"
_ACCESS_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def write_private(path: Path, data: bytes) -> None:
    """Writes a 0600 file atomically and durably: temp, fsync, rename, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _master_key(state_dir: Path, env: Mapping[str, str]) -> bytes:
    if env.get(MASTER_KEY_ENV):
        key = bytes.fromhex(env[MASTER_KEY_ENV])
        if len(key) != 32:
            raise ValueError(f"{MASTER_KEY_ENV} must be 64 hex digits")
        return key
    path = state_dir / "master.key"
    if not path.exists():
        write_private(path, secrets.token_bytes(32))
    return path.read_bytes()


def _validate(access_key: str, secret_key: str) -> None:
    if not 3 <= len(access_key) <= 128:
        raise ValueError(f"access keys ({ROOT_USER_ENV}) must be 3 to 128 characters")
    if not 8 <= len(secret_key) <= 128:
        raise ValueError(f"secret keys ({ROOT_PASSWORD_ENV}) must be 8 to 128 characters")


class CredentialStore:
    """Access keys and their secrets. Root's come from the environment or the first start;
    more users are added with `oxstore user add`, and a running server picks them up."""

    def __init__(
        self,
        secrets_by_key: dict[str, str],
        root_access_key: str,
        path: Path | None = None,
        master: bytes = b"",
    ) -> None:
        self._secrets = secrets_by_key
        self.root_access_key = root_access_key
        self._path = path
        self._master = master
        self._loaded_mtime = _mtime(path)

    def secret_for(self, access_key: str) -> str | None:
        secret = self._secrets.get(access_key)
        if secret is None and _mtime(self._path) != self._loaded_mtime:
            self._reload()  # a user added since this worker started
            secret = self._secrets.get(access_key)
        return secret

    def access_keys(self) -> list[str]:
        return sorted(self._secrets)

    def _reload(self) -> None:
        assert self._path is not None
        self._loaded_mtime = _mtime(self._path)
        stored = json.loads(self._path.read_text())
        for key, sealed in stored["keys"].items():
            if key not in self._secrets:
                self._secrets[key] = _unseal(self._master, key, sealed)

    @classmethod
    def open(cls, data_dir: Path, env: Mapping[str, str]) -> tuple[CredentialStore, str | None]:
        """Loads the credentials, creating root's on first start; the second value is the
        one-time message announcing generated credentials."""
        state_dir = Path(data_dir) / ".oxstore"
        state_dir.mkdir(parents=True, exist_ok=True)
        master = _master_key(state_dir, env)
        path = state_dir / "credentials.json"
        stored = json.loads(path.read_text()) if path.exists() else None
        message = None
        if env.get(ROOT_USER_ENV) and env.get(ROOT_PASSWORD_ENV):
            root, secret = env[ROOT_USER_ENV], env[ROOT_PASSWORD_ENV]
            _validate(root, secret)
        elif stored is not None:
            root = stored["root"]
            secret = _unseal(master, root, stored["keys"][root])
        else:
            root = _new_access_key()
            secret = _new_secret()
            message = (
                "oxstore: generated root credentials (shown once; keep them safe)\n"
                f"  access key: {root}\n  secret key: {secret}"
            )
        sealed = dict(stored["keys"]) if stored is not None else {}
        users = {k: _unseal(master, k, v) for k, v in sealed.items() if k != root}
        if stored is None or stored.get("root") != root or _changed(stored, root, master, secret):
            if stored is not None and stored.get("root") != root:
                sealed.pop(stored["root"], None)  # the previous root is replaced, not kept
                users.pop(stored["root"], None)
            sealed[root] = _seal(master, root, secret)
            write_private(path, json.dumps({"root": root, "keys": sealed}).encode())
        return cls({**users, root: secret}, root, path, master), message

    def add_user(self, access_key: str | None, secret: str | None) -> tuple[str, str]:
        """Adds an access key (generated when not given) to the file this store was opened
        from; returns (access key, secret)."""
        access_key = access_key or _new_access_key()
        secret = secret or _new_secret()
        _validate(access_key, secret)
        if self.secret_for(access_key) is not None:
            raise ValueError(f"access key {access_key} exists already")
        assert self._path is not None
        stored = json.loads(self._path.read_text())
        stored["keys"][access_key] = _seal(self._master, access_key, secret)
        write_private(self._path, json.dumps(stored).encode())
        self._secrets[access_key] = secret
        return access_key, secret


def _new_access_key() -> str:
    return "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(20))


def _new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def _seal(master: bytes, access_key: str, secret: str) -> str:
    return base64.b64encode(seal(master, secret.encode(), access_key.encode())).decode()


def _unseal(master: bytes, access_key: str, sealed: str) -> str:
    return unseal(master, base64.b64decode(sealed), access_key.encode()).decode()


def _mtime(path: Path | None) -> float:
    try:
        return path.stat().st_mtime_ns if path is not None else 0
    except FileNotFoundError:
        return 0


def _changed(stored: dict[str, Any], root: str, master: bytes, secret: str) -> bool:
    try:
        old = _unseal(master, root, stored["keys"][root])
    except (KeyError, ValueError):
        return True
    return old != secret
