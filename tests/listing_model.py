"""A brute-force model of S3's listing order and roll-up, shared by the metadata and S3 tests."""

from __future__ import annotations

# Keys a listing test puts into a bucket: nested prefixes, neighbours of the delimiter, and
# characters of 2, 3 and 4 UTF-8 bytes, whose byte order is S3's order.
SAMPLE_KEYS = [
    "a", "a/b", "a/b/c", "a/c", "a/d/e", "ab", "b/1", "b/2", "b/3/4", "c",
    "photos/2024/x.jpg", "photos/2024/y.jpg", "photos/2025/z.jpg", "photos/readme",
    "z~", "é/one", "é/two", "日本/語", "space key/x", "😀/emoji",
]  # fmt: skip


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
