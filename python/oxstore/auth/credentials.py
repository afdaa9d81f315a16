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
        raise ValueError(f"{ROOT_USER_ENV} must be 3 to 128 characters")
    if not 8 <= len(secret_key) <= 128:
        raise ValueError(f"{ROOT_PASSWORD_ENV} must be 8 to 128 characters")


class CredentialStore:
    def __init__(self, secrets_by_key: dict[str, str], root_access_key: str) -> None:
        self._secrets = secrets_by_key
        self.root_access_key = root_access_key

    def secret_for(self, access_key: str) -> str | None:
        return self._secrets.get(access_key)

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
            secret = unseal(master, base64.b64decode(stored["keys"][root]), root.encode()).decode()
        else:
            root = "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(20))
            secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
            message = (
                "oxstore: generated root credentials (shown once; keep them safe)\n"
                f"  access key: {root}\n  secret key: {secret}"
            )
        keys = {root: secret}
        sealed = {root: base64.b64encode(seal(master, secret.encode(), root.encode())).decode()}
        if stored is None or stored.get("root") != root or _changed(stored, root, master, secret):
            write_private(path, json.dumps({"root": root, "keys": sealed}).encode())
        return cls(keys, root), message


def _changed(stored: dict, root: str, master: bytes, secret: str) -> bool:  # type: ignore[type-arg]
    try:
        old = unseal(master, base64.b64decode(stored["keys"][root]), root.encode()).decode()
    except (KeyError, ValueError):
        return True
    return old != secret
