"""Starts granian (RSGI) with the app factory, after preparing the data directory once.

One server per data directory and per port: a second server on the same data directory would
wipe the first one's in-flight temp files, and one on the same port would share its requests
(granian binds with SO_REUSEPORT). Both are refused before anything is touched.
"""

from __future__ import annotations

import fcntl
import os
import resource
import socket
import sys
import time
from pathlib import Path
from typing import TextIO

import msgspec
from granian.constants import Interfaces, SSLProtocols
from granian.http import HTTP1Settings
from granian.server import Server

from oxstore import plain_http
from oxstore.auth.credentials import CredentialStore
from oxstore.config import CONFIG_ENV, Config
from oxstore.data.store import DataStore
from oxstore.meta.sqlite import SqliteStore


class StartupError(Exception):
    """Why this server cannot start; said to the operator as it is."""


def lock_data_dir(config: Config) -> TextIO:
    """Takes DATA/.oxstore/server.lock for as long as the returned file stays open (the life
    of the server process), with this process's id in it for whoever finds it taken."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    lock = open(config.state_dir / "server.lock", "a+")  # noqa: SIM115 - held while serving
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise StartupError(
            f"{config.data_dir} is in use by another oxstore server (pid {holder}): "
            "one server per data directory"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


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


def prepare(config: Config) -> str | None:
    """Creates the layout, removes crash leftovers, opens the metadata schema and credentials.

    Runs in the parent before any worker starts, so workers never race on set-up. Returns the
    one-time message announcing generated credentials, if any.
    """
    config.state_dir.mkdir(parents=True, exist_ok=True)
    DataStore(config.objects_dir, config.tmp_dir).prepare()
    SqliteStore(str(config.meta_path)).close()
    _, message = CredentialStore.open(config.state_dir.parent, os.environ)
    return message


def serve(config: Config) -> int:
    config = msgspec.structs.replace(config, started_at=time.time())
    check_port_free(config.host, config.port)
    if config.plain_port:
        check_port_free(config.host, config.plain_port)
    with lock_data_dir(config):  # held while the server runs
        message = prepare(config)
        if message:
            print(message, flush=True)
        os.environ[CONFIG_ENV] = config.to_env()
        soft, hard = raise_open_file_limit()
        print(f"oxstore: open files: {soft} per process (hard limit {hard})", flush=True)
        print(f"oxstore: listening on {config.endpoint} (region {config.region})", flush=True)
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
        server = Server(
            "oxstore.app:create_app",
            address=config.host,
            port=config.port,
            interface=Interfaces.RSGI,
            workers=config.workers,
            factory=True,
            log_access=False,
            backlog=2048,
            # hyper closes a connection whose request headers, or whose next request on a kept
            # alive connection, do not arrive in time
            http1_settings=HTTP1Settings(header_read_timeout=int(config.header_timeout * 1000)),
            # workers read the certificate when they start: SIGHUP (granian respawns them one
            # by one, each old one finishing its requests) puts a renewed certificate in use
            ssl_cert=Path(config.tls_cert) if config.tls_cert else None,
            ssl_key=Path(config.tls_key) if config.tls_key else None,
            ssl_protocol_min=SSLProtocols.tls12,
        )
        server.serve()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(Config.from_env()))
