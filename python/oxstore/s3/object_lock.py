"""Object lock's rules: the documents of ?object-lock, ?retention and ?legal-hold, the
x-amz-object-lock-* headers of writes, and what a version's retention and legal hold allow.

A version is locked while it is under legal hold, or its retention date is ahead: then it
cannot be deleted (a delete without a version id adds a delete marker, which is allowed), and
its retention may only be extended; GOVERNANCE retention may be shortened, removed or turned
into COMPLIANCE by who may bypass governance (x-amz-bypass-governance-retention: true, and
the permission); COMPLIANCE never softens. The checks run inside the delete's or change's own
transaction (meta.model), on the record as it is stored."""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from oxstore.meta.records import LockConfig, ObjectRecord, UploadRecord
from oxstore.s3.errors import S3Error
from oxstore.s3.xml import document, el, epoch_of_iso8601, group, parse

MODES = ("GOVERNANCE", "COMPLIANCE")
MAX_BODY = 16 * 1024
DAY = 86400.0
BYPASS = "x-amz-bypass-governance-retention"


class Lock(msgspec.Struct, frozen=True):
    """A version's retention and legal hold (mode "" : no retention)."""

    mode: str = ""
    retain_until: float = 0.0
    legal_hold: bool = False


def of(record: ObjectRecord | UploadRecord) -> Lock:
    return Lock(record.lock_mode, record.retain_until, record.legal_hold)


def fields(lock: Lock) -> dict[str, Any]:
    """The record fields (ObjectRecord, UploadRecord) of a lock."""
    return {
        "lock_mode": lock.mode,
        "retain_until": lock.retain_until,
        "legal_hold": lock.legal_hold,
    }


def retained(lock: Lock, now: float | None = None) -> bool:
    return bool(lock.mode) and lock.retain_until > (time.time() if now is None else now)


def check_deletable(record: ObjectRecord, bypass: bool) -> None:
    """A version may be removed only while neither held nor retained (GOVERNANCE: unless
    bypassed). AccessDenied, as S3 answers."""
    lock = of(record)
    if lock.legal_hold:
        raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")
    if retained(lock) and not (lock.mode == "GOVERNANCE" and bypass):
        raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")


def check_retention_change(old: Lock, mode: str, until: float, bypass: bool) -> None:
    """Whether a version's retention may become (mode, until) ("" and 0: removed)."""
    if not retained(old):
        return
    if old.mode == "COMPLIANCE":
        if mode != "COMPLIANCE" or until < old.retain_until:
            raise S3Error("AccessDenied")
        return
    # GOVERNANCE: extending it keeps the mode; anything else needs the bypass
    if not (mode == "GOVERNANCE" and until >= old.retain_until) and not bypass:
        raise S3Error("AccessDenied")


# ---- documents -----------------------------------------------------------------------------


MAX_DAYS, MAX_YEARS = 36500, 100  # a default retention's longest period


def parse_configuration(body: bytes) -> LockConfig:
    root = parse(body, MAX_BODY)
    if root.tag != "ObjectLockConfiguration":
        raise S3Error("MalformedXML")
    if (root.findtext("ObjectLockEnabled") or "").strip() != "Enabled":
        raise S3Error("MalformedXML")
    rule = root.find("Rule")
    if rule is None:
        return LockConfig()
    default = rule.find("DefaultRetention")
    if default is None:
        raise S3Error("MalformedXML")
    mode = (default.findtext("Mode") or "").strip()
    days, years = default.findtext("Days"), default.findtext("Years")
    if mode not in MODES or (days is None) == (years is None):
        raise S3Error("MalformedXML")
    try:
        count = int((days if days is not None else years or "").strip())
    except ValueError as exc:
        raise S3Error("MalformedXML") from exc
    # at most 100 years (as MinIO bounds it): a retain-until date must stay a date clients
    # can read, or a COMPLIANCE default would make versions neither readable nor deletable
    if count <= 0 or count > (MAX_DAYS if days is not None else MAX_YEARS):
        raise S3Error("InvalidRetentionPeriod")
    if days is not None:
        return LockConfig(default_mode=mode, default_days=count)
    return LockConfig(default_mode=mode, default_years=count)


def render_configuration(config: LockConfig) -> bytes:
    children = [el("ObjectLockEnabled", "Enabled")]
    if config.default_mode:
        period = (
            el("Days", config.default_days)
            if config.default_days
            else el("Years", config.default_years)
        )
        retention = group("DefaultRetention", [el("Mode", config.default_mode), period])
        children.append(group("Rule", [retention]))
    return document("ObjectLockConfiguration", children)


def parse_retention(body: bytes) -> tuple[str, float]:
    """A Retention document: (mode, retain-until epoch seconds)."""
    root = parse(body, MAX_BODY)
    if root.tag != "Retention":
        raise S3Error("MalformedXML")
    mode = (root.findtext("Mode") or "").strip()
    until_text = (root.findtext("RetainUntilDate") or "").strip()
    if not mode and not until_text:
        return "", 0.0
    if mode not in MODES or not until_text:
        raise S3Error("MalformedXML")
    return mode, _future_date(until_text, "RetainUntilDate")


def render_retention(lock: Lock) -> bytes:
    return document(
        "Retention",
        [el("Mode", lock.mode), el("RetainUntilDate", iso(lock.retain_until))],
    )


def parse_legal_hold(body: bytes) -> bool:
    root = parse(body, MAX_BODY)
    status = (root.findtext("Status") or "").strip() if root.tag == "LegalHold" else ""
    if status not in ("ON", "OFF"):
        raise S3Error("MalformedXML")
    return status == "ON"


def render_legal_hold(held: bool) -> bytes:
    return document("LegalHold", [el("Status", "ON" if held else "OFF")])


# ---- headers -------------------------------------------------------------------------------


def asked_on_write(headers: Mapping[str, str]) -> Lock | None:
    """What the x-amz-object-lock-* headers of a PUT, copy, POST or CreateMultipartUpload ask
    for (None: none of them is sent)."""
    mode = headers.get("x-amz-object-lock-mode")
    until = headers.get("x-amz-object-lock-retain-until-date")
    hold = headers.get("x-amz-object-lock-legal-hold")
    if mode is None and until is None and hold is None:
        return None
    if (mode is None) != (until is None):
        raise S3Error(
            "InvalidArgument",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    if mode is not None and mode not in MODES:
        raise S3Error(
            "InvalidArgument",
            "Unknown wormMode directive.",
            ArgumentName="x-amz-object-lock-mode",
            ArgumentValue=mode,
        )
    if hold is not None and hold not in ("ON", "OFF"):
        raise S3Error(
            "InvalidArgument",
            "Legal Hold must be either of 'ON' or 'OFF'",
            ArgumentName="x-amz-object-lock-legal-hold",
            ArgumentValue=hold,
        )
    retain_until = _future_date(until, "x-amz-object-lock-retain-until-date") if until else 0.0
    return Lock(mode or "", retain_until, hold == "ON")


def for_new_version(asked: Lock | None, config: LockConfig | None, now: float) -> Lock:
    """A new version's lock: what its write asks for, else the bucket's default retention."""
    if config is None:
        if asked is not None:
            raise S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration")
        return Lock()
    if asked is not None and asked.mode:
        return asked
    held = asked.legal_hold if asked is not None else False
    if not config.default_mode:
        return Lock(legal_hold=held)
    period = config.default_days * DAY if config.default_days else config.default_years * 365 * DAY
    return Lock(config.default_mode, now + period, held)


def for_write(
    asked: Lock | None, bucket_lock: LockConfig | None, digest: bool = True
) -> dict[str, Any]:
    """The lock fields of a version a write makes; digest: the write's body carries
    Content-MD5 or an x-amz-checksum (S3 requires one for a retained upload)."""
    lock = for_new_version(asked, bucket_lock, time.time())
    if lock.mode and not digest:
        raise S3Error(
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
            "with Object Lock parameters",
        )
    return fields(lock)


def headers(record: ObjectRecord) -> list[tuple[str, str]]:
    """What GET and HEAD say of a version's lock."""
    found: list[tuple[str, str]] = []
    if record.lock_mode:
        found.append(("x-amz-object-lock-mode", record.lock_mode))
        found.append(("x-amz-object-lock-retain-until-date", iso(record.retain_until)))
    if record.legal_hold:
        found.append(("x-amz-object-lock-legal-hold", "ON"))
    return found


def iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _future_date(text: str, name: str) -> float:
    epoch = epoch_of_iso8601(text)
    if epoch is None:
        raise S3Error(
            "InvalidArgument",
            "The retain until date must be provided in ISO 8601 format",
            ArgumentName=name,
        )
    if epoch <= time.time():
        raise S3Error(
            "InvalidArgument",
            "The retain until date must be in the future!",
            ArgumentName=name,
        )
    return epoch
