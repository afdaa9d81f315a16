"""The data store's one suite, passed by every layout: round trips of any size and range, a bad
digest leaving nothing on any drive, removal, the orphan listing, damage within redundancy
read back right (sharded layouts verify every block), damage beyond it an error, and drives
offline within and beyond the write quorum."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from oxstore._native import NativeS3Error, is_cached
from oxstore.data.drives import DriveEntry, DriveSet
from oxstore.data.layouts import STRIPE_SIZE, Spec
from oxstore.data.store import DataLostError, DataStore, Piece
from oxstore.meta.records import Layout, Plain, Sharded

LAYOUTS = {
    "plain": (1, Spec()),
    "plain-of-4": (4, Spec()),
    "copies-3": (3, Spec(1, 2)),
    "ec-2+1": (3, Spec(2, 1)),
    "ec-2+2": (4, Spec(2, 2)),
    "ec-4+2": (6, Spec(4, 2)),
}
SIZES = [1, 1000, STRIPE_SIZE - 1, STRIPE_SIZE, 3 * STRIPE_SIZE + 17]


@pytest.fixture(params=list(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> tuple[int, Spec]:
    return LAYOUTS[request.param]


def data_store(root: Path, drives: int) -> DataStore:
    entries = [DriveEntry(str(root / f"drive-{i}")) for i in range(drives)]
    drive_set = DriveSet(entries, "test-store")
    drive_set.prepare(new=True)
    return DataStore(drive_set, {})


async def chunks(payload: bytes, size: int = 300_007) -> AsyncIterator[bytes]:
    for at in range(0, len(payload), size):
        yield payload[at : at + size]


def write(
    store: DataStore, spec: Spec, payload: bytes, md5: bytes | None = None
) -> tuple[str, Layout, dict]:  # type: ignore[type-arg]
    expected = {"md5": md5 if md5 is not None else hashlib.md5(payload).digest()}
    return asyncio.run(
        store.write(spec, chunks(payload), ["md5"], None, expected, len(payload), None)
    )  # type: ignore[return-value]


def read(store: DataStore, piece: Piece) -> bytes:
    async def collect() -> bytes:
        return b"".join([c async for c in store.read([piece], 1_000_003)])

    return asyncio.run(collect())


def files_on(root: Path) -> list[Path]:
    """Every data and temp file of every drive."""
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name not in (".oxstore",)]


def payload_of(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_whole_and_by_ranges(
    tmp_path: Path, layout: tuple[int, Spec], size: int
) -> None:
    drives, spec = layout
    store = data_store(tmp_path, drives)
    payload = payload_of(size)
    data_id, placed, result = write(store, spec, payload)
    assert result["size"] == size and result["digests"]["md5"] == hashlib.md5(payload).digest()
    assert isinstance(placed, Plain) == spec.plain
    assert read(store, Piece(data_id, 0, size, placed, size)) == payload
    for start, end in [(0, 1), (size // 3, size // 2 + 1), (max(0, size - 5), size)]:
        if start < end:
            assert read(store, Piece(data_id, start, end, placed, size)) == payload[start:end]
    if size > STRIPE_SIZE:  # across a stripe boundary
        edge = Piece(data_id, STRIPE_SIZE - 3, STRIPE_SIZE + 3, placed, size)
        assert read(store, edge) == payload[STRIPE_SIZE - 3 : STRIPE_SIZE + 3]


def test_shards_spread_over_distinct_drives(tmp_path: Path, layout: tuple[int, Spec]) -> None:
    drives, spec = layout
    store = data_store(tmp_path, drives)
    used: set[int] = set()
    for n in range(100):  # placement is by random data ids: a drive left out of 100 is ~1e-12
        _, placed, _ = write(store, spec, payload_of(100 + n))
        slots = [placed.drive] if isinstance(placed, Plain) else list(placed.drives)
        assert len(set(slots)) == len(slots) == spec.k + spec.m
        used.update(slots)
    assert used == set(range(drives))  # every drive takes its share


def test_a_bad_digest_leaves_nothing_on_any_drive(tmp_path: Path, layout: tuple[int, Spec]) -> None:
    drives, spec = layout
    store = data_store(tmp_path, drives)
    with pytest.raises(NativeS3Error) as raised:
        write(store, spec, payload_of(2 * STRIPE_SIZE + 5), md5=b"\0" * 16)
    assert raised.value.code == "BadDigest"
    assert files_on(tmp_path) == []


def test_remove_and_the_orphan_listing(tmp_path: Path, layout: tuple[int, Spec]) -> None:
    drives, spec = layout
    store = data_store(tmp_path, drives)
    data_id, _, _ = write(store, spec, payload_of(5000))
    listed = store.files(before=float("inf"))
    assert {i for i, _ in listed} == {data_id} and len(listed) == spec.k + spec.m
    assert store.files(before=0) == []
    store.remove(data_id)
    assert files_on(tmp_path) == []


DAMAGE: dict[str, Callable[[Path], None]] = {
    "deleted": lambda p: p.unlink(),
    "truncated": lambda p: os.truncate(p, p.stat().st_size // 2),
    "flipped byte": lambda p: _flip(p, p.stat().st_size // 3),
    "zeroed block": lambda p: _zero(p, 40, 4096),
}


def _flip(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0x01]))


def _zero(path: Path, at: int, length: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(b"\0" * length)


def shard_files(store: DataStore, data_id: str, placed: Layout) -> list[Path]:
    """The data's files: its shards in order, or its one plain file."""
    slots = [placed.drive] if isinstance(placed, Plain) else placed.drives
    return [Path(store.drives[slot].file(data_id)) for slot in slots]


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_is_rebuilt_within_redundancy_and_refused_beyond(
    tmp_path: Path, layout: tuple[int, Spec], damage: str
) -> None:
    """Each file damaged in turn: the right bytes (rebuilt from the others), or for a plain
    file (no other copy) an error, never wrong bytes."""
    drives, spec = layout
    store = data_store(tmp_path, drives)
    size = 2 * STRIPE_SIZE + 999
    payload = payload_of(size)
    data_id, placed, _ = write(store, spec, payload)
    for path in shard_files(store, data_id, placed):
        kept = path.read_bytes()
        DAMAGE[damage](path)
        piece = Piece(data_id, 0, size, placed, size)
        if spec.plain:
            with pytest.raises((NativeS3Error, OSError)):
                read(store, piece)
        else:
            assert read(store, piece) == payload
        path.write_bytes(kept)
    assert read(store, Piece(data_id, 0, size, placed, size)) == payload


@pytest.mark.parametrize("spec", [Spec(2, 2), Spec()], ids=["ec-2+2", "plain"])
def test_a_foreign_file_is_refused(tmp_path: Path, spec: Spec) -> None:
    """Another object's file in the place of this one's is never read as this object's bytes
    (blocks are keyed to the data id): rebuilt from the others, or an error."""
    store = data_store(tmp_path, 4)
    payload = payload_of(STRIPE_SIZE + 10)
    data_id, placed, _ = write(store, spec, payload)
    other, other_placed, _ = write(store, spec, payload_of(STRIPE_SIZE + 10))
    mine = shard_files(store, data_id, placed)[0]
    mine.write_bytes(shard_files(store, other, other_placed)[0].read_bytes())
    piece = Piece(data_id, 0, len(payload), placed, len(payload))
    if spec.plain:
        with pytest.raises(NativeS3Error):
            read(store, piece)
    else:
        assert read(store, piece) == payload


def test_damage_beyond_redundancy_is_an_error(tmp_path: Path, layout: tuple[int, Spec]) -> None:
    drives, spec = layout
    store = data_store(tmp_path, drives)
    size = STRIPE_SIZE + 1
    data_id, placed, _ = write(store, spec, payload_of(size))
    piece = Piece(data_id, 0, size, placed, size)
    lost = [Path(store.path_for(piece))] if isinstance(placed, Plain) else []
    if isinstance(placed, Sharded):
        files = shard_files(store, data_id, placed)
        for path in files[: spec.m + 1]:
            _flip(path, 100)  # every copy or parity gone bad, and one more
        with pytest.raises(NativeS3Error):
            read(store, piece)
        lost = files[: spec.m + 1]
    for path in lost:
        path.unlink()
    with pytest.raises(DataLostError):
        store.check([piece])


def test_drives_offline_within_and_beyond_the_write_quorum(tmp_path: Path) -> None:
    store = data_store(tmp_path, 4)
    spec = Spec(2, 2)  # quorum: 3 of 4
    store.drives[1].marker.unlink()  # drive 1 is gone (unmounted, say)
    store.drives.forget()
    payload = payload_of(STRIPE_SIZE * 2)
    data_id, placed, result = write(store, spec, payload)
    assert isinstance(placed, Sharded)
    written = dict(zip(placed.drives, result["shards"], strict=True))
    assert written == {0: True, 1: False, 2: True, 3: True}
    assert not os.path.exists(store.drives[1].file(data_id))
    assert read(store, Piece(data_id, 0, len(payload), placed, len(payload))) == payload
    store.drives[2].marker.unlink()
    store.drives.forget()
    before = files_on(tmp_path)
    with pytest.raises(NativeS3Error):
        write(store, spec, payload)
    assert files_on(tmp_path) == before  # nothing of the failed write


def test_the_http_server_sends_a_plain_file_only_once_it_was_read_verified(
    tmp_path: Path,
) -> None:
    store = data_store(tmp_path, 1)
    size = 3 * STRIPE_SIZE
    payload = payload_of(size)
    data_id, placed, _ = write(store, Spec(), payload)
    piece = Piece(data_id, 0, size, placed, size)
    path = store.path_for(piece)
    assert not store.served_by_file(piece)  # never read: through the verifying reader
    assert read(store, piece) == payload
    assert store.served_by_file(piece) == is_cached(path, 0, size)
    _flip(Path(path), STRIPE_SIZE + 7)
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # as if the disk had changed it
    os.close(fd)
    assert not store.served_by_file(piece)
    with pytest.raises(NativeS3Error):
        read(store, piece)
    assert not store.served_by_file(piece)
