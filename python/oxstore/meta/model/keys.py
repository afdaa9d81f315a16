"""How the model spells its table keys, and the roll-up of keys into common prefixes.

Object keys are UTF-8 bytes (lone surrogates kept with "surrogatepass"), whose byte order is
S3's listing order. In a table key an object key is escaped (0x00 -> 0x00 0xFF) and ended with
0x00 0x00: the order stays the listing order, nothing can be mistaken for the end of a key, and
what follows (a version's place, an upload id) sorts within its key.
"""

from __future__ import annotations

SEP = b"\0"  # after a bucket name (which never holds one)
END = b"\0\0"  # after an escaped object key
SEQ_MAX = 2**64 - 1


def key_bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def key_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def after_prefix(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with prefix.

    None when there is none (prefix empty or all 0xFF bytes; UTF-8 never contains 0xFF, so for
    keys this only happens for the empty prefix).
    """
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def escaped(raw: bytes) -> bytes:
    return raw.replace(b"\0", b"\0\xff")


def in_bucket(bucket: str) -> bytes:
    """Where a bucket's keys start in a table."""
    return bucket.encode() + SEP


def bucket_end(bucket: str) -> bytes:
    return bucket.encode() + b"\x01"


def object_key(bucket: str, raw: bytes) -> bytes:
    """An object's key in `objects` and `upload_keys`, and the start of its `versions`."""
    return in_bucket(bucket) + escaped(raw) + END


def prefix_start(bucket: str, raw_prefix: bytes) -> bytes:
    """Where the keys that start with raw_prefix start (they all sort below prefix_end)."""
    return in_bucket(bucket) + escaped(raw_prefix)


def prefix_end(bucket: str, raw_prefix: bytes) -> bytes:
    end = after_prefix(prefix_start(bucket, raw_prefix))
    assert end is not None  # a bucket name is never empty
    return end


def version_key(bucket: str, raw: bytes, seq: int) -> bytes:
    """A version's key in `versions` and `payloads`: its object's, then newest first."""
    return object_key(bucket, raw) + (SEQ_MAX - seq).to_bytes(8, "big")


def raw_key(table_key: bytes, bucket: str, tail: int = 0) -> bytes:
    """The object key inside a table key of the bucket (tail: bytes after the key's END)."""
    body = table_key[len(bucket) + 1 : len(table_key) - tail - len(END)]
    return body.replace(b"\0\xff", b"\0")


def seq_of(version: bytes) -> int:
    """The seq a version's table key ends with."""
    return SEQ_MAX - int.from_bytes(version[-8:], "big")


def upload_key(bucket: str, raw: bytes, upload_id: str) -> bytes:
    return object_key(bucket, raw) + upload_id.encode()


def part_key(upload_id: str, number: int) -> bytes:
    return upload_id.encode() + SEP + number.to_bytes(4, "big")


def parts_of(upload_id: str) -> tuple[bytes, bytes]:
    """The range of an upload's parts."""
    start = upload_id.encode() + SEP
    return start, upload_id.encode() + b"\x01"


class Rollup:
    """What every listing with a delimiter does: roll keys up into common prefixes and seek
    past all keys of a prefix listed already."""

    def __init__(self, prefix: str, delimiter: str) -> None:
        self.prefix = key_bytes(prefix)
        self.delimiter = key_bytes(delimiter)
        self.upper = after_prefix(self.prefix)  # the end of the listing's range (exclusive)

    def rolled_up(self, key: bytes) -> bytes | None:
        """The common prefix key rolls up into, or None when it is listed itself."""
        if not self.delimiter or not key.startswith(self.prefix):
            return None
        at = key.find(self.delimiter, len(self.prefix))
        return key[: at + len(self.delimiter)] if at >= 0 else None

    def beyond(self, common: bytes) -> bytes | None:
        """The first key after every key that starts with common; None past the range."""
        after = after_prefix(common)
        if after is None or (self.upper is not None and after >= self.upper):
            return None
        return after


def of_bucket(name: str) -> str:
    """How the quotas and limits tables name a bucket's row."""
    return f"bucket/{name}"


def of_owner(owner_id: str) -> str:
    """How the quotas and limits tables name an owner's row."""
    return f"owner/{owner_id}"
