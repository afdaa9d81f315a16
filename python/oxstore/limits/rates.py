"""Rate limits: operations per second for a user (or account) and for a bucket, by kind of
operation; outgoing bandwidth (GET bodies) of a user or a bucket; and one cap on the requests of
the whole service. They hold across every worker of every gateway without a database round trip
per request.

Each limit is a budget of a whole number of tokens per window of time (meta.model.rates), the
window about a tenth of a second long (longer for a limit below 10 per second: one token's time)
and exactly as long as its tokens take at the limit's rate. A worker leases a share of the
current window's tokens from the metadata store when it has none left, and spends them locally;
a request that finds no token left in its window answers 503 SlowDown with Retry-After. No
window ever admits more than its budget, so over any stretch of time the service admits at most
the limit, plus one window's budget where the stretch cuts windows; it can admit less only by
tokens a worker leased and did not spend before its window ended (a lease takes a quarter of
what is left, so those shrink as a window runs out). The windows are wall-clock windows:
gateways' clocks must agree (NTP). A GET under a bandwidth limit streams its body in chunks,
each sent once its bytes are leased, so it is paced, not buffered.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator

import msgspec

from oxstore.limits.snapshot import Snapshot
from oxstore.meta.model import Metadata
from oxstore.meta.model.keys import of_bucket, of_owner
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import S3Error

OP_KINDS = ("default", "get", "put", "list", "delete")
# The kind of each operation: its own limit, and its column in the usage statistics; the rest
# are "default" operations (usage: "other").
OP_KIND: dict[Endpoint, str] = {
    **dict.fromkeys(
        (
            Endpoint.GET_OBJECT,
            Endpoint.HEAD_OBJECT,
            Endpoint.GET_OBJECT_ATTRIBUTES,
            Endpoint.GET_OBJECT_TAGGING,
            Endpoint.GET_OBJECT_ACL,
        ),
        "get",
    ),
    **dict.fromkeys(
        (
            Endpoint.PUT_OBJECT,
            Endpoint.COPY_OBJECT,
            Endpoint.POST_OBJECT,
            Endpoint.CREATE_MULTIPART_UPLOAD,
            Endpoint.UPLOAD_PART,
            Endpoint.UPLOAD_PART_COPY,
            Endpoint.COMPLETE_MULTIPART_UPLOAD,
        ),
        "put",
    ),
    **dict.fromkeys(
        (
            Endpoint.LIST_BUCKETS,
            Endpoint.LIST_OBJECTS,
            Endpoint.LIST_OBJECTS_V2,
            Endpoint.LIST_OBJECT_VERSIONS,
            Endpoint.LIST_MULTIPART_UPLOADS,
            Endpoint.LIST_PARTS,
        ),
        "list",
    ),
    **dict.fromkeys(
        (
            Endpoint.DELETE_OBJECT,
            Endpoint.DELETE_OBJECTS,
            Endpoint.ABORT_MULTIPART_UPLOAD,
            Endpoint.DELETE_BUCKET,
        ),
        "delete",
    ),
}
KIB = 1024
WINDOW = 0.1  # seconds: about how long a budget's window is
SMALLEST_CHUNK = 4 * KIB  # of a paced body


class Limits(msgspec.Struct, kw_only=True):
    """The limits of a user or bucket: operations per minute by kind (as the admin API sets
    them; 0: none), outgoing bandwidth in kB/s."""

    ops: dict[str, float] = {}
    out: float = 0.0


_limits_decoder = msgspec.msgpack.Decoder(Limits)


def encode_limits(limits: Limits) -> bytes:
    return msgspec.msgpack.encode(limits)


def decode_limits(raw: bytes) -> Limits:
    return _limits_decoder.decode(raw)


def slow_down(retry_after: float) -> S3Error:
    err = S3Error("SlowDown")
    err.headers.append(("retry-after", str(max(1, math.ceil(retry_after)))))
    return err


class Budget:
    """One limit as this worker spends it: the tokens it leased in the current window."""

    def __init__(
        self, meta: Metadata, name: str, per_second: float, clock: Callable[[], float]
    ) -> None:
        self.meta = meta
        self.name = name
        self.per_second = per_second
        self.budget = max(1, round(per_second * WINDOW))
        self.window_seconds = self.budget / per_second
        self._clock = clock
        self._window = -1
        self._tokens = 0
        self._spent = -1  # the window whose budget is spent
        self._lock = asyncio.Lock()

    def window(self) -> int:
        return int(self._clock() // self.window_seconds)

    def until_next_window(self) -> float:
        """A little past the next window's start (a float's rounding never lands before it)."""
        return (self.window() + 1) * self.window_seconds - self._clock() + 0.001

    async def take(self, wanted: int) -> int:
        """Up to `wanted` tokens of the current window (0: it has none left)."""
        async with self._lock:
            window = self.window()
            if window != self._window:
                self._window, self._tokens = window, 0
            if self._tokens < wanted and window != self._spent:
                leased = await self.meta.lease_tokens(
                    self.name, window, self.budget, wanted - self._tokens
                )
                if not leased:  # no worker gets more of this window: none asks again
                    self._spent = window
                self._tokens += leased
            taken = min(wanted, self._tokens)
            self._tokens -= taken
            return taken

    async def take_all(self, wanted: int) -> None:
        """Waits, window after window, until `wanted` tokens are taken."""
        while wanted > 0:
            wanted -= await self.take(wanted)
            if wanted:
                await asyncio.sleep(self.until_next_window())


class Pacer:
    """The bandwidth budgets a GET body is sent within."""

    def __init__(self, budgets: list[Budget]) -> None:
        self.budgets = budgets
        slowest = min(b.per_second for b in budgets)
        self.chunk = max(SMALLEST_CHUNK, min(256 * KIB, int(slowest / 4)))  # 1/4 s of bytes

    async def stream(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            for budget in self.budgets:
                await budget.take_all(len(chunk))
            yield chunk


class Limiter:
    """Every limit of this worker: the limits table as last read, and the budgets in use."""

    def __init__(
        self, meta: Metadata, max_rps: float = 0.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.meta = meta
        self.max_rps = max_rps
        self.table = Snapshot(self._read)
        self._clock = clock
        self._budgets: dict[tuple[str, float], Budget] = {}

    async def _read(self) -> dict[str, Limits]:
        return {name: decode_limits(raw) for name, raw in (await self.meta.limits()).items()}

    def _budget(self, name: str, per_second: float) -> Budget:
        """The budget of a limit (a changed limit is a budget of its own)."""
        budget = self._budgets.get((name, per_second))
        if budget is None:
            if len(self._budgets) > 10_000:
                self._budgets.clear()
            budget = self._budgets[name, per_second] = Budget(
                self.meta, name, per_second, self._clock
            )
        return budget

    def _subjects(
        self, table: dict[str, Limits], owner: str | None, bucket: str | None
    ) -> Iterator[tuple[str, Limits]]:
        for name in (of_owner(owner) if owner else "", of_bucket(bucket) if bucket else ""):
            if name in table:
                yield name, table[name]

    async def admit(
        self, endpoint: Endpoint, owner: str | None, bucket: str | None
    ) -> Pacer | None:
        """SlowDown if a limit has no token left for this request; the pacer of its body
        when a bandwidth limit applies to it."""
        if self.max_rps:
            await self._spend(self._budget("service/requests", self.max_rps))
        table = await self.table.get()
        if not table:
            return None
        kind = OP_KIND.get(endpoint, "default")
        pacers = []
        for name, limits in self._subjects(table, owner, bucket):
            per_minute = limits.ops.get(kind, 0.0)
            if per_minute:
                await self._spend(self._budget(f"{name}/ops:{kind}", per_minute / 60))
            if limits.out and kind == "get":
                pacers.append(self._budget(f"{name}/out", limits.out * KIB))
        return Pacer(pacers) if pacers else None

    async def _spend(self, budget: Budget) -> None:
        if not await budget.take(1):
            raise slow_down(budget.until_next_window())
