"""Encrypted objects through the binding: an ObjectWriter with `seal` (a data key) stores the
sealed stream (64 KiB AES-256-GCM packages) in a plain file, in 2+2 shards or inline, digests
of the plaintext; ObjectReader / ErasureReader with `seal` and open_sealed_range read the
plaintext back, whole and by ranges; the key helpers wrap, derive and check keys."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from oxstore import _native
from tests.native.test_plain_sums import flip

BLOCK = _native.STRIPE_SIZE
PACKAGE = 64 * 1024
SEALED_PACKAGE = PACKAGE + 16
DATA_ID = "data-id-1"
SIZES = [0, 1, 13, PACKAGE, BLOCK, BLOCK + 17, 3 * BLOCK, 5 * BLOCK + 3]


def feed(writer: _native.ObjectWriter, data: bytes) -> None:
    view = memoryview(data)
    for at in range(0, len(data), 300_000):
        writer.feed(view[at : at + 300_000])


def check(result: _native.WriteResult, data: bytes) -> None:
    assert result["size"] == len(data)
    assert result["stored_size"] == _native.sealed_size(len(data))
    assert result["digests"]["md5"] == hashlib.md5(data).digest()


def write_file(tmp_path: Path, data: bytes, key: bytes) -> Path:
    final = tmp_path / "f"
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"], seal=key)
    feed(writer, data)
    result = writer.finish(str(final), {"md5": hashlib.md5(data).digest()}, len(data))
    check(result, data)
    assert result["inline"] is None
    return final


def drives(tmp_path: Path) -> list[Path]:
    dirs = [tmp_path / f"d{i}" for i in range(4)]
    for d in dirs:
        d.mkdir(parents=True)
    return dirs


def write_shards(dirs: list[Path], data: bytes, key: bytes) -> list[str | None]:
    temps: list[str | None] = [str(d / "t") for d in dirs]
    finals: list[str | None] = [str(d / "f") for d in dirs]
    spec: _native.ShardSpec = {"k": 2, "m": 2, "quorum": 4, "key": DATA_ID, "temp_paths": temps}
    writer = _native.ObjectWriter("", ["md5"], shards=spec, seal=key)
    feed(writer, data)
    result = writer.finish("", {}, len(data), final_paths=finals)
    check(result, data)
    assert result["shards"] == [True] * 4
    return finals


def ranges(size: int) -> list[tuple[int, int]]:
    """Ranges across package, block and stripe boundaries, cut at the end and past it."""
    return [
        (0, size),
        (0, 1),
        (PACKAGE - 1, 2),
        (PACKAGE - 10, 3 * PACKAGE),
        (BLOCK - 1, 2),
        (BLOCK - 100, BLOCK + 200),
        (2 * BLOCK + 5, 2 * BLOCK),
        (size // 2, size),
        (max(size - 1, 0), 10),
        (size, 5),
        (size + 5, 5),
    ]


def check_ranges(reader: _native.ObjectReader | _native.ErasureReader, data: bytes) -> None:
    for offset, length in ranges(len(data)):
        got = reader.read(offset, length)
        assert got == data[offset : offset + length], (len(data), offset, length)
    pieces = b"".join(reader.read(at, 100_003) for at in range(0, len(data), 100_003))
    assert pieces == data


@pytest.mark.parametrize("size", SIZES)
def test_a_sealed_file_reads_back_whole_and_by_ranges(tmp_path: Path, size: int) -> None:
    key = _native.random_data_key()
    data = os.urandom(size)
    path = write_file(tmp_path, data, key)
    assert path.read_bytes() == _native.seal_stream(key, data), "exactly the sealed stream"
    assert path.stat().st_size == _native.sealed_size(size)
    reader = _native.ObjectReader(str(path), size, seal=key)
    assert reader.size() == size
    check_ranges(reader, data)
    assert reader.verify() == []
    reader.close()
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("size", [0, 13, BLOCK, 3 * BLOCK, 5 * BLOCK + 3])
def test_sealed_shards_read_back_with_a_shard_missing(tmp_path: Path, size: int) -> None:
    key = _native.random_data_key()
    data = os.urandom(size)
    dirs = drives(tmp_path)
    finals = write_shards(dirs, data, key)
    stripe = _native.SEALED_BLOCK

    def reader() -> _native.ErasureReader:
        return _native.ErasureReader(finals, 2, 2, stripe, size, DATA_ID, seal=key)

    healthy = reader()
    check_ranges(healthy, data)
    assert healthy.verify() == []
    os.remove(dirs[0] / "f")
    degraded = reader()
    check_ranges(degraded, data)
    assert degraded.damaged() == [0]
    # verify and heal are of the sealed stream's blocks: no key needed
    scrub = _native.ErasureReader(finals, 2, 2, stripe, _native.sealed_size(size), DATA_ID)
    assert scrub.verify() == [0]
    temps = [str(d / "heal") for d in dirs]
    assert scrub.heal(temps) == ([0], [])
    assert reader().read(0, size) == data
    assert reader().verify() == []


def bytes_read() -> int:
    """What this process has read by system calls so far (/proc/self/io's rchar)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def shard_at(sealed_at: int) -> tuple[int, int]:
    """Where byte `sealed_at` of the sealed stream is in 2+2 shards: (data shard, offset in
    its file); each stripe is a SEALED_BLOCK, each shard block its hash and then its part."""
    shard_len = _native.ErasureCodec(2, 2).shard_len(_native.SEALED_BLOCK)
    stripe, inside = divmod(sealed_at, _native.SEALED_BLOCK)
    shard, at = divmod(inside, shard_len)
    return shard, stripe * (32 + shard_len) + 32 + at


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts reads by /proc/self/io")
def test_a_small_read_of_sealed_shards_reads_only_its_packages(tmp_path: Path) -> None:
    key = _native.random_data_key()
    size = 3 * BLOCK + 12_345
    data = os.urandom(size)
    dirs = drives(tmp_path)
    finals = write_shards(dirs, data, key)
    stripe = _native.SEALED_BLOCK
    slack = 4096
    for offset, length, packages in [
        (0, 1, 1),
        (BLOCK + 5 * PACKAGE + 3, 1, 1),
        (PACKAGE - 1, 2, 2),
        (BLOCK - 1, 2, 2),  # the last package of a stripe and the first of the next
        (size - 1, 1, 1),
    ]:
        reader = _native.ErasureReader(finals, 2, 2, stripe, size, DATA_ID, seal=key)
        before = bytes_read()
        got = reader.read(offset, length)
        read = bytes_read() - before
        assert got == data[offset : offset + length]
        assert read <= packages * SEALED_PACKAGE + slack, (offset, length, read)
        reader.close()

    # a flipped ciphertext byte in one data shard: read right all the same, from the others,
    # and the shard is named for healing
    seq = 2 * 16 + 3  # package 3 of stripe 2
    shard, at = shard_at(seq * SEALED_PACKAGE + 1000)
    flip(Path(str(finals[shard])), at)
    reader = _native.ErasureReader(finals, 2, 2, stripe, size, DATA_ID, seal=key)
    assert reader.read(seq * PACKAGE + 7, 1) == data[seq * PACKAGE + 7 : seq * PACKAGE + 8]
    assert reader.damaged() == [shard]
    assert reader.read(0, size) == data


def test_a_flipped_byte_fails_only_the_reads_of_its_package(tmp_path: Path) -> None:
    key = _native.random_data_key()
    size = 3 * BLOCK + 17
    data = os.urandom(size)
    path = write_file(tmp_path, data, key)
    flip(path, 20 * SEALED_PACKAGE + 100)  # package 20, in block 1
    reader = _native.ObjectReader(str(path), size, seal=key)
    assert reader.read(0, BLOCK) == data[:BLOCK]
    assert reader.read(21 * PACKAGE, 10) == data[21 * PACKAGE : 21 * PACKAGE + 10]
    for offset, length in [(20 * PACKAGE, 1), (20 * PACKAGE - 1, 2), (0, size)]:
        with pytest.raises(_native.NativeS3Error) as info:
            reader.read(offset, length)
        assert info.value.code == "InternalError"
        assert info.value.message == "package 20 of the encrypted data is corrupt"
    assert reader.verify() == [1]


def test_another_key_fails_and_a_wrong_length_fails_open(tmp_path: Path) -> None:
    data = os.urandom(BLOCK + 5)
    path = write_file(tmp_path, data, _native.random_data_key())
    other = _native.ObjectReader(str(path), len(data), seal=_native.random_data_key())
    with pytest.raises(_native.NativeS3Error):
        other.read(0, 1)
    assert other.verify() == [0, 1]
    with pytest.raises(_native.NativeS3Error) as info:
        _native.ObjectReader(str(path), len(data) + 1, seal=_native.random_data_key())
    assert info.value.code == "InternalError"


def test_sealed_inline_payloads_open_by_ranges(tmp_path: Path) -> None:
    key = _native.random_data_key()
    for size in (0, 1, 5000, 100_000):
        data = os.urandom(size)
        writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"], inline_limit=100_000, seal=key)
        feed(writer, data)
        assert writer.stays_inline()
        result = writer.finish(str(tmp_path / "f"), {}, size)
        check(result, data)
        sealed = result["inline"]
        assert sealed is not None and sealed == _native.seal_stream(key, data)
        assert _native.open_sealed_range(key, sealed, size, 0, size + 1) == data
        for offset, length in [(0, 1), (PACKAGE - 3, 10), (size, 5), (size // 3, PACKAGE)]:
            got = _native.open_sealed_range(key, memoryview(sealed), size, offset, length)
            assert got == data[offset : offset + length]
        assert not list(tmp_path.iterdir())
    sealed = _native.seal_stream(key, b"hello")
    with pytest.raises(_native.NativeS3Error):
        _native.open_sealed_range(_native.random_data_key(), sealed, 5, 0, 5)
    with pytest.raises(_native.NativeS3Error):
        _native.open_sealed_range(key, sealed[:-1], 5, 0, 5)


def test_refused_combinations(tmp_path: Path) -> None:
    key = _native.random_data_key()
    with pytest.raises(_native.NativeS3Error) as info:
        _native.ObjectWriter(str(tmp_path / "t"), ["md5"], sums=DATA_ID, seal=key)
    assert info.value.code == "InternalError"
    with pytest.raises(_native.NativeS3Error) as info:
        _native.ObjectWriter(str(tmp_path / "t"), ["md5"], seal=b"short")
    assert info.value.code == "InvalidArgument"
    path = write_file(tmp_path, b"x", key)
    with pytest.raises(ValueError):
        _native.ObjectReader(str(path), seal=key)  # no size
    with pytest.raises(ValueError):
        _native.ObjectReader(str(path), 1, DATA_ID, seal=key)  # sums and a seal
    assert _native.SEALED_BLOCK == 16 * SEALED_PACKAGE
    assert _native.sealed_size(0) == 16
    assert _native.sealed_size(BLOCK) == _native.SEALED_BLOCK
    assert _native.sealed_size(PACKAGE + 1) == PACKAGE + 1 + 32


def test_a_data_key_wraps_bound_to_its_data_id() -> None:
    kek = _native.sse_s3_kek(b"master key")
    assert len(kek) == 32 and kek == _native.sse_s3_kek(b"master key")
    assert kek != _native.sse_s3_kek(b"another master")
    data_key = _native.random_data_key()
    wrapped = _native.wrap_data_key(kek, data_key, DATA_ID)
    assert data_key not in wrapped
    assert _native.unwrap_data_key(kek, wrapped, DATA_ID) == data_key
    for kek_, bound_to, record in [
        (kek, "data-id-2", wrapped),
        (_native.sse_s3_kek(b"other"), DATA_ID, wrapped),
        (kek, DATA_ID, wrapped[:-1] + bytes([wrapped[-1] ^ 1])),
    ]:
        with pytest.raises(_native.NativeS3Error):
            _native.unwrap_data_key(kek_, record, bound_to)
    with pytest.raises(_native.NativeS3Error) as info:
        _native.wrap_data_key(b"short", data_key, DATA_ID)
    assert info.value.code == "InvalidArgument"


def test_part_keys_differ_per_part_and_per_upload_of_it(tmp_path: Path) -> None:
    upload = _native.random_data_key()
    first = _native.part_data_key(upload, 1, "part-a")
    assert len(first) == 32 and first == _native.part_data_key(upload, 1, "part-a")
    others = {
        _native.part_data_key(upload, 2, "part-a"),
        _native.part_data_key(upload, 1, "part-b"),
        _native.part_data_key(_native.random_data_key(), 1, "part-a"),
        upload,
    }
    assert first not in others and len(others) == 4
    data = os.urandom(PACKAGE + 1)
    path = write_file(tmp_path, data, first)
    assert _native.ObjectReader(str(path), len(data), seal=first).read(0, len(data)) == data
    wrong = _native.ObjectReader(str(path), len(data), seal=_native.part_data_key(upload, 2, "a"))
    with pytest.raises(_native.NativeS3Error):
        wrong.read(0, 1)


def test_customer_keys_are_recognised_without_being_stored() -> None:
    customer = os.urandom(32)
    check_value = _native.customer_key_check(b"master", customer, DATA_ID)
    assert len(check_value) == 32 and customer not in check_value
    assert _native.customer_key_matches(b"master", customer, DATA_ID, check_value)
    assert not _native.customer_key_matches(b"master", os.urandom(32), DATA_ID, check_value)
    assert not _native.customer_key_matches(b"master", customer, "data-id-2", check_value)
    assert not _native.customer_key_matches(b"other", customer, DATA_ID, check_value)
    with pytest.raises(_native.NativeS3Error) as info:
        _native.customer_key_check(b"master", b"short", DATA_ID)
    assert info.value.code == "InvalidArgument"


def test_the_records_idea_of_a_sealed_size_is_the_cores() -> None:
    """meta.records.stored_size repeats the format's arithmetic (the metadata layer does not
    load the native core): it must agree."""
    from oxstore.meta.records import stored_size

    for size in [0, 1, PACKAGE - 1, PACKAGE, PACKAGE + 1, BLOCK, 5 * BLOCK + 3, 10**9 + 7]:
        assert stored_size(size, True) == _native.sealed_size(size), size
        assert stored_size(size, False) == size
