"""Composition root: builds the stores, credentials and pipeline for one worker process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from oxstore.auth.credentials import CredentialStore
from oxstore.config import Config
from oxstore.data.store import DataStore
from oxstore.http.rsgi import RSGIApp
from oxstore.meta.model import Metadata
from oxstore.meta.sqlite import SqliteStore
from oxstore.s3.context import Services
from oxstore.s3.ops.multipart import upload_ids_before
from oxstore.s3.pipeline import Pipeline

log = logging.getLogger("oxstore")

GC_BATCH = 1000


def build_services(config: Config) -> Services:
    meta = Metadata(SqliteStore(str(config.meta_path)))
    data = DataStore(config.objects_dir, config.tmp_dir, config.min_free_space)
    return Services(config=config, meta=meta, data=data)


async def collect_garbage(services: Services, now: float) -> int:
    """Removes data files that no object references any more; returns how many.

    A pass drains the whole backlog, a batch at a time, so the collector keeps up with any rate
    of overwrites; at most one batch is claimed but not yet removed. The garbage rows are
    claimed first, atomically: once claimed no copy can take the data back, and a crash before
    the files are removed leaves orphans that the start-up sweep finds.
    """
    removed = 0
    while True:
        ids = await services.meta.claim_garbage(now - services.config.gc_grace, GC_BATCH)
        await asyncio.to_thread(_remove_all, services, ids)
        removed += len(ids)
        if len(ids) < GC_BATCH:
            return removed


def _remove_all(services: Services, data_ids: list[str]) -> None:
    for data_id in data_ids:
        services.data.remove(data_id)


async def abort_abandoned_uploads(services: Services, now: float) -> int:
    """Aborts multipart uploads unfinished after --abort-uploads-after (their parts become
    garbage like any replaced data); returns how many."""
    age = services.config.abort_uploads_after
    if not age:
        return 0
    aborted = 0
    while ids := await services.meta.uploads_before(upload_ids_before(now - age), GC_BATCH):
        for upload_id in ids:
            aborted += await services.meta.abort_upload(upload_id)
    return aborted


async def sweep_orphans(services: Services) -> int:
    """Removes data files that a crash left between their rename and their metadata commit.

    Only files older than this server's start are candidates: newer ones may belong to uploads
    committing right now. One worker sweeps (a lock file decides which); the others serve.
    """
    config = services.config
    with open(config.state_dir / "sweep.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        removed = 0
        for entry in await asyncio.to_thread(_old_data_files, config):
            if not await services.meta.is_data_referenced(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    if removed:
        log.info("removed %d orphaned data files", removed)
    return removed


def _old_data_files(config: Config) -> list[os.DirEntry[str]]:
    """The data files older than this server's start."""
    found = []
    for entry in _data_files(config):
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < config.started_at:
                found.append(entry)
    return found


def _data_files(config: Config) -> Iterator[os.DirEntry[str]]:
    for fan in os.scandir(config.objects_dir):
        if fan.is_dir():
            yield from (e for e in os.scandir(fan.path) if e.is_file())


class OxstoreApp(RSGIApp):
    def __init__(self, config: Config) -> None:
        self.services = build_services(config)
        credentials, _ = CredentialStore.open(config.state_dir.parent, os.environ)
        self.services.credentials = credentials
        super().__init__(Pipeline(self.services, credentials), config.body_timeout)
        self._collector: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[int] | None = None

    def __rsgi_init__(self, loop: Any) -> None:
        self._collector = loop.create_task(self._collect_forever())
        self._sweep = loop.create_task(sweep_orphans(self.services))

    def __rsgi_del__(self, loop: Any) -> None:
        if self._collector is not None:
            self._collector.cancel()

    async def _collect_forever(self) -> None:
        while True:
            await asyncio.sleep(self.services.config.gc_interval)
            with contextlib.suppress(Exception):
                await abort_abandoned_uploads(self.services, time.time())
                await collect_garbage(self.services, time.time())


def create_app() -> OxstoreApp:
    """granian's factory target: every worker process builds its app from OXSTORE_CONFIG."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return OxstoreApp(Config.from_env())
