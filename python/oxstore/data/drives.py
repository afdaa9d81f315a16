"""A drive set: the directories object bytes are spread over, grouped into sites.

A drive is a directory (a local disk, or a mount of a distributed file system). Its slot in the
set is fixed when the set is first formatted and kept in the metadata store; records name drives
by slot. Each drive carries a marker, DRIVE/.oxstore/drive, naming the store and its slot: a
drive whose marker is missing or names something else (unmounted, removed, or an empty
replacement) is offline, and nothing is written to it, so an unmounted mount point never fills
the disk beneath it. Data files have the same name on every drive (DRIVE/.oxstore/objects/
<id[:2]>/<id>): a drive holds at most one shard or copy of an object.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import msgspec

FANOUT = 256
ONLINE_TTL = 2.0  # seconds a worker trusts what it last saw of the drives' markers
DRIVE_SET = b"drives"  # settings: the drive set (a JSON list of DriveEntry)
LOCAL_SITE = "local"  # the site of a drive the topology file puts in none


class DriveEntry(msgspec.Struct, frozen=True):
    """A slot of the set as the metadata store keeps it."""

    path: str
    site: str = LOCAL_SITE


class Marker(msgspec.Struct, frozen=True):
    store: str
    slot: int


class DriveSetError(Exception):
    """The drives given do not match the set the metadata store knows."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Drive:
    def __init__(self, slot: int, path: str, site: str) -> None:
        self.slot = slot
        self.root = Path(path)
        self.site = site
        self.objects = self.root / ".oxstore" / "objects"
        self.marker = self.root / ".oxstore" / "drive"

    def tmp(self, gateway: str) -> Path:
        """Payloads in flight; a gateway of a cluster has its own directory (`gateway`)."""
        base = self.root / ".oxstore" / "tmp"
        return base / gateway if gateway else base

    def file(self, data_id: str) -> str:
        return str(self.objects / data_id[:2] / data_id)

    def write_trouble(self, gateway: str) -> str:
        """Why a file cannot be written into this drive now ("" when it can): a read-only or
        full file system, lost permissions, a failing disk. The probe leaves no file."""
        probe = self.tmp(gateway) / f"write-probe-{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"\0")
            finally:
                os.close(fd)
            probe.unlink()
        except OSError as exc:
            return exc.strerror or type(exc).__name__
        return ""

    def read_marker(self) -> Marker | None:
        try:
            return msgspec.json.decode(self.marker.read_bytes(), type=Marker)
        except (OSError, msgspec.DecodeError):
            return None

    def format(self, store_id: str) -> None:
        """Creates the drive's directories and marker (a new drive, or a replacement)."""
        for i in range(FANOUT):
            (self.objects / f"{i:02x}").mkdir(parents=True, exist_ok=True)
        fsync_dir(self.objects)
        tmp = self.marker.with_suffix(".new")
        tmp.write_bytes(msgspec.json.encode(Marker(store=store_id, slot=self.slot)))
        os.replace(tmp, self.marker)
        fsync_dir(self.marker.parent)


class DriveSet:
    def __init__(self, entries: list[DriveEntry], store_id: str, gateway: str = "") -> None:
        self.drives = [Drive(i, e.path, e.site) for i, e in enumerate(entries)]
        self.store_id = store_id
        self.gateway = gateway
        self._online: list[bool] = []
        self._seen = 0.0

    def __len__(self) -> int:
        return len(self.drives)

    def __getitem__(self, slot: int) -> Drive:
        return self.drives[slot]

    def sites(self) -> dict[str, list[int]]:
        """Site name -> its drives' slots, in slot order."""
        found: dict[str, list[int]] = {}
        for drive in self.drives:
            found.setdefault(drive.site, []).append(drive.slot)
        return found

    def online(self) -> list[bool]:
        """Whether each drive carries this store's marker for its slot (seen within
        ONLINE_TTL)."""
        now = time.monotonic()
        if now - self._seen > ONLINE_TTL or not self._online:
            self._online = [self._is_online(d) for d in self.drives]
            self._seen = now
        return self._online

    def forget(self) -> None:
        """Looks at the markers again on the next online() (a write just failed on a drive)."""
        self._seen = 0.0

    def _is_online(self, drive: Drive) -> bool:
        return drive.read_marker() == Marker(store=self.store_id, slot=drive.slot)

    def prepare(self, new: bool) -> list[str]:
        """Formats the drives of a new set (new), removes the crash leftovers of this
        gateway's temp directories; returns what to tell the operator about drives that are
        offline. Runs once, before workers start.

        Only a new set is formatted: in a set that holds data, a drive without its marker is
        one gone (unmounted) or a replacement, which `oxstore heal` formats.
        """
        said = []
        for drive in self.drives:
            marker = drive.read_marker()
            if new and marker is not None and not self._is_online(drive):
                raise DriveSetError(f"{drive.root} is a drive of another set ({_why(marker)})")
            if new:
                drive.format(self.store_id)
            elif not self._is_online(drive):
                said.append(
                    f"oxstore: drive {drive.slot} ({drive.root}) is offline: {_why(marker)}"
                )
                continue
            tmp = drive.tmp(self.gateway)
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
        return said


def _why(marker: Marker | None) -> str:
    if marker is None:
        return "no drive marker (unmounted, removed, or a replacement: run oxstore heal)"
    return f"its marker names slot {marker.slot} of store {marker.store}"


def check_entries(known: list[DriveEntry] | None, given: list[DriveEntry]) -> list[DriveEntry]:
    """The set to use: the one the store knows (the same paths, in any order and with their
    sites), or, for a store that knows none, the one given. DriveSetError otherwise."""
    if known is None:
        return given
    if sorted(e.path for e in known) != sorted(e.path for e in given):
        raise DriveSetError(
            "the drives given are not the store's drive set ("
            + " ".join(e.path for e in known)
            + "); growing or shrinking a set is not supported"
        )
    sites = {e.path: e.site for e in given}
    if any(sites[e.path] != e.site for e in known):
        raise DriveSetError("a drive cannot move to another site")
    return known
