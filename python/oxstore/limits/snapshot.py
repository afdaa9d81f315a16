"""A small table (quotas, limits) as one worker last read it: read again at most every `ttl`
seconds, so a change holds on every worker and gateway within that time, at no cost per
request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
TTL = 2.0


class Snapshot(Generic[T]):
    def __init__(
        self,
        read: Callable[[], Awaitable[T]],
        ttl: float = TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._value: T | None = None
        self._read_at = float("-inf")

    async def get(self) -> T:
        if self._value is None or self._clock() - self._read_at > self._ttl:
            self._value = await self._read()
            self._read_at = self._clock()
        return self._value

    def forget(self) -> None:
        """Reads again next time (this worker changed the table)."""
        self._read_at = float("-inf")
