"""Budgets of rate limits, shared by every worker of every gateway: each budget has a number of
tokens per window of time; a worker leases some of the current window's tokens at a time and
spends them without asking again. A lease takes at most a quarter of what is left (at least what
it needs), so the last tokens of a window are spread over the workers that still want some.
The tokens of one window are never more than its budget, whoever leases them."""

from __future__ import annotations

from oxstore.meta.model.keys import SEP
from oxstore.meta.store import Tx


def _key(name: str, window: int) -> bytes:
    return name.encode() + SEP + window.to_bytes(8, "big")


def lease(tx: Tx, name: str, window: int, budget: int, needed: int) -> int:
    """Takes up to a quarter of the window's tokens left (at least `needed`, if there are);
    returns how many (0: the window's budget is spent). The window before last is forgotten."""
    key = _key(name, window)
    found = tx.counts("rate_windows", key, key + b"\0")
    left = budget - (found[0][1][0] if found else 0)
    if left <= 0:
        return 0
    granted = min(left, max(needed, -(-left // 4)))
    tx.add("rate_windows", key, (granted,))
    if window >= 2:
        tx.delete("rate_windows", _key(name, window - 2))
    return granted
