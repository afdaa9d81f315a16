"""Conditional requests (If-Match, If-None-Match, If-(Un)Modified-Since) with S3's precedence."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime

from oxstore.meta.records import ObjectRecord
from oxstore.s3.errors import S3Error

WriteCondition = Callable[[ObjectRecord | None], None]


def _http_date(value: str | None) -> float | None:
    if value is None:  # the common case: no condition (and no exception raised for it)
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def etag_matches(header: str, etag: str) -> bool:
    """True if any entity tag of an If-Match / If-None-Match header names etag ("*" is any)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate.strip('"') == etag:
            return True
    return False


def read_precondition(headers: dict[str, str], etag: str, last_modified: float) -> int | None:
    """The status a GET/HEAD must answer instead of the object (412 or 304), or None.

    S3 order: a true If-Match overrides a false If-Unmodified-Since, a false If-None-Match
    overrides a true If-Modified-Since; HTTP dates compare at whole seconds.
    """
    modified = int(last_modified)
    if_match = headers.get("if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return 412
    else:
        since = _http_date(headers.get("if-unmodified-since"))
        if since is not None and modified > since:
            return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            return 304
    else:
        since = _http_date(headers.get("if-modified-since"))
        if since is not None and modified <= since:
            return 304
    return None


def etag_condition(
    key: str, if_match: str | None, if_none_match: str | None
) -> WriteCondition | None:
    """The If-Match / If-None-Match check of a conditional write or delete (an ETag list or
    "*"), run inside the commit's transaction so that of racing writers exactly one wins; None
    when there is no condition. If-Match on a missing key is NoSuchKey, as S3 answers."""
    if if_none_match is None and if_match is None:
        return None

    def check(current: ObjectRecord | None) -> None:
        if if_match is not None:
            if current is None:
                raise S3Error("NoSuchKey", Key=key)
            if not etag_matches(if_match, current.etag):
                raise S3Error("PreconditionFailed", Condition="If-Match")
        if if_none_match is not None and current is not None:
            if etag_matches(if_none_match, current.etag):
                raise S3Error("PreconditionFailed", Condition="If-None-Match")

    return check
