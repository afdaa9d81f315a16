"""`oxstore scrub` and `oxstore heal`: a whole pass over the sharded data of a store, from the
command line, beside a running server or without one.

`heal` first formats the replacements of drives that are gone: a slot whose directory has no
marker and is empty (or missing) gets a new marker, and the pass rebuilds every shard that
belongs there. Run it once the replacement (or the returning drive) is mounted: on an
unmounted mount point it would fill the disk beneath.
"""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path

import msgspec

from oxstore.auth.credentials import existing_master_key
from oxstore.data.drives import DRIVE_SET, DriveEntry, DriveSet
from oxstore.data.heal import scrub
from oxstore.data.store import DataStore
from oxstore.kms import KmsKeys
from oxstore.meta.model import Metadata
from oxstore.meta.open import open_store
from oxstore.s3.encryption import server_held_key


def run(data_dir: str, meta_url: str, rate: float, replace: bool) -> int:
    state = Path(data_dir) / ".oxstore"
    store = open_store(meta_url, state / "meta.sqlite3")
    try:
        master = existing_master_key(state, os.environ)  # (it opens SSE-S3 and SSE-KMS files)
        return asyncio.run(_run(Metadata(store), rate, replace, master))
    finally:
        store.close()


async def _run(meta: Metadata, rate: float, replace: bool, master: bytes | None) -> int:
    raw = await meta.setting(DRIVE_SET)
    if raw is None:
        print("oxstore: this store has no drive set yet (start the server once)")
        return 2
    drives = DriveSet(msgspec.json.decode(raw, type=list[DriveEntry]), meta.store.store_id)
    if replace:
        for line in format_replacements(drives):
            print(line)
    for drive in drives.drives:
        if not drives.online()[drive.slot]:
            print(f"oxstore: drive {drive.slot} ({drive.root}) is offline: its shards wait")
    data = DataStore(drives, {})
    data.damaged = meta.queue_heal
    keys = None
    if master is not None:
        keys = functools.partial(server_held_key, master=master, kms=KmsKeys(meta, master))
    report = await scrub(meta, data, rate, keys)
    print(f"oxstore: {report.line()}")
    for data_id in report.lost:
        print(f"oxstore: lost (no good copy of it is left): {data_id}")
    return 1 if report.lost else 0


def format_replacements(drives: DriveSet) -> list[str]:
    said = []
    for drive in drives.drives:
        if drive.read_marker() is not None:
            continue
        if drive.root.exists() and any(p.name != ".oxstore" for p in drive.root.iterdir()):
            said.append(f"oxstore: {drive.root} is not empty: not formatted as drive {drive.slot}")
            continue
        drive.format(drives.store_id)
        drive.tmp("").mkdir(parents=True, exist_ok=True)
        said.append(f"oxstore: formatted {drive.root} as drive {drive.slot}")
    drives.forget()
    return said
