"""The built-in KMS keyring of SSE-KMS: named keys, each a list of versions whose material is a
key-encryption key (KEK) that wraps the data keys of objects written under it.

Keys live in the metadata store (every gateway of a cluster reads them), their material sealed
under the server's master key and bound to the key's id and version number (meta.model.kms).
A key is named by its id (a UUID, as AWS's) or an ARN `arn:aws:kms:REGION:ACCOUNT:key/ID`;
`aws:kms` without a key id takes the store's default key, made on first use.

Each worker process keeps one `KmsKeys`. Versions never change, so their material is cached for
good; which version is current is re-read after CURRENT_TTL seconds, so a rotation made through
any other gateway (or worker) is used by this worker's new writes within that time, and writes
within that window read no metadata at all. Nothing here logs or answers key material but
the `kek` values asked for.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from oxstore._native import random_data_key, seal, unseal
from oxstore.meta.model import Metadata
from oxstore.meta.model.kms import DEFAULT
from oxstore.meta.records import KmsKeyRecord, KmsKeyVersion
from oxstore.s3.errors import S3Error

log = logging.getLogger("oxstore")

CURRENT_TTL = 5.0  # seconds a worker trusts what it read of a key's current version
DEFAULT_DESCRIPTION = "the default key (aws:kms without a key id)"
KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
ARN = re.compile(r"arn:aws:kms:[^:]*:[^:]*:key/(.*)", re.DOTALL)
MAX_ECHOED = 256  # characters of a key id an error answer repeats


@dataclass(frozen=True, slots=True)
class WriteKey:
    """The key a new object's data key is wrapped under: record key_id and version with it."""

    key_id: str
    version: int
    kek: bytes = field(repr=False)  # never in a log line or a traceback's locals repr


def not_found(text: str) -> S3Error:
    shown = text if len(text) <= MAX_ECHOED else text[:MAX_ECHOED] + "..."
    return S3Error("KMS.NotFoundException", f"Invalid keyId '{shown}'")


def key_id_of(text: str) -> str:
    """The key id a request names, by id or ARN (lower-case); KMS.NotFoundException for
    anything else (aliases included: the keyring has none)."""
    arn = ARN.fullmatch(text)
    key_id = arn.group(1) if arn else text
    if not KEY_ID.fullmatch(key_id):
        raise not_found(text)
    return key_id.lower()


def _aad(key_id: str, number: int) -> bytes:
    """What a version's sealed material is bound to: moved to another key or version, it
    does not open."""
    return f"kms-key/{key_id}/{number}".encode()


class KmsKeys:
    """The keyring as one worker process sees it (async; metadata read only on cache misses)."""

    def __init__(
        self, meta: Metadata, master: bytes, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.meta = meta
        self._master = master
        self._clock = clock
        self._material: dict[tuple[str, int], bytes] = {}  # (key id, version) -> KEK, for good
        self._current: dict[str, tuple[float, int]] = {}  # key id -> (read at, current version)
        self._default: str | None = None  # the default key's id, once known (it never changes)

    def __repr__(self) -> str:
        return f"KmsKeys({len(self._current)} keys known)"

    # ---- what the S3 layer asks ------------------------------------------------------------

    async def for_write(self, key_id: str | None) -> WriteKey:
        """The current version of the key a write names (None: the default key, made now if
        the store has none yet). KMS.NotFoundException (400) for a key the store lacks."""
        found = await self._default_id() if key_id is None else key_id_of(key_id)
        current = self._current.get(found)
        if current is None or self._clock() - current[0] > CURRENT_TTL:
            record = await self.meta.kms_key(found)
            if record is None:
                raise not_found(found if key_id is None else key_id)
            self._learn(record)
        number = self._current[found][1]
        return WriteKey(found, number, self._material[(found, number)])

    async def kek(self, key_id: str, version: int) -> bytes:
        """The material of a version, for reading an object written under it; InternalError
        if the store has no such version (the key was removed: the object cannot be read)."""
        cached = self._material.get((key_id, version))
        if cached is not None:
            return cached
        record = await self.meta.kms_key(key_id)
        if record is None or not 1 <= version <= len(record.versions):
            log.error("KMS key %s has no version %d: its objects are lost", key_id, version)
            raise S3Error("InternalError", "The KMS key of this object is not in the store.")
        self._learn(record)
        return self._open(record, version)

    # ---- what the admin API asks -----------------------------------------------------------

    async def create(self, description: str) -> KmsKeyRecord:
        record = self._new_key(description)
        await self.meta.create_kms_key(record)
        self._learn(record)
        return record

    async def rotate(self, key_id: str) -> KmsKeyRecord:
        """Appends a version, current from now on (here at once, on other gateways within
        CURRENT_TTL); KMS.NotFoundException for an unknown key."""
        found = key_id_of(key_id)
        record = await self.meta.rotate_kms_key(found, functools.partial(self._new_version, found))
        if record is None:
            raise not_found(key_id)
        self._learn(record)
        return record

    async def list(self) -> list[KmsKeyRecord]:
        """Every key, oldest first."""
        return sorted(await self.meta.kms_keys(), key=lambda r: (r.created, r.id))

    async def default_id(self) -> str | None:
        """The default key's id; None while no write has needed one."""
        if self._default is None:
            stored = await self.meta.setting(DEFAULT)
            self._default = None if stored is None else stored.decode()
        return self._default

    # ---- inside ----------------------------------------------------------------------------

    async def _default_id(self) -> str:
        if self._default is None:
            record = await self.meta.kms_default()
            if record is None:  # the first write of its store: one gateway's candidate wins
                record = await self.meta.settle_kms_default(self._new_key(DEFAULT_DESCRIPTION))
            self._learn(record)
            self._default = record.id
        return self._default

    def _learn(self, record: KmsKeyRecord) -> None:
        """Takes the record's current version as this worker's, from now for CURRENT_TTL."""
        number = len(record.versions)
        self._open(record, number)
        self._current[record.id] = (self._clock(), number)

    def _open(self, record: KmsKeyRecord, number: int) -> bytes:
        """A version's material, unsealed once per process."""
        cached = self._material.get((record.id, number))
        if cached is not None:
            return cached
        sealed = record.versions[number - 1].sealed
        try:
            material = unseal(self._master, sealed, _aad(record.id, number))
        except ValueError:
            log.error("KMS key %s version %d does not open: another master key?", record.id, number)
            raise S3Error("InternalError") from None
        self._material[(record.id, number)] = material
        return material

    def _new_key(self, description: str) -> KmsKeyRecord:
        key_id = str(uuid.uuid4())
        return KmsKeyRecord(
            id=key_id,
            description=description,
            created=time.time(),
            versions=[self._new_version(key_id, 1)],
        )

    def _new_version(self, key_id: str, number: int) -> KmsKeyVersion:
        sealed = seal(self._master, random_data_key(), _aad(key_id, number))
        return KmsKeyVersion(created=time.time(), sealed=sealed)
