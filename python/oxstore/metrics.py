"""Prometheus metrics of the whole server. Each worker process counts into a file of its own
(float64 values mapped from STATE/metrics/<pid>.bin, one layout for every worker), and a
scrape on any worker sums the files of every worker that has run since the server started:
counts are the server's, once each, and survive a worker's restart. In-flight requests are
summed over live workers only. Gauges that describe the store (drives, per-bucket usage, the
heal queue) are read at scrape time.

Counters per API (the endpoint's name) and status class, per S3 error code, bytes received and
sent, and latency histograms (time to the first byte of the answer, and total, which for a
streamed body is its end)."""

from __future__ import annotations

import array
import bisect
import hmac
import itertools
import math
import mmap
import os
import time
from collections.abc import Sequence
from pathlib import Path

from oxstore.config import Config
from oxstore.s3.endpoints import Endpoint
from oxstore.s3.errors import ERRORS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_DIR = "metrics"  # under the state directory, a directory per gateway, emptied at start
APIS = tuple(e.value for e in Endpoint) + ("Operator",)
CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
CODES = tuple(sorted(ERRORS))
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, math.inf)
_API = {name: n for n, name in enumerate(APIS)}
_CODE = {code: n for n, code in enumerate(CODES)}


def token_matches(authorization: str, token: str) -> bool:
    """Whether an Authorization header carries the metrics bearer token (constant time)."""
    return hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode())


def metrics_dir(config: Config) -> Path:
    """This gateway's workers' files (the gateways of a cluster share the state directory)."""
    return config.state_dir / METRICS_DIR / config.gateway.replace(":", "-")


class _Layout:
    """Where each series sits in a worker's array."""

    def __init__(self) -> None:
        at = 0

        def take(count: int) -> int:
            nonlocal at
            start, at = at, at + count
            return start

        a, b = len(APIS), len(BUCKETS)
        self.requests = take(a * len(CLASSES))
        self.errors = take(len(CODES))
        self.bytes_in = take(1)
        self.bytes_out = take(1)
        self.ttfb = take(a * b)
        self.ttfb_sum = take(a)
        self.total = take(a * b)
        self.total_sum = take(a)
        self.in_flight = take(1)
        self.size = at


LAYOUT = _Layout()


class Meter:
    """This worker's counts, in its file under `directory`."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}.bin"
        with open(path, "w+b") as file:
            file.truncate(LAYOUT.size * 8)
            self._map = mmap.mmap(file.fileno(), LAYOUT.size * 8)
        # counts stay in the page cache: a scrape reads them, no write is ever waited for
        self.values: memoryview[float] = memoryview(self._map).cast("d")

    def started(self) -> None:
        self.values[LAYOUT.in_flight] += 1

    def answered(
        self, api: str, status: int, error: str, received: int, sent: int, began: float
    ) -> float:
        """Counts an answer whose head is ready now; returns the time to its first byte."""
        values, index = self.values, _API.get(api, _API["Operator"])
        values[LAYOUT.requests + index * len(CLASSES) + min(status // 100, 5) - 1] += 1
        if error in _CODE:
            values[LAYOUT.errors + _CODE[error]] += 1
        values[LAYOUT.bytes_in] += received
        values[LAYOUT.bytes_out] += sent  # (a streamed body's: as it goes, by sent())
        ttfb = time.perf_counter() - began
        _observe(values, LAYOUT.ttfb, LAYOUT.ttfb_sum, index, ttfb)
        return ttfb

    def finished(self, api: str, began: float) -> None:
        index = _API.get(api, _API["Operator"])
        _observe(self.values, LAYOUT.total, LAYOUT.total_sum, index, time.perf_counter() - began)
        self.values[LAYOUT.in_flight] -= 1

    def sent(self, size: int) -> None:
        self.values[LAYOUT.bytes_out] += size


def summed(directory: Path) -> tuple[list[float], float]:
    """Every worker's counts in `directory` added up, and the in-flight requests of live
    workers."""
    total = [0.0] * LAYOUT.size
    in_flight = 0.0
    for path in directory.glob("*.bin"):
        values = array.array("d")
        try:
            values.frombytes(path.read_bytes())
        except (OSError, ValueError):
            continue
        if len(values) != LAYOUT.size:
            continue
        total = [a + b for a, b in zip(total, values, strict=True)]
        if Path(f"/proc/{path.stem}").exists():
            in_flight += values[LAYOUT.in_flight]
    return total, in_flight


def _observe(
    values: memoryview[float], histogram: int, sums: int, index: int, seconds: float
) -> None:
    """One observation: in the first bucket it fits (render() makes them cumulative)."""
    values[histogram + index * len(BUCKETS) + bisect.bisect_left(BUCKETS, seconds)] += 1
    values[sums + index] += seconds


def render(values: Sequence[float], in_flight: float, gauges: list[str]) -> bytes:
    """The Prometheus text exposition of the summed counts and the scrape-time gauges."""
    lines = [
        "# HELP oxstore_requests_total Requests answered, by API and status class.",
        "# TYPE oxstore_requests_total counter",
    ]
    for n, api in enumerate(APIS):
        for c, klass in enumerate(CLASSES):
            count = values[LAYOUT.requests + n * len(CLASSES) + c]
            if count:
                lines.append(f'oxstore_requests_total{{api="{api}",status="{klass}"}} {count:.0f}')
    lines += [
        "# HELP oxstore_errors_total Error answers, by S3 error code.",
        "# TYPE oxstore_errors_total counter",
    ]
    for n, code in enumerate(CODES):
        if values[LAYOUT.errors + n]:
            lines.append(f'oxstore_errors_total{{code="{code}"}} {values[LAYOUT.errors + n]:.0f}')
    lines += [
        "# HELP oxstore_received_bytes_total Request body bytes received.",
        "# TYPE oxstore_received_bytes_total counter",
        f"oxstore_received_bytes_total {values[LAYOUT.bytes_in]:.0f}",
        "# HELP oxstore_sent_bytes_total Response body bytes sent.",
        "# TYPE oxstore_sent_bytes_total counter",
        f"oxstore_sent_bytes_total {values[LAYOUT.bytes_out]:.0f}",
        "# HELP oxstore_in_flight_requests Requests being answered now.",
        "# TYPE oxstore_in_flight_requests gauge",
        f"oxstore_in_flight_requests {max(0.0, in_flight):.0f}",
    ]
    for name, start, sums, what in (
        ("oxstore_time_to_first_byte_seconds", LAYOUT.ttfb, LAYOUT.ttfb_sum, "first byte"),
        ("oxstore_request_duration_seconds", LAYOUT.total, LAYOUT.total_sum, "whole answer"),
    ):
        lines += [f"# HELP {name} Time to the {what}, by API.", f"# TYPE {name} histogram"]
        for n, api in enumerate(APIS):
            row = start + n * len(BUCKETS)
            counts = list(itertools.accumulate(values[row : row + len(BUCKETS)]))
            if not counts[-1]:
                continue
            for bound, count in zip(BUCKETS, counts, strict=True):
                edge = "+Inf" if math.isinf(bound) else repr(bound)
                lines.append(f'{name}_bucket{{api="{api}",le="{edge}"}} {count:.0f}')
            lines.append(f'{name}_sum{{api="{api}"}} {values[sums + n]:.6f}')
            lines.append(f'{name}_count{{api="{api}"}} {counts[-1]:.0f}')
    return ("\n".join(lines + gauges) + "\n").encode()
