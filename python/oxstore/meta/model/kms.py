"""The KMS keyring's records (oxstore.kms): rows of the settings table, `kms-key/<id>` for each
key and `kms-default` naming the store's default key. The model stores sealed material only;
sealing and opening it is the keyring's."""

from __future__ import annotations

from collections.abc import Callable

from oxstore.meta.records import KmsKeyRecord, KmsKeyVersion, decode_kms_key, encode_record
from oxstore.meta.store import Tx

PREFIX = b"kms-key/"
END = b"kms-key0"  # the first name after every PREFIX one ("0" follows "/")
DEFAULT = b"kms-default"  # settings: the default key's id (aws:kms without a key id)


def _name(key_id: str) -> bytes:
    return PREFIX + key_id.encode()


def get(tx: Tx, key_id: str) -> KmsKeyRecord | None:
    raw = tx.get("settings", _name(key_id))
    return None if raw is None else decode_kms_key(raw)


def put(tx: Tx, record: KmsKeyRecord) -> None:
    tx.put("settings", _name(record.id), encode_record(record))


def every(tx: Tx) -> list[KmsKeyRecord]:
    return [decode_kms_key(raw) for _, raw in tx.scan("settings", PREFIX, END)]


def default(tx: Tx) -> KmsKeyRecord | None:
    key_id = tx.get("settings", DEFAULT)
    return None if key_id is None else get(tx, key_id.decode())


def settle_default(tx: Tx, candidate: KmsKeyRecord) -> KmsKeyRecord:
    """The default key: the one set, or `candidate`, stored now with the setting that names it
    (one transaction: gateways racing to make it agree on one, and no default is ever without
    its record)."""
    found = default(tx)
    if found is not None:
        return found
    put(tx, candidate)
    tx.put("settings", DEFAULT, candidate.id.encode())
    return candidate


def rotate(tx: Tx, key_id: str, new_version: Callable[[int], KmsKeyVersion]) -> KmsKeyRecord | None:
    """Appends a version (new_version(its number)) to the key; None if there is no such key."""
    record = get(tx, key_id)
    if record is None:
        return None
    record.versions = [*record.versions, new_version(len(record.versions) + 1)]
    put(tx, record)
    return record
