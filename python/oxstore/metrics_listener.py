"""The metrics' own listener (--metrics-address): GET /metrics (or /-/metrics) on an address of
the operator's choice, e.g. a private interface, answered from a thread of the server's main
process. It answers what a worker's /-/metrics answers: the workers' count files summed and the
store's gauges, read through a metadata store of its own on an event loop of its own (opened
at the first scrape). With --metrics-token as well, scrapes here need the token too.
"""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from oxstore import metrics
from oxstore.config import Config
from oxstore.gauges import exposition
from oxstore.http import side_listener
from oxstore.meta.model import Metadata
from oxstore.meta.open import open_store

PATHS = ("/metrics", "/-/metrics")
SCRAPE_TIMEOUT = 30.0  # seconds a scrape may take before it is answered 503
HEADER_TIMEOUT = 10.0  # seconds a scraper may take to send its request


class _Scraper:
    """Builds the exposition on the listener's event loop, one scrape at a time."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.meta: Metadata | None = None
        self.lock = asyncio.Lock()
        threading.Thread(target=self.loop.run_forever, name="metrics-loop", daemon=True).start()

    def scrape(self) -> bytes:
        return asyncio.run_coroutine_threadsafe(self._scrape(), self.loop).result(SCRAPE_TIMEOUT)

    async def _scrape(self) -> bytes:
        async with self.lock:
            if self.meta is None:
                self.meta = Metadata(open_store(self.config.meta, self.config.meta_path))
            return await exposition(self.config, self.meta)


def start(config: Config) -> ThreadingHTTPServer:
    """Listens on the metrics address and answers from a daemon thread; returns the server."""
    scraper = _Scraper(config)

    class Handler(BaseHTTPRequestHandler):
        server_version = "oxstore"
        timeout = HEADER_TIMEOUT

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            if self.path.partition("?")[0] not in PATHS:
                self._answer(404, b"Not found: metrics are at /metrics.\n")
            elif config.metrics_token and not metrics.token_matches(
                self.headers.get("Authorization", ""), config.metrics_token
            ):
                self._answer(401, b"Metrics need the bearer token of --metrics-token.\n")
            else:
                try:
                    body = scraper.scrape()
                except Exception as exc:  # the store is unreachable: say so, keep listening
                    self._answer(503, f"Metrics are unavailable: {exc}\n".encode())
                else:
                    self._answer(200, body, metrics.CONTENT_TYPE)

        def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass

    return side_listener.serve(config.metrics_host, config.metrics_port, Handler, "metrics-http")
