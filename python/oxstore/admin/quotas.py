"""`?ostor-quotas`: storage quotas of a user (or, with accountName, one of its accounts), of a
bucket, or the defaults for users and buckets (`default=user|bucket`). Set in GB, reported in
bytes; 0 is unlimited; DELETE sets 0, as the document says."""

from __future__ import annotations

import decimal
import re

from oxstore.admin.common import json_response, one_of, row_of
from oxstore.http.request import Response
from oxstore.limits.quotas import DEFAULTS, GB
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error

USER, BUCKET = "0", "1"  # the document's quota types
_DECIMAL = re.compile(r"[0-9]{1,30}(\.[0-9]{1,40})?")  # no sign, no exponent
MAX_BYTES = 2**63 - 1


async def _target(call: Call) -> tuple[str, str, str]:
    """(quota name, its default's name, type) of the user, account, bucket or default the
    call names."""
    named = one_of(call, "emailAddress", "id", "bucket", "default")
    if named is None:
        raise S3Error("InvalidArgument", "Name a user (emailAddress, id), a bucket or a default.")
    kind, value = named
    if kind == "default":
        if value not in DEFAULTS:
            raise S3Error("InvalidArgument", "default is user or bucket.")
        return DEFAULTS[value], DEFAULTS[value], USER if value == "user" else BUCKET
    name = await row_of(call, kind, value)
    if kind == "bucket":
        return name, DEFAULTS["bucket"], BUCKET
    return name, DEFAULTS["user"], USER


def _answer(kind: str, size: int) -> Response:
    return json_response({"version": "1", "type": kind, "size": str(size)})


async def get_quotas(call: Call) -> Response:
    name, default, kind = await _target(call)
    table = await call.meta.quotas()
    return _answer(kind, table.get(name, table.get(default, 0)))


async def put_quotas(call: Call) -> Response:
    name, _, _ = await _target(call)
    await _set(call, name, _gigabytes(call.req.arg("quota-size")))
    return Response(status=200)


def _gigabytes(raw: str | None) -> int:
    """quota-size in bytes: gigabytes, whole as the document has them or (oxstore's addition)
    a decimal fraction, for quotas below a gigabyte; a part of a byte counts as one (a quota
    asked for is never 0, unlimited); at most MAX_BYTES."""
    if raw is None or not _DECIMAL.fullmatch(raw):
        raise S3Error("InvalidArgument", "quota-size: gigabytes, 0 or more (0: unlimited).")
    size = (decimal.Decimal(raw) * GB).to_integral_value(rounding=decimal.ROUND_CEILING)
    if size > MAX_BYTES:
        raise S3Error("InvalidArgument", f"quota-size: at most {MAX_BYTES // GB} gigabytes.")
    return int(size)


async def delete_quotas(call: Call) -> Response:
    name, _, _ = await _target(call)
    await _set(call, name, 0)
    return Response(status=204)


async def _set(call: Call, name: str, size: int) -> None:
    await call.meta.set_quota(name, size)
    if call.services.quotas is not None:
        call.services.quotas.table.forget()
