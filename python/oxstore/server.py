"""Starts granian (RSGI) with the app factory, after preparing the data directory once.

One server per data directory and per port: a second server on the same data directory would
wipe the first one's in-flight temp files, and one on the same port would share its requests
(granian binds with SO_REUSEPORT). Both are refused before anything is touched. The gateways
of a cluster (`--meta postgresql://…`) share a data directory: each has its own temp files, and
none may start beside a server of the embedded store there.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import resource
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import msgspec
from granian.constants import Interfaces, Loops, SSLProtocols
from granian.http import HTTP1Settings
from granian.server import Server

from oxstore import drain, metrics_listener, plain_http
from oxstore.admin import local_root
from oxstore.auth.credentials import master_key, write_private
from oxstore.auth.root import prepare_root
from oxstore.config import CONFIG_ENV, Config
from oxstore.data.drives import DRIVE_SET, DriveEntry, DriveSet, DriveSetError, check_entries
from oxstore.data.layouts import LayoutError, Spec, specs_of
from oxstore.meta.model import Metadata
from oxstore.meta.open import describe, open_store
from oxstore.meta.store import Store
from oxstore.metrics import metrics_dir


class StartupError(Exception):
    """Why this server cannot start; said to the operator as it is."""


def lock_data_dir(config: Config) -> ExitStack:
    """Holds the data directory for as long as the returned stack stays open (the life of the
    server process). An embedded store's server holds DATA/.oxstore/server.lock alone; the
    gateways of a cluster hold it together, each with a lock of its own beside it."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    held = ExitStack()
    try:
        if not config.clustered:
            held.enter_context(_lock(config.state_dir / "server.lock", fcntl.LOCK_EX))
        else:
            held.enter_context(_lock(config.state_dir / "server.lock", fcntl.LOCK_SH))
            gateway = config.gateway.replace(":", "-")
            held.enter_context(_lock(config.state_dir / f"gateway-{gateway}.lock", fcntl.LOCK_EX))
    except BlockingIOError as exc:
        held.close()
        raise StartupError(
            f"{config.data_dir} is in use by another oxstore server ({exc}): one server per "
            "data directory, or gateways of one cluster (--meta) on different ports"
        ) from None
    return held


@contextmanager
def _lock(path: Path, kind: int, wait: bool = False) -> Iterator[None]:
    """flock(kind) on path, with this process's id written in it for whoever finds it taken
    (BlockingIOError carries the holder's)."""
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, kind if wait else kind | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip().replace("\n", ", ") or "unknown"
            raise BlockingIOError(f"pid {holder}") from None
        if kind == fcntl.LOCK_EX:
            lock.seek(0)
            lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        yield


def check_port_free(host: str, port: int) -> None:
    """Binds the address once without SO_REUSEPORT: a listener already there refuses it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {host}:{port}: {exc.strerror} (is another server there?)"
            ) from None


def raise_open_file_limit() -> tuple[int, int]:
    """Lifts this process's open-file limit (which the workers inherit) to its hard limit: each
    connection holds a file descriptor, and granian cannot close one that never sends a byte.
    Returns the (soft, hard) limits now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # some sandboxes refuse: the limit stays what it was, and is said
    return soft, hard


def prepare(config: Config) -> tuple[Config, list[str]]:
    """Creates the layout, removes crash leftovers, opens the metadata schema, settles the drive
    set, prepares the root user.

    Runs in the parent before any worker starts, so workers never race on set-up, and under
    DATA/.oxstore/prepare.lock, so the gateways of a cluster starting together do not either.
    Returns the configuration with its drive set, and what to tell the operator (the store, the
    drives, the root user's credentials).
    """
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with _lock(config.state_dir / "prepare.lock", fcntl.LOCK_EX, wait=True):
        store = open_store(config.meta, config.meta_path)
        try:
            bind_data_dir(config, store)
            said = [f"oxstore: metadata: {describe(config.meta)}, schema {schema_line(store)}"]
            master = master_key(config.state_dir, os.environ)
            config, more = asyncio.run(_prepare_model(Metadata(store), master, config))
        finally:
            store.close()
    return config, said + more


async def _prepare_model(meta: Metadata, master: bytes, config: Config) -> tuple[Config, list[str]]:
    """The drive set, the root user, and (once, for a store from before usage counting) every
    bucket's usage."""
    config, said = await _prepare_drives(meta, config)
    said += await prepare_root(meta, master, config.state_dir, os.environ)
    counted = await meta.count_usage()
    if counted:
        said.append(f"oxstore: counted the usage of {counted} buckets")
    return config, said


async def _prepare_drives(meta: Metadata, config: Config) -> tuple[Config, list[str]]:
    """The drive set the store keeps (the one given, for a new store); its drives formatted
    (a new set) or checked; every storage policy's layout checked against it."""
    given = config.given_drives
    raw, new = await meta.settle(DRIVE_SET, msgspec.json.encode(given))
    try:
        entries = check_entries(msgspec.json.decode(raw, type=list[DriveEntry]), given)
        drives = DriveSet(entries, meta.store.store_id, config.tmp_name)
        said = drives.prepare(new)
        specs = specs_of(config.offer, drives)
    except (DriveSetError, LayoutError) as exc:
        raise StartupError(str(exc)) from exc
    if len(drives) > 1:
        codes = ", ".join(f"{p}: {_describe(s)}" for p, s in specs.items())
        said.insert(0, f"oxstore: {len(drives)} drives in {len(drives.sites())} sites; {codes}")
    return msgspec.structs.replace(config, drive_set=tuple(entries)), said


def _describe(spec: Spec) -> str:
    if spec.plain:
        return "one copy"
    if spec.k == 1:
        return f"{spec.m + 1} copies"
    return f"erasure {spec.k}+{spec.m}"


def schema_line(store: Store) -> str:
    """The store's schema version, and what this start did to it."""
    if store.schema_found == store.schema:
        return str(store.schema)
    if store.schema_found == 0:
        return f"{store.schema} (created)"
    return f"{store.schema} (upgraded from {store.schema_found})"


def bind_data_dir(config: Config, store: Store) -> None:
    """Ties the data directory to the metadata store that describes its files, once; refuses a
    store it is not tied to: for that store, every file there would be an orphan to sweep."""
    marker = config.state_dir / "store-id"
    if marker.exists():
        bound, _, what = marker.read_text().strip().partition(" ")
        if bound != store.store_id:
            raise StartupError(
                f"{config.data_dir} holds the data of another metadata store ({what}, id "
                f"{bound}), not of {describe(config.meta)} (id {store.store_id})"
            )
        return
    if config.clustered and config.meta_path.exists():
        raise StartupError(
            f"{config.data_dir} holds the data of its embedded metadata store: a PostgreSQL "
            "store cannot take it over (start without --meta, or give the cluster a new "
            "data directory)"
        )
    write_private(marker, f"{store.store_id} {describe(config.meta)}\n".encode())


class DrainingServer(Server):  # type: ignore[misc, valid-type]
    """granian's server, which on SIGTERM first drains (oxstore.drain): requests go on being
    answered for `seconds` while /-/health/ready answers 503, then granian stops as it does
    (its workers finish what they are doing). A second SIGTERM stops it at once."""

    _drain, _marker, _draining = 0.0, Path(), False

    def drain_for(self, seconds: float, marker: Path) -> None:
        self._drain, self._marker = seconds, marker

    def signal_handler_interrupt(self, *args: object, **kwargs: object) -> None:
        if self._drain <= 0 or self._draining:
            self._stop()
            return
        self._draining = True
        self.interrupt_signal = True  # a worker that stops meanwhile ends the serving too
        drain.begin(self._marker)
        print(f"oxstore: draining for {self._drain:g} s, then stopping", flush=True)
        stop = threading.Timer(self._drain, self._stop)
        stop.daemon = True
        stop.start()

    def _stop(self) -> None:
        if self._draining:
            drain.end(self._marker)  # workers that the group's SIGTERM reached stop now too
        super().signal_handler_interrupt()

    def shutdown(self, exit_code: int = 0) -> None:
        if self._draining:  # a worker that stopped during the drain did not crash
            self.interrupt_children.clear()
        super().shutdown(exit_code)


def serve(config: Config) -> int:
    config = msgspec.structs.replace(config, started_at=time.time())
    check_port_free(config.host, config.port)
    if config.plain_port:
        check_port_free(config.host, config.plain_port)
    if config.metrics_port:
        check_port_free(config.metrics_host, config.metrics_port)
    with lock_data_dir(config):  # held while the server runs
        config, said = prepare(config)
        shutil.rmtree(metrics_dir(config), ignore_errors=True)  # counts are since this start
        for line in said:
            print(line, flush=True)
        os.environ[CONFIG_ENV] = config.to_env()
        local_root.remember_endpoint(config.state_dir, config.endpoint)
        soft, hard = raise_open_file_limit()
        print(f"oxstore: open files: {soft} per process (hard limit {hard})", flush=True)
        print(f"oxstore: listening on {config.endpoint} (region {config.region})", flush=True)
        print(f"oxstore: web console at {config.endpoint}/-/console/", flush=True)
        if config.plain_port:
            plain_http.start(
                config.host,
                config.plain_port,
                config.port,
                config.plain_answer,
                config.header_timeout,
            )
            print(
                f"oxstore: plain HTTP on {config.host}:{config.plain_port} answers "
                f"{config.plain_answer}",
                flush=True,
            )
        if config.metrics_port:
            metrics_listener.start(config)
            where = f"{config.metrics_host}:{config.metrics_port}"
            print(f"oxstore: metrics at http://{where}/metrics", flush=True)
        draining = drain.marker(config)
        draining.unlink(missing_ok=True)
        server = DrainingServer(
            "oxstore.app:create_app",
            address=config.host,
            port=config.port,
            interface=Interfaces.RSGI,
            workers=config.workers,
            factory=True,
            log_access=False,
            backlog=2048,
            loop=Loops.auto,  # uvloop (a dependency) where it installs; asyncio's own elsewhere
            # hyper closes a connection whose request headers, or whose next request on a kept
            # alive connection, do not arrive in time
            http1_settings=HTTP1Settings(header_read_timeout=int(config.header_timeout * 1000)),
            # workers read the certificate when they start: SIGHUP (granian respawns them one
            # by one, each old one finishing its requests) puts a renewed certificate in use
            ssl_cert=Path(config.tls_cert) if config.tls_cert else None,
            ssl_key=Path(config.tls_key) if config.tls_key else None,
            ssl_protocol_min=SSLProtocols.tls12,
        )
        server.drain_for(config.drain_seconds, draining)
        server.serve()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(Config.from_env()))
