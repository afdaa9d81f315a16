"""Plain data files with block sums through the binding: an ObjectWriter with `sums` appends a
trailer of per-block BLAKE3 hashes after the raw payload; ObjectReader(path, size, key) reads
it back verified, legacy ObjectReader(path) raw; is_cached() asks the page cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from oxstore import _native

BLOCK = _native.STRIPE_SIZE
SIZE = 3 * BLOCK + 17
KEY = "data-id-1"


def write(tmp_path: Path, data: bytes, sums: str | None = KEY) -> Path:
    final = tmp_path / "f"
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"], sums=sums)
    view = memoryview(data)
    for at in range(0, len(data), 300_000):
        writer.feed(view[at : at + 300_000])
    result = writer.finish(str(final), {"md5": hashlib.md5(data).digest()}, len(data))
    assert result["size"] == len(data)
    return final


def flip(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)[0]
        f.seek(at)
        f.write(bytes([byte ^ 0x40]))


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, SIZE])
def test_the_trailer_follows_the_raw_payload(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = write(tmp_path, data)
    blocks = -(-size // BLOCK)
    assert path.stat().st_size == size + 32 * blocks + 24
    raw = path.read_bytes()
    assert raw[:size] == data
    assert raw[-8:] == b"OXSUMS01"
    reader = _native.ObjectReader(str(path), size, KEY)
    assert reader.size() == size
    assert reader.read(0, size + 10) == data
    assert reader.verify() == []


def test_without_sums_the_file_is_the_payload(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    path = write(tmp_path, data, sums=None)
    assert path.read_bytes() == data


def test_verified_ranges(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    reader = _native.ObjectReader(str(write(tmp_path, data)), SIZE, KEY)
    ranges = [
        (0, 1),
        (BLOCK - 1, 2),
        (BLOCK - 100, 2 * BLOCK + 200),
        (SIZE - 10, 100),
        (SIZE, 10),
    ]
    for offset, length in ranges:
        assert reader.read(offset, length) == data[offset : offset + length], (offset, length)
    got = b"".join(reader.read(at, 65_536) for at in range(0, SIZE, 65_536))
    assert got == data


def test_a_flipped_byte_fails_the_reads_touching_it(tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    path = write(tmp_path, data)
    flip(path, BLOCK + 1000)
    reader = _native.ObjectReader(str(path), SIZE, KEY)
    assert reader.read(0, BLOCK) == data[:BLOCK]
    assert reader.read(2 * BLOCK, 10) == data[2 * BLOCK : 2 * BLOCK + 10]
    with pytest.raises(_native.NativeS3Error) as info:
        reader.read(BLOCK - 5, 10)
    assert info.value.code == "InternalError"
    assert info.value.message == "block 1 of the data file is corrupt"
    assert reader.verify() == [1]
    # the legacy reader does not check: it serves the bytes as they are
    legacy = _native.ObjectReader(str(path))
    assert legacy.size() == path.stat().st_size
    assert legacy.read(0, BLOCK) == data[:BLOCK]
    with pytest.raises(_native.NativeS3Error):
        legacy.verify()


def test_missing_or_damaged_sums_fail_open(tmp_path: Path) -> None:
    data = os.urandom(BLOCK + 5)
    path = write(tmp_path, data)
    with pytest.raises(_native.NativeS3Error) as info:
        _native.ObjectReader(str(path), len(data) + 1, KEY)
    assert info.value.message == "the data file's block sums are missing or damaged"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(_native.NativeS3Error):
        _native.ObjectReader(str(path), len(data), KEY)
    with pytest.raises(ValueError):
        _native.ObjectReader(str(path), len(data))


def test_sums_are_for_plain_files_only(tmp_path: Path) -> None:
    spec: _native.ShardSpec = {
        "k": 1,
        "m": 1,
        "quorum": 2,
        "key": KEY,
        "temp_paths": [str(tmp_path / "a"), str(tmp_path / "b")],
    }
    with pytest.raises(ValueError):
        _native.ObjectWriter("", ["md5"], shards=spec, sums=KEY)


def test_is_cached(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(4 * BLOCK))
    assert _native.is_cached(str(path), 0, 4 * BLOCK)
    assert _native.is_cached(str(path), 10, 10)
    assert not _native.is_cached(str(tmp_path / "gone"), 0, 1)
    assert not _native.is_cached(str(path), 0, 8 * BLOCK)  # past the end
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    # the kernel may keep some pages: only that it answers is checked
    assert isinstance(_native.is_cached(str(path), 0, 4 * BLOCK), bool)
