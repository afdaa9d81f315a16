"""Erasure-coded objects through the binding: a shards ObjectWriter over four drives (temp
directories), read back by ErasureReader, whole and by ranges, healthy and damaged."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from oxstore import _native

STRIPE = _native.STRIPE_SIZE
SIZE = 3 * STRIPE + 17
KEY = "data-id-1"


def drives(tmp_path: Path, n: int = 4) -> list[Path]:
    dirs = [tmp_path / f"d{i}" for i in range(n)]
    for d in dirs:
        d.mkdir(parents=True)
    return dirs


def files_in(dirs: list[Path]) -> list[Path]:
    return [f for d in dirs for f in d.iterdir()]


def write(
    dirs: list[Path],
    data: bytes,
    *,
    k: int = 2,
    m: int = 2,
    quorum: int = 4,
    offline: tuple[int, ...] = (),
    expected: dict[str, bytes] | None = None,
) -> tuple[_native.WriteResult, list[str | None]]:
    temps = [None if i in offline else str(d / "t") for i, d in enumerate(dirs)]
    finals = [None if i in offline else str(d / "f") for i, d in enumerate(dirs)]
    spec: _native.ShardSpec = {"k": k, "m": m, "quorum": quorum, "key": KEY, "temp_paths": temps}
    writer = _native.ObjectWriter("", ["md5"], shards=spec)
    view = memoryview(data)
    for at in range(0, len(data), 300_000):
        writer.feed(view[at : at + 300_000])
    if expected is None:
        expected = {"md5": hashlib.md5(data).digest()}
    result = writer.finish("", expected, len(data), final_paths=finals)
    return result, finals


def reader(paths: list[str | None], size: int, k: int = 2, m: int = 2) -> _native.ErasureReader:
    return _native.ErasureReader(paths, k, m, STRIPE, size, KEY)


RANGES = [
    (0, SIZE),
    (0, 1),
    (STRIPE - 1, 2),  # across a stripe boundary
    (STRIPE - 100, 2 * STRIPE + 200),  # across two
    (STRIPE // 2 - 5, 10),  # across the two data shards of a stripe
    (SIZE - 10, 100),  # cut at the end
    (SIZE, 10),
    (SIZE + 10, 10),
]


def check_ranges(r: _native.ErasureReader, data: bytes) -> None:
    for offset, length in RANGES:
        assert r.read(offset, length) == data[offset : offset + length], (offset, length)


def test_write_and_read_back_whole_and_by_ranges(tmp_path: Path) -> None:
    dirs = drives(tmp_path)
    data = os.urandom(SIZE)
    result, finals = write(dirs, data)
    assert result["size"] == SIZE
    assert result["digests"]["md5"] == hashlib.md5(data).digest()
    assert result["shards"] == [True, True, True, True]
    assert result["inline"] is None
    assert sorted(p.name for p in files_in(dirs)) == ["f"] * 4
    r = reader(finals, SIZE)
    check_ranges(r, data)
    assert r.damaged() == []
    assert r.verify() == []
    r.close()
    with pytest.raises(ValueError):
        r.read(0, 1)


def test_replication_and_no_parity(tmp_path: Path) -> None:
    data = os.urandom(STRIPE + 5)
    for k, m in ((1, 2), (2, 0)):
        dirs = drives(tmp_path / f"{k}-{m}", k + m)
        _, finals = write(dirs, data, k=k, m=m, quorum=k + m)
        assert reader(finals, len(data), k, m).read(0, len(data)) == data
        if k == 1:  # copies: any one shard is the object
            only: list[str | None] = [None, None, finals[2]]
            assert reader(only, len(data), k, m).read(0, len(data)) == data


def test_a_missing_shard_is_rebuilt_and_reported(tmp_path: Path) -> None:
    dirs = drives(tmp_path)
    data = os.urandom(SIZE)
    _, finals = write(dirs, data)
    os.remove(dirs[0] / "f")
    r = reader(finals, SIZE)
    check_ranges(r, data)
    assert r.damaged() == [0]
    assert r.verify() == [0]


def test_a_flipped_byte_is_rebuilt_and_reported(tmp_path: Path) -> None:
    dirs = drives(tmp_path)
    data = os.urandom(SIZE)
    _, finals = write(dirs, data)
    shard = dirs[1] / "f"
    raw = bytearray(shard.read_bytes())
    raw[2 * (32 + STRIPE // 2) + 32 + 1000] ^= 1  # data of stripe 2
    shard.write_bytes(bytes(raw))
    r = reader(finals, SIZE)
    assert r.read(0, STRIPE) == data[:STRIPE]
    assert r.damaged() == []  # stripe 2 not read yet
    assert r.read(0, SIZE) == data
    assert r.damaged() == [1]
    assert r.verify() == [1]


def test_beyond_parity_raises(tmp_path: Path) -> None:
    dirs = drives(tmp_path)
    data = os.urandom(SIZE)
    _, finals = write(dirs, data)
    for i in (0, 1, 3):
        os.remove(dirs[i] / "f")
    r = reader(finals, SIZE)
    with pytest.raises(_native.NativeS3Error) as info:
        r.read(0, SIZE)
    assert info.value.code == "InternalError"
    assert "lost" in info.value.message
    assert r.damaged() == [0, 1, 3]
    with pytest.raises(_native.NativeS3Error):
        r.verify()


def test_a_quorum_survives_one_offline_drive_not_two(tmp_path: Path) -> None:
    dirs = drives(tmp_path)
    data = os.urandom(SIZE)
    result, finals = write(dirs, data, quorum=3, offline=(2,))
    assert result["shards"] == [True, True, False, True]
    r = reader(finals, SIZE)
    assert r.read(0, SIZE) == data
    assert r.damaged() == []  # an offline drive is not damage
    assert r.verify() == [2]  # but its shard needs healing

    dirs = drives(tmp_path / "two", 4)
    with pytest.raises(_native.NativeS3Error) as info:
        write(dirs, data, quorum=3, offline=(1, 2))
    assert info.value.code == "ServiceUnavailable"
    assert "write quorum lost: 2 of 4 shards written, 3 needed" in info.value.message
    assert files_in(dirs) == []


def test_a_bad_content_md5_leaves_no_file_on_any_drive(tmp_path: Path) -> None:
    for size in (100, SIZE):
        dirs = drives(tmp_path / str(size))
        with pytest.raises(_native.NativeS3Error) as info:
            write(dirs, os.urandom(size), expected={"md5": b"\x01" * 16})
        assert info.value.code == "BadDigest"
        assert files_in(dirs) == []


def test_abort_and_inline(tmp_path: Path) -> None:
    dirs = drives(tmp_path)
    spec: _native.ShardSpec = {
        "k": 2,
        "m": 2,
        "quorum": 4,
        "key": KEY,
        "temp_paths": [str(d / "t") for d in dirs],
    }
    writer = _native.ObjectWriter("", ["md5"], shards=spec)
    writer.feed(os.urandom(3 * STRIPE))
    assert files_in(dirs) != []
    writer.abort()
    writer.abort()
    assert files_in(dirs) == []

    writer = _native.ObjectWriter("", ["md5"], None, None, 100, spec)
    writer.feed(b"tiny")
    with pytest.raises(ValueError):
        writer.finish("", {})  # a shards writer needs final_paths
    result = writer.finish("", {}, final_paths=[str(d / "f") for d in dirs])
    assert result["inline"] == b"tiny"
    assert result["shards"] is None
    assert files_in(dirs) == []

    with pytest.raises(_native.NativeS3Error):
        _native.ObjectWriter("", ["md5"], shards={**spec, "quorum": 1})  # below k


def test_plain_writer_result_has_no_shards(tmp_path: Path) -> None:
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"])
    writer.feed(b"abc")
    result = writer.finish(str(tmp_path / "f"), {})
    assert result["shards"] is None
    assert (tmp_path / "f").read_bytes() == b"abc"
