"""`?ostor-limits`: operation limits (default, get, put, list, delete; set per minute, reported
per second, as the document's samples show) and outgoing bandwidth (`out`, kB/s) of a user (or,
with accountName, one of its accounts) or of a bucket. 0 is unlimited; a user or bucket with no
limit set answers 404 NoSuchLimits to GET."""

from __future__ import annotations

from oxstore.admin.common import json_response, one_of, row_of
from oxstore.http.request import Response
from oxstore.limits.rates import (
    OP_KINDS,
    Limits,
    decode_limits,
    encode_limits,
)
from oxstore.s3.context import Call
from oxstore.s3.errors import S3Error


async def _target(call: Call) -> str:
    named = one_of(call, "emailAddress", "id", "bucket")
    if named is None:
        raise S3Error("InvalidArgument", "Name a user (emailAddress, id) or a bucket.")
    return await row_of(call, *named)


async def _stored(call: Call, name: str) -> Limits | None:
    raw = (await call.meta.limits()).get(name)
    return decode_limits(raw) if raw is not None else None


def _shown(value: float) -> str:
    return f"{value:.2f}" if value else "0"


async def get_limits(call: Call) -> Response:
    limits = await _stored(call, await _target(call))
    if limits is None:
        raise S3Error("NoSuchLimits")
    shown = {f"ops:{kind}": _shown(limits.ops.get(kind, 0.0) / 60) for kind in OP_KINDS}
    return json_response({**shown, "bandwidth:out": _shown(limits.out)})


def _number(call: Call, name: str, default: float) -> float:
    raw = call.req.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise S3Error("InvalidArgument", f"{name}: a number, 0 or more (0: unlimited).")
    return value


# the arguments that name whose limits a call is about (and the admin API's own, ignored here)
TARGET_ARGS = frozenset({"ostor-limits", "emailAddress", "id", "bucket", "accountName"})
KIND_ARGS = {"ops": frozenset({"ops", *OP_KINDS}), "bandwidth": frozenset({"bandwidth", "out"})}


def _check_arguments(call: Call, kind: str) -> None:
    """The document: 400 for a wrong set of parameters (one of another kind, an unknown one,
    a kind's value left empty)."""
    for name, value in call.req.query:
        if name in TARGET_ARGS or name.lower().startswith("x-amz-"):
            continue
        if name not in KIND_ARGS[kind]:
            raise S3Error("InvalidArgument", f"{name} is not a parameter of {kind} limits.")
        if name != kind and value == "":
            raise S3Error("InvalidArgument", f"{name}: a number, 0 or more (0: unlimited).")


async def put_limits(call: Call) -> Response:
    name = await _target(call)
    which = one_of(call, "ops", "bandwidth")
    if which is None:
        raise S3Error("InvalidArgument", "Set either ops or bandwidth limits.")
    _check_arguments(call, which[0])
    limits = await _stored(call, name) or Limits()
    if which[0] == "ops":
        default = _number(call, "default", 0.0)
        limits.ops = {kind: _number(call, kind, default) for kind in OP_KINDS[1:]}
        limits.ops["default"] = default
    else:
        limits.out = _number(call, "out", 0.0)
    await _save(call, name, limits)
    return Response(status=200)


async def delete_limits(call: Call) -> Response:
    name = await _target(call)
    ops, bandwidth = call.req.has_arg("ops"), call.req.has_arg("bandwidth")
    if not ops and not bandwidth:  # both are optional in the document: neither removes both
        ops = bandwidth = True
    limits = await _stored(call, name) or Limits()
    if ops:
        limits.ops = {}
    if bandwidth:
        limits.out = 0.0
    await _save(call, name, limits)
    return Response(status=204)


async def _save(call: Call, name: str, limits: Limits) -> None:
    unset = not any(limits.ops.values()) and not limits.out
    await call.meta.set_limits(name, None if unset else encode_limits(limits))
    if call.services.limiter is not None:
        call.services.limiter.table.forget()
