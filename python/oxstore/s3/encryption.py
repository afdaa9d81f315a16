"""Server-side encryption of objects, as the S3 layer decides it: the data key a write seals
its bytes under and the key-encryption key (KEK) that wraps it for the record, the key a read
opens the bytes with, and the headers that say so. The native core seals and opens; Python
sees only these 32-byte keys.

The KEK of each mode: SSE-S3 ("AES256") one derived from the server's master key; SSE-KMS
("aws:kms") a version of a key of the built-in keyring (oxstore.kms); SSE-C the customer's key,
sent with every request that touches the bytes and never stored (a keyed hash of it tells a
wrong one). The wrapped key is bound to the data id, so a copy that shares data re-wraps
the same data key under its own KEK and writes no byte."""

from __future__ import annotations

import functools
from typing import Final

import msgspec

from oxstore import _native
from oxstore.kms import KmsKeys
from oxstore.meta.model.heal import SealedFile
from oxstore.meta.records import BucketRecord, Encryption
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error
from oxstore.s3.sse import (
    COPY_SOURCE_CUSTOMER,
    CUSTOMER,
    CUSTOMER_HEADERS,
    KMS_KEY_ID,
    SSE,
    CustomerKey,
    EncryptionAsked,
    Mode,
    customer_key,
)

SSE_S3: Final = "AES256"
SSE_KMS: Final = "aws:kms"
SSE_C: Final = "SSE-C"
MISSING_KEY = (
    "The object was stored using a form of Server Side Encryption. The correct parameters must "
    "be provided to retrieve the object."
)
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
KMS_NEEDS_SIGV4 = (
    "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS "
    "Signature Version 4."
)


class Sealing(msgspec.Struct, frozen=True, kw_only=True):
    """What a write seals its bytes under: the data key, and the KEK (with what names it) its
    envelope wraps it under."""

    data_key: bytes
    mode: Mode
    kek: bytes
    kms_key: str = ""
    kms_version: int = 0
    customer: CustomerKey | None = None

    def __repr__(self) -> str:  # never a key in a log or a traceback
        return f"Sealing(mode={self.mode!r}, kms_key={self.kms_key!r})"


async def sealing(
    call: Call, asked: EncryptionAsked | None, data_key: bytes | None = None
) -> Sealing | None:
    """How a write that asks for encryption seals (None: it does not ask), under a fresh data
    key or `data_key` (a copy re-wrapping its source's). An unknown KMS key: 400."""
    if asked is None:
        return None
    key = data_key if data_key is not None else _native.random_data_key()
    if asked.mode == SSE_C:
        assert asked.customer is not None
        return Sealing(data_key=key, mode=SSE_C, kek=asked.customer.key, customer=asked.customer)
    if asked.mode == SSE_KMS:
        _check_signature_v4(call)
        kms = call.services.kms
        assert kms is not None
        found = await kms.for_write(asked.kms_key_id)
        return Sealing(
            data_key=key,
            mode=SSE_KMS,
            kek=found.kek,
            kms_key=found.key_id,
            kms_version=found.version,
        )
    return Sealing(data_key=key, mode=SSE_S3, kek=_sse_s3_kek(_master(call)))


def envelope(call: Call, sealed: Sealing | None, data_id: str) -> Encryption | None:
    """What the record keeps of a data key: wrapped under its KEK, bound to the data id (an
    inline payload has none and is kept in the very record its key is)."""
    if sealed is None:
        return None
    wrapped = _native.wrap_data_key(sealed.kek, sealed.data_key, data_id)
    customer = sealed.customer
    if customer is None:
        return Encryption(
            mode=sealed.mode,
            wrapped_key=wrapped,
            kms_key=sealed.kms_key,
            kms_version=sealed.kms_version,
        )
    check = _native.customer_key_check(_master(call), customer.key, data_id)
    return Encryption(mode=SSE_C, wrapped_key=wrapped, key_md5=customer.key_md5, key_check=check)


async def opened(
    call: Call, found: Encryption | None, data_id: str, *, copy_source: bool = False
) -> bytes | None:
    """The data key that opens bytes kept under `found` (None: stored as sent), given the
    customer key the request sends (in its copy-source headers for a copy's source): an
    SSE-C object needs its own, any other object none. Either mistake is 400, before any
    byte is read."""
    prefix = COPY_SOURCE_CUSTOMER if copy_source else CUSTOMER
    headers = call.req.headers
    customer = None
    if any(prefix + part in headers for part in CUSTOMER_HEADERS):  # (call.secure costs)
        customer = customer_key(headers, prefix, call.secure)
    if found is None or found.mode != SSE_C:
        if customer is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        if found is None:
            return None
        if found.mode == SSE_KMS:
            _check_signature_v4(call)
        return _native.unwrap_data_key(await _kek_of(call, found), found.wrapped_key, data_id)
    if customer is None:
        raise S3Error("InvalidRequest", MISSING_KEY)
    if not _native.customer_key_matches(_master(call), customer.key, data_id, found.key_check):
        raise S3Error(
            "InvalidArgument",
            "The provided customer key does not match the key the object was encrypted with.",
            ArgumentName=CUSTOMER + "key",
        )
    return _native.unwrap_data_key(customer.key, found.wrapped_key, data_id)


def _check_signature_v4(call: Call) -> None:
    """SSE-KMS objects are written and read by SigV4-signed requests only, as in S3 (SigV2,
    anonymous: 400)."""
    if not call.auth.scope:
        raise S3Error("InvalidArgument", KMS_NEEDS_SIGV4)


def etag(sealed: Sealing | None, md5_hex: str) -> str:
    """The ETag of bytes written sealed: SSE-S3 keeps the MD5, as S3 does; SSE-C and SSE-KMS
    answer a value keyed by the data key (S3's is not the MD5 either), so the record does not
    hand out a digest of the plaintext that its key protects."""
    if sealed is None:
        return md5_hex
    return _keyed_etag(sealed.mode, sealed.data_key, md5_hex)


def part_etag(found: Encryption | None, part_key: bytes | None, md5_hex: str) -> str:
    """A part's ETag, as etag() for the upload's encryption (keyed by the part's own key)."""
    if found is None or part_key is None:
        return md5_hex
    return _keyed_etag(found.mode, part_key, md5_hex)


def _keyed_etag(mode: str, data_key: bytes, md5_hex: str) -> str:
    if mode == SSE_S3:
        return md5_hex
    return _native.hmac_sha256(data_key, bytes.fromhex(md5_hex))[:16].hex()


def headers(found: Encryption | None) -> list[tuple[str, str]]:
    """What the answers to a write, GET and HEAD say of the object's encryption."""
    if found is None:
        return []
    if found.mode == SSE_C:
        return [(CUSTOMER + "algorithm", "AES256"), (CUSTOMER + "key-md5", found.key_md5)]
    if found.mode == SSE_KMS:
        return [(SSE, SSE_KMS), (KMS_KEY_ID, found.kms_key)]
    return [(SSE, found.mode)]


def asked_for(bucket: BucketRecord, asked: EncryptionAsked | None) -> EncryptionAsked | None:
    """The encryption of a write into the bucket: what it asks for, else the bucket's
    default."""
    default = bucket.default_encryption
    if asked is not None or default is None:
        return asked
    if default.algorithm == SSE_KMS:
        return EncryptionAsked(mode=SSE_KMS, kms_key_id=default.kms_key or None)
    return EncryptionAsked(mode=SSE_S3)


async def _kek_of(call: Call, found: Encryption) -> bytes:
    kms = call.services.kms
    assert kms is not None
    return await _kek(found, _master(call), kms)


async def _kek(found: Encryption, master: bytes, kms: KmsKeys) -> bytes:
    if found.mode == SSE_S3:
        return _sse_s3_kek(master)
    if found.mode == SSE_KMS:
        return await kms.kek(found.kms_key, found.kms_version)
    raise S3Error("InternalError", f"an object encrypted by {found.mode!r}")


async def server_held_key(
    sealed: SealedFile, data_id: str, master: bytes, kms: KmsKeys
) -> bytes | None:
    """The data key of a sealed file the server can open by itself (SSE-S3, SSE-KMS), for the
    scrubber; None for SSE-C, whose key only its customer has."""
    found = sealed.envelope
    if found.mode == SSE_C:
        return None
    kek = await _kek(found, master, kms)
    key = _native.unwrap_data_key(kek, found.wrapped_key, sealed.bound_to)
    return _native.part_data_key(key, sealed.part, data_id) if sealed.part else key


def _master(call: Call) -> bytes:
    keys = call.services.keys
    assert keys is not None
    return keys.master


@functools.lru_cache(maxsize=4)
def _sse_s3_kek(master: bytes) -> bytes:
    return _native.sse_s3_kek(master)
