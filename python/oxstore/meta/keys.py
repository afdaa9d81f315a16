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
