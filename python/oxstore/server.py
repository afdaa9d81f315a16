"""Starts granian (RSGI) with the app factory, after preparing the data directory once."""

from __future__ import annotations

import os
import sys
import time

import msgspec
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


def serve(config: Config) -> int:
    config = msgspec.structs.replace(config, started_at=time.time())
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
    server.serve()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(Config.from_env()))
