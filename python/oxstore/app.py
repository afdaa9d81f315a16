"""Composition root: builds the stores, credentials and pipeline for one worker process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import time
from typing import IO, Any

from oxstore import drain
from oxstore.access_log import AccessLog
from oxstore.auth.credentials import Keyring, master_key
from oxstore.config import Config
from oxstore.data.drives import DriveSet
from oxstore.data.heal import Report, Scrubber, heal_queued
from oxstore.data.layouts import specs_of
from oxstore.data.store import DataStore
from oxstore.http.rsgi import RSGIApp
from oxstore.kms import KmsKeys
from oxstore.limits.quotas import QuotaBook
from oxstore.limits.rates import Limiter
from oxstore.limits.usage import UsageMeter
from oxstore.meta.model import Metadata
from oxstore.meta.open import open_store
from oxstore.metrics import Meter, metrics_dir
from oxstore.s3.context import Services
from oxstore.s3.encryption import server_held_key
from oxstore.s3.ops.multipart import upload_ids_before
from oxstore.s3.pipeline import Pipeline

log = logging.getLogger("oxstore")

GC_BATCH = 1000
USAGE_LEASE = 300.0  # the gateway writing usage statistics objects holds it this long
ROLL_UP_INTERVAL = 60.0  # seconds between samples of the buckets' usage statistics


# work that runs once in a cluster holds a lease this long, renewing it as it goes
SWEEP_LEASE = 600.0
# a cluster's other gateways may be committing files older than this gateway's start: the
# sweep takes only files older than this too
CLUSTER_ORPHAN_AGE = 3600.0


def build_services(config: Config) -> Services:
    meta = Metadata(open_store(config.meta, config.meta_path))
    drives = DriveSet(list(config.drive_set), meta.store.store_id, config.tmp_name)
    data = DataStore(drives, specs_of(config.offer, drives), config.min_free_space)
    data.damaged = meta.queue_heal
    master = master_key(config.state_dir, os.environ)
    keys = Keyring(meta, master)
    usage = None
    if config.usage:
        service_id = meta.store.store_id.replace("-", "")[:16]
        usage = UsageMeter(meta, config.usage_period, config.usage_cache_timeout, service_id)
    return Services(
        config=config,
        meta=meta,
        data=data,
        keys=keys,
        kms=KmsKeys(meta, master),
        quotas=QuotaBook(meta),
        limiter=Limiter(meta, config.max_requests_per_second),
        usage=usage,
        meter=Meter(metrics_dir(config)),
        access_log=AccessLog(config.access_log) if config.access_log else None,
    )


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
    committing right now (in a cluster, only files older than an hour as well: the other
    gateways were running before this one). One worker of a gateway sweeps (a lock file
    decides which), and one gateway of a cluster (a lease in the metadata store).
    """
    config = services.config
    gateway = config.gateway.replace(":", "-")
    with open(config.state_dir / f"sweep-{gateway}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        if not await _lease(services, "sweep", SWEEP_LEASE):
            return 0
        try:
            removed = await _sweep(services, orphan_cutoff(config, time.time()))
        finally:
            if config.clustered:
                await services.meta.release_lease("sweep", config.gateway)
    if removed:
        log.info("removed %d orphaned data files", removed)
    return removed


def orphan_cutoff(config: Config, now: float) -> float:
    """Data files older than this, and referenced by nothing, are orphans."""
    if config.clustered:
        return min(config.started_at, now - CLUSTER_ORPHAN_AGE)
    return config.started_at


async def _sweep(services: Services, cutoff: float) -> int:
    removed = 0
    candidates = await asyncio.to_thread(services.data.files, cutoff)
    for count, (data_id, path) in enumerate(candidates):
        if count % GC_BATCH == GC_BATCH - 1 and not await _lease(services, "sweep", SWEEP_LEASE):
            break  # the lease was lost (this gateway stalled): the one holding it sweeps
        if not await services.meta.is_data_referenced(data_id):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed += 1
    return removed


async def _lease(services: Services, name: str, seconds: float) -> bool:
    """Takes or renews the cluster-wide lease `name` for this gateway; a server of the
    embedded store is alone and holds every lease."""
    config = services.config
    if not config.clustered:
        return True
    return await services.meta.take_lease(name, config.gateway, seconds)


class OxstoreApp(RSGIApp):
    def __init__(self, config: Config) -> None:
        self.services = build_services(config)
        super().__init__(Pipeline(self.services), config.body_timeout)
        self._collector: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[int] | None = None
        self._usage: asyncio.Task[None] | None = None
        self._scrub = self._new_scrub()
        self._scrub_started = time.time()  # the first pass, from the start
        self._heal_lock: IO[str] | None = None  # held by the one worker that heals and scrubs

    def __rsgi_init__(self, loop: Any) -> None:
        drain.hold_workers_through_drains(loop, self.services.config)
        self._collector = loop.create_task(self._collect_forever())
        self._sweep = loop.create_task(sweep_orphans(self.services))
        if self.services.usage is not None:
            holds = functools.partial(_lease, self.services, "usage", USAGE_LEASE)
            self._usage = loop.create_task(self.services.usage.run(holds))

    def __rsgi_del__(self, loop: Any) -> None:
        """The worker stops (its loop no longer runs): its usage counts go to the store."""
        for task in (self._collector, self._usage):
            if task is not None:
                task.cancel()
        if self.services.usage is not None:
            loop.run_until_complete(self.services.usage.flush())
        if self.services.access_log is not None:
            self.services.access_log.flush()  # the lines of the loop's last turn

    async def _collect_forever(self) -> None:
        """Passes of the collector (and, about once a minute, the buckets' hourly statistics:
        meta.model.usage); in a cluster, only on the gateway holding its lease (held for a few
        passes, so that it moves on soon after its gateway stops)."""
        interval = self.services.config.gc_interval
        rolled_up = 0.0
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                if await _lease(self.services, "collector", 4 * interval + 10):
                    await abort_abandoned_uploads(self.services, time.time())
                    await collect_garbage(self.services, time.time())
                    await self._keep_healthy(interval)
                    if time.time() - rolled_up >= ROLL_UP_INTERVAL:
                        rolled_up = time.time()
                        await self.services.meta.roll_up_usage(rolled_up)

    async def _keep_healthy(self, interval: float) -> None:
        """Heals what is queued, and scrubs a slice (what the scrub rate allows in an
        interval); a new scrub pass starts scrub_interval after the last one did. One worker
        of the gateway does it: the one holding its heal lock file."""
        services = self.services
        if not self._heals_here():
            return
        report = Report()
        await heal_queued(services.meta, services.data, time.time(), report)
        rate = services.config.scrub_rate
        if not rate:
            return
        if self._scrub.done and time.time() - self._scrub_started >= services.config.scrub_interval:
            self._scrub, self._scrub_started = self._new_scrub(), time.time()
        if not self._scrub.done:
            await self._scrub.slice(int(rate * interval))
            if self._scrub.done:
                log.info("scrub pass: %s", self._scrub.report.line())

    def _new_scrub(self) -> Scrubber:
        """A scrub pass, which opens the sealed files whose keys the server holds."""
        services = self.services
        assert services.keys is not None and services.kms is not None
        keys = functools.partial(server_held_key, master=services.keys.master, kms=services.kms)
        return Scrubber(services.meta, services.data, keys)

    def _heals_here(self) -> bool:
        """Whether this worker holds the gateway's heal lock (taken once, kept for life)."""
        if self._heal_lock is None:
            gateway = self.services.config.gateway.replace(":", "-")
            lock = open(self.services.config.state_dir / f"heal-{gateway}.lock", "w")  # noqa: SIM115
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                return False
            self._heal_lock = lock
        return True


def create_app() -> OxstoreApp:
    """granian's factory target: every worker process builds its app from OXSTORE_CONFIG."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return OxstoreApp(Config.from_env())
