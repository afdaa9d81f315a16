"""Server-side encryption of objects, as the S3 layer decides it: the data key a write seals
its bytes under (the native core seals, Python never sees plaintext or keys beyond these
32-byte values), how that key is kept (wrapped in the object's record under the mode's
key-encryption key, bound to the data id), the key a read opens the bytes with, and the
headers that say so.

Built: SSE-S3 (`x-amz-server-side-encryption: AES256`, its KEK derived from the master key).
SSE-C, SSE-KMS, bucket default encryption and encrypted multipart uploads answer 501 until
they are."""

from __future__ import annotations

import functools

from oxstore import _native
from oxstore.meta.records import Encryption, ObjectRecord
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.sse import SSE, EncryptionAsked

SSE_S3 = "AES256"


def not_built(what: str) -> S3Error:
    return S3Error("NotImplemented", f"{what} is not implemented yet.", Header=SSE)


def check_built(asked: EncryptionAsked | None) -> None:
    """Refuses the encryption modes not built yet."""
    if asked is not None and asked.mode != SSE_S3:
        raise not_built("SSE-C" if asked.mode == "SSE-C" else "SSE-KMS")


def new_data_key(asked: EncryptionAsked | None) -> bytes | None:
    """A fresh data key for a write that asks to be encrypted (None: it does not)."""
    check_built(asked)
    return None if asked is None else _native.random_data_key()


def envelope(call: Call, data_key: bytes | None, data_id: str) -> Encryption | None:
    """What the record keeps of a data key: wrapped under the SSE-S3 KEK, bound to the data
    id (copies share the data, and so the envelope; an inline payload has no data id and is
    kept in the very record its key is)."""
    if data_key is None:
        return None
    wrapped = _native.wrap_data_key(_kek(_master(call)), data_key, data_id)
    return Encryption(mode=SSE_S3, wrapped_key=wrapped)


def data_key(call: Call, record: ObjectRecord) -> bytes | None:
    """The key a read of the record's bytes opens them with (None: stored as sent)."""
    found = record.encryption
    if found is None:
        return None
    if found.mode != SSE_S3:
        raise S3Error("InternalError", f"an object encrypted by {found.mode!r}")
    return _native.unwrap_data_key(_kek(_master(call)), found.wrapped_key, record.data_id)


def headers(record: ObjectRecord) -> list[tuple[str, str]]:
    """What the answers to a write, GET and HEAD say of the object's encryption."""
    return [(SSE, record.encryption.mode)] if record.encryption is not None else []


def _master(call: Call) -> bytes:
    keys = call.services.keys
    assert keys is not None
    return keys.master


@functools.lru_cache(maxsize=4)
def _kek(master: bytes) -> bytes:
    return _native.sse_s3_kek(master)
