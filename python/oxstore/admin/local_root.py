"""`oxstore admin --data-dir DIR`: the root user's key pair, read from the server's data
directory, and the address the server last started on. Whoever may read a data directory (its
master key and its metadata store) holds everything already: they need not have kept the root
secret that the first start printed once.

Nothing is created: a directory that is not a data directory is said to be one of those."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from oxstore.auth.credentials import MASTER_KEY_ENV, existing_master_key, unseal_secret
from oxstore.meta.model import Metadata
from oxstore.meta.open import open_store

STATE = ".oxstore"
ENDPOINT_FILE = "endpoint"  # in the state directory: the address of the latest start


def root_credentials(data_dir: Path, meta_url: str) -> tuple[str, str]:
    """The root user's oldest access key and its secret; ValueError naming what is missing."""
    state = data_dir / STATE
    if not (state / "store-id").is_file():  # what every start of a server there writes
        raise ValueError(
            f"{data_dir} is not an oxstore data directory (it has no {STATE}/store-id; give "
            "the server's first drive)"
        )
    if not meta_url and not (state / "meta.sqlite3").is_file():
        raise ValueError(f"{data_dir} holds a cluster's data: set OXSTORE_META to its store")
    master = existing_master_key(state, os.environ)
    if master is None:
        raise ValueError(f"{data_dir} has no {STATE}/master.key (nor is {MASTER_KEY_ENV} set)")
    meta = Metadata(open_store(meta_url, state / "meta.sqlite3"))
    try:
        return asyncio.run(_root_key(meta, master))
    finally:
        meta.close()


async def _root_key(meta: Metadata, master: bytes) -> tuple[str, str]:
    root = await meta.root_id()
    owner = await meta.get_owner(root) if root else None
    keys = await meta.keys_of(owner) if owner else []
    if not keys:
        raise ValueError("the store has no root user with a key yet (start the server once)")
    key = min(keys, key=lambda k: k.created)
    return key.access_key, unseal_secret(master, key.access_key, key.sealed_secret)


def remember_endpoint(state_dir: Path, endpoint: str) -> None:
    """Called by each start: where `--data-dir` finds the server."""
    (state_dir / ENDPOINT_FILE).write_text(endpoint + "\n")


def last_endpoint(data_dir: Path) -> str | None:
    try:
        return (data_dir / STATE / ENDPOINT_FILE).read_text().strip() or None
    except OSError:
        return None
