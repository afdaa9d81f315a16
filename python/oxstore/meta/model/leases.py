"""Leases: work that must run once in a cluster of gateways (the garbage collector, the orphan
sweep) runs only where its lease is held. A lease is a row — name -> until when, holder — taken
when it is free or has expired, and renewed by its holder before it expires; a holder that
dies lets it expire, so the work moves on without anyone having to notice."""

from __future__ import annotations

import struct

from oxstore.meta.store import Tx

_UNTIL = struct.Struct(">d")


def _held(tx: Tx, name: str) -> tuple[float, str] | None:
    raw = tx.get("leases", name.encode())
    if raw is None:
        return None
    return _UNTIL.unpack_from(raw)[0], raw[_UNTIL.size :].decode()


def take(tx: Tx, name: str, holder: str, seconds: float, now: float) -> bool:
    """Takes or renews the lease for `seconds` from now; False while someone else holds it."""
    held = _held(tx, name)
    if held is not None and held[1] != holder and held[0] > now:
        return False
    tx.put("leases", name.encode(), _UNTIL.pack(now + seconds) + holder.encode())
    return True


def release(tx: Tx, name: str, holder: str) -> None:
    """Gives the lease up early (a gateway that stops), if `holder` holds it."""
    held = _held(tx, name)
    if held is not None and held[1] == holder:
        tx.delete("leases", name.encode())
