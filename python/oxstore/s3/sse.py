"""What a request asks of server-side encryption, from its headers: SSE-S3
(`x-amz-server-side-encryption: AES256`), SSE-KMS (`aws:kms`, with a key id of the keyring or
the default key) or SSE-C (the three `x-amz-server-side-encryption-customer-*` headers, or
their `x-amz-copy-source-…` twins for a copy's source). Checked here, at the door, with the
errors S3 answers; the customer's key is held only in memory for the request."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from typing import Literal

import msgspec

from oxstore.s3.errors import S3Error

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
METHODS = ("AES256", "aws:kms")
CUSTOMER_HEADERS = ("algorithm", "key", "key-md5")  # after CUSTOMER or COPY_SOURCE_CUSTOMER

Mode = Literal["AES256", "aws:kms", "SSE-C"]


class CustomerKey(msgspec.Struct, frozen=True):
    """A customer's key as a request sent it (never stored) and the MD5 it was sent with
    (answered back, base64)."""

    key: bytes
    key_md5: str

    def __repr__(self) -> str:  # never in a log or a traceback
        return f"CustomerKey(key_md5={self.key_md5!r})"


class EncryptionAsked(msgspec.Struct, frozen=True):
    """How a write asks its object to be encrypted."""

    mode: Mode
    kms_key_id: str | None = None
    customer: CustomerKey | None = None


def asked_on_write(headers: Mapping[str, str], secure: bool) -> EncryptionAsked | None:
    """The encryption a PUT, copy, POST or CreateMultipartUpload asks for; None for none.
    secure: the request came over TLS or from this host (SSE-C needs one of them)."""
    method = headers.get(SSE)
    key_id = headers.get(KMS_KEY_ID)
    customer = customer_key(headers, CUSTOMER, secure)
    if customer is not None:
        if method is not None or key_id is not None:
            raise S3Error(
                "InvalidArgument",
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified",
                ArgumentName=SSE,
                ArgumentValue=method or "",
            )
        return EncryptionAsked(mode="SSE-C", customer=customer)
    if method is None:
        if key_id is not None:
            raise _needs_kms(key_id)
        return None
    if method not in METHODS:
        raise S3Error(
            "InvalidArgument",
            "The encryption method specified is not supported",
            ArgumentName=SSE,
            ArgumentValue=method,
        )
    if method == "AES256" and key_id is not None:
        raise _needs_kms(key_id)
    return EncryptionAsked(mode="aws:kms" if method == "aws:kms" else "AES256", kms_key_id=key_id)


def refuse_on_read(headers: Mapping[str, str]) -> None:
    """GET and HEAD choose no encryption: `x-amz-server-side-encryption` on them is an
    error (the customer-key headers are how SSE-C objects are read)."""
    if SSE in headers or KMS_KEY_ID in headers:
        name = SSE if SSE in headers else KMS_KEY_ID
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with AWS KMS managed keys or "
            "Server Side Encryption with Amazon S3 managed keys are not allowed on reads.",
            ArgumentName=name,
            ArgumentValue=headers[name],
        )


def customer_key(headers: Mapping[str, str], prefix: str, secure: bool) -> CustomerKey | None:
    """The customer key the `prefix`-algorithm, -key and -key-MD5 headers send (all three,
    algorithm AES256, a 256-bit key whose MD5 they give); None when none of them is sent."""
    algorithm = headers.get(prefix + "algorithm")
    encoded = headers.get(prefix + "key")
    md5 = headers.get(prefix + "key-md5")
    if algorithm is None and encoded is None and md5 is None:
        return None
    if not secure:
        raise S3Error(
            "InvalidRequest",
            "Requests specifying Server Side Encryption with Customer provided keys must be "
            "made over a secure connection.",
        )
    if algorithm is None:
        raise _customer_error(prefix, "algorithm", "must provide a valid encryption algorithm.")
    if algorithm != "AES256":
        raise S3Error(
            "InvalidEncryptionAlgorithmError",
            ArgumentName=prefix + "algorithm",
            ArgumentValue=algorithm,
        )
    if encoded is None:
        raise _customer_error(prefix, "key", "must provide an appropriate secret key.")
    if md5 is None:
        raise _customer_error(
            prefix, "key-MD5", "must provide the client calculated MD5 of the secret key."
        )
    key = _base64(encoded)
    if key is None or len(key) != 32:
        raise S3Error(
            "InvalidArgument",
            "The secret key was invalid for the specified algorithm.",
            ArgumentName=prefix + "key",
        )
    sent = _base64(md5)
    if sent is None or not hmac.compare_digest(sent, hashlib.md5(key).digest()):
        raise S3Error(
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            ArgumentName=prefix + "key-MD5",
        )
    return CustomerKey(key=key, key_md5=md5)


def is_secure(client: str, tls: bool, allow_plain_http: bool) -> bool:
    """Whether SSE-C keys may come over this connection: TLS, the loopback, or the operator
    allows plain http (a TLS proxy in front)."""
    if tls or allow_plain_http:
        return True
    host = client.rsplit(":", 1)[0].strip("[]") if client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _customer_error(prefix: str, header: str, says: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        f"Requests specifying Server Side Encryption with Customer provided keys {says}",
        ArgumentName=prefix + header,
    )


def _needs_kms(key_id: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        "Server Side Encryption with AWS KMS managed key requires HTTP header "
        "x-amz-server-side-encryption : aws:kms",
        ArgumentName=KMS_KEY_ID,
        ArgumentValue=key_id,
    )
