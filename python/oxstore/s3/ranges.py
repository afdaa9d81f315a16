"""The Range header of GetObject: one byte range, as S3 reads it."""

from __future__ import annotations

import re

from oxstore.s3.errors import S3Error

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) for a satisfiable range; None means the whole object.

    Malformed or multi-range headers are ignored like S3 does; unsatisfiable ones raise
    InvalidRange (416).
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - length), size
    start = int(first)
    end = int(last) + 1 if last else size
    if last and end <= start:
        return None
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, min(end, size)


def _unsatisfiable(header: str, size: int) -> S3Error:
    error = S3Error("InvalidRange", RangeRequested=header, ActualObjectSize=str(size))
    error.headers.append(("content-range", f"bytes */{size}"))  # RFC 9110: the size it has
    return error
