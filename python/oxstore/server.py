"""Starts granian (RSGI) with the app factory, after preparing the data directory once."""

from __future__ import annotations

import os
import sys
import threading
import time

from granian.constants import Interfaces
from granian.server import Server

from oxstore.auth.credentials import CredentialStore
from oxstore.config import CONFIG_ENV, Config
from oxstore.data.store import DataStore
from oxstore.meta.sqlite import SqliteMetaStore


def prepare(config: Config) -> str | None:
    """Creates the layout, removes crash leftovers, opens the metadata schema and credentials.

    Runs in the parent before any worker starts, so workers never race on set-up. Returns the
    one-time message announcing generated credentials, if any.
    """
    config.state_dir.mkdir(parents=True, exist_ok=True)
    DataStore(config.objects_dir, config.tmp_dir).prepare()
    SqliteMetaStore(str(config.meta_path)).close()
    _, message = CredentialStore.open(config.state_dir.parent, os.environ)
    return message


def sweep_orphans(config: Config, started: float) -> int:
    """Removes data files that a crash left between their rename and their metadata commit.

    Only files older than this start are candidates: newer ones may belong to uploads that are
    committing right now. Runs on a thread of the parent while the workers already serve.
    """
    meta = SqliteMetaStore(str(config.meta_path))
    removed = 0
    try:
        for entry in _data_files(config):
            if entry.stat().st_mtime < started and not meta.is_data_referenced(entry.name):
                os.unlink(entry.path)
                removed += 1
    finally:
        meta.close()
    return removed


def _data_files(config: Config):  # type: ignore[no-untyped-def]
    for fan in os.scandir(config.objects_dir):
        if fan.is_dir():
            yield from (e for e in os.scandir(fan.path) if e.is_file())


def serve(config: Config) -> int:
    started = time.time()
    message = prepare(config)
    if message:
        print(message, flush=True)
    os.environ[CONFIG_ENV] = config.to_env()
    print(f"oxstore: listening on {config.endpoint} (region {config.region})", flush=True)
    server = Server(
        "oxstore.app:create_app",
        address=config.host,
        port=config.port,
        interface=Interfaces.RSGI,
        workers=config.workers,
        factory=True,
        log_access=False,
        backlog=2048,
    )
    threading.Thread(target=sweep_orphans, args=(config, started), daemon=True).start()
    server.serve()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(Config.from_env()))
