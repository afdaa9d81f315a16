"""A brute-force model of S3's listing order and roll-up, shared by the metadata and S3 tests."""

from __future__ import annotations


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def model(keys: list[str], prefix: str, delimiter: str, after: str) -> list[tuple[str, bool]]:
    """Every entry S3 lists after `after`, in order: (key, False) or (common prefix, True)."""
    out: list[tuple[str, bool]] = []
    for key in sorted(keys, key=utf8):
        if not key.startswith(prefix):
            continue
        entry, rolled = key, False
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                entry, rolled = key[: at + len(delimiter)], True
        if utf8(entry) <= utf8(after) or (out and out[-1][0] == entry):
            continue
        out.append((entry, rolled))
    return out
