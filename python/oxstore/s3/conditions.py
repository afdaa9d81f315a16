"""Conditional requests (If-Match, If-None-Match, If-(Un)Modified-Since) with S3's precedence."""

from __future__ import annotations

from email.utils import parsedate_to_datetime


def _http_date(value: str) -> float | None:
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
        since = _http_date(headers.get("if-unmodified-since", ""))
        if since is not None and modified > since:
            return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            return 304
    else:
        since = _http_date(headers.get("if-modified-since", ""))
        if since is not None and modified <= since:
            return 304
    return None
