"""Composition root: builds the stores, credentials and pipeline for one worker process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

from oxstore.auth.credentials import CredentialStore
from oxstore.config import Config
from oxstore.data.store import DataStore
from oxstore.http.rsgi import RSGIApp
from oxstore.meta.sqlite import SqliteMetaStore
from oxstore.s3.context import Services
from oxstore.s3.pipeline import Pipeline

log = logging.getLogger("oxstore")

GC_INTERVAL = 5.0  # seconds between collector passes
GC_GRACE = 30.0  # a replaced data file stays this long for GETs already streaming it
GC_BATCH = 1000


def build_services(config: Config) -> Services:
    meta = SqliteMetaStore(str(config.meta_path))
    data = DataStore(config.objects_dir, config.tmp_dir)
    return Services(config=config, meta=meta, data=data)


def collect_garbage(services: Services, now: float) -> int:
    """Removes data files that no object references any more; returns how many."""
    ids = services.meta.take_garbage(now - GC_GRACE, GC_BATCH)
    for data_id in ids:
        services.data.remove(data_id)
    if ids:
        services.meta.remove_garbage(ids)
    return len(ids)


class OxstoreApp(RSGIApp):
    def __init__(self, config: Config) -> None:
        self.services = build_services(config)
        credentials, _ = CredentialStore.open(config.state_dir.parent, os.environ)
        super().__init__(Pipeline(self.services, credentials))
        self._collector: asyncio.Task[None] | None = None

    def __rsgi_init__(self, loop: Any) -> None:
        self._collector = loop.create_task(self._collect_forever())

    def __rsgi_del__(self, loop: Any) -> None:
        if self._collector is not None:
            self._collector.cancel()

    async def _collect_forever(self) -> None:
        while True:
            await asyncio.sleep(GC_INTERVAL)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(collect_garbage, self.services, time.time())


def create_app() -> OxstoreApp:
    """granian's factory target: every worker process builds its app from OXSTORE_CONFIG."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return OxstoreApp(Config.from_env())
