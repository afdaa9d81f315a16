"""Object keys as the metadata store holds them: UTF-8 bytes whose order is S3's listing order.

Lone surrogates (keys that are not valid UTF-8 as sent) are kept with "surrogatepass".
"""

from __future__ import annotations


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
