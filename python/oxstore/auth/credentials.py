"""Access keys and their secrets: records of the metadata store (so every gateway of a cluster
shares them), each secret sealed (AES-256-GCM, bound to its access key) under the master key in
DATA/.oxstore/master.key or OXSTORE_MASTER_KEY (hex).

A worker keeps the keys it has seen for KEY_TTL seconds: a signature check is a dictionary
lookup, and a key revoked or an owner disabled (on any gateway) stops working within that time.
"""

from __future__ import annotations

import os
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from oxstore._native import seal, unseal
from oxstore.meta.model import Credential, Metadata

T = TypeVar("T")
MASTER_KEY_ENV = "OXSTORE_MASTER_KEY"
KEY_TTL = 2.0  # seconds a worker trusts what it read about an access key
MAX_CACHED = 100_000
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


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


def master_key(state_dir: Path, env: Mapping[str, str]) -> bytes:
    """OXSTORE_MASTER_KEY, or the data directory's key file (made on first start)."""
    if env.get(MASTER_KEY_ENV):
        key = bytes.fromhex(env[MASTER_KEY_ENV])
        if len(key) != 32:
            raise ValueError(f"{MASTER_KEY_ENV} must be 64 hex digits")
        return key
    path = state_dir / "master.key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        write_private(path, secrets.token_bytes(32))
    return path.read_bytes()


def existing_master_key(state_dir: Path, env: Mapping[str, str]) -> bytes | None:
    """The master key, for a command beside the server: None where there is none yet (a new
    one would open nothing)."""
    if not env.get(MASTER_KEY_ENV) and not (state_dir / "master.key").is_file():
        return None
    return master_key(state_dir, env)


def new_owner_id() -> str:
    return secrets.token_hex(8)


def new_access_key(owner_id: str) -> str:
    """The owner's (or, for an account, its user's) id and four random characters, as the
    provider's keys are: a key says whose it is at a glance."""
    return owner_id.upper() + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(4))


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def seal_secret(master: bytes, access_key: str, secret: str) -> bytes:
    return seal(master, secret.encode(), access_key.encode())


def unseal_secret(master: bytes, access_key: str, sealed: bytes) -> str:
    return unseal(master, sealed, access_key.encode()).decode()


class NotCached(Exception):
    """Raised by `Keyring.secret_for` for a key this worker has not looked up yet."""

    def __init__(self, access_key: str) -> None:
        super().__init__(access_key)
        self.access_key = access_key


@dataclass(frozen=True, slots=True)
class Signer:
    """An access key as a signature check needs it."""

    secret: str
    owner: str
    enabled: bool
    system: bool
    principal: str  # the owner's ARN (meta.model.identity.principal_arn)


class Keyring:
    """The access keys one worker has looked up, each for KEY_TTL seconds."""

    def __init__(
        self, meta: Metadata, master: bytes, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.meta = meta
        self.master = master
        self._clock = clock
        self._known: dict[str, tuple[float, Signer | None]] = {}

    def signer(self, access_key: str) -> Signer | None:
        """The key's signer (None: no such key); NotCached when it must be looked up."""
        entry = self._known.get(access_key)
        if entry is None or entry[0] < self._clock():
            raise NotCached(access_key)
        return entry[1]

    def checked_signer(self, access_key: str) -> Signer:
        """The signer of a key whose signature has just been checked (whatever its age now)."""
        entry = self._known.get(access_key)
        assert entry is not None and entry[1] is not None
        return entry[1]

    def secret_for(self, access_key: str) -> str | None:
        signer = self.signer(access_key)
        return signer.secret if signer is not None else None

    async def load(self, access_key: str) -> None:
        found = await self.meta.credential(access_key)
        if len(self._known) >= MAX_CACHED:
            self._known.clear()
        self._known[access_key] = (self._clock() + KEY_TTL, self._signer(found))

    def _signer(self, found: Credential | None) -> Signer | None:
        if found is None:
            return None
        secret = unseal_secret(self.master, found.access_key, found.sealed_secret)
        return Signer(secret, found.owner, found.enabled, found.system, found.principal)

    def forget(self, access_keys: list[str]) -> None:
        """Drops keys this worker changed, so its next request reads them again."""
        for access_key in access_keys:
            self._known.pop(access_key, None)

    async def checked(self, verify: Callable[[], T]) -> T:
        """verify() (a signature check that reads secrets through this keyring), run again
        after looking up a key it did not find cached."""
        try:
            return verify()
        except NotCached as miss:
            await self.load(miss.access_key)
            return verify()
