"""pytest-benchmark of every native primitive at 4 KiB, 1 MiB and 16 MiB, with hashlib's MD5
beside them as the machine's baseline.

    python -m pytest bench/micro --benchmark-columns=mean,ops
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from oxstore import _native
from tests.s3.signing import aws_chunked

SIZES = {"4KiB": 4096, "1MiB": 1 << 20, "16MiB": 16 << 20}
DATA = {name: os.urandom(size) for name, size in SIZES.items()}
KEY = _native.sigv4_signing_key("secret", "20260101", "us-east-1", "s3")
DATE, SCOPE, SEED = "20260101T000000Z", "20260101/us-east-1/s3/aws4_request", "ab" * 32


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def data(request) -> bytes:  # type: ignore[no-untyped-def]
    return DATA[request.param]


@pytest.mark.parametrize("algorithm", _native.ALGORITHMS)
def test_digest(benchmark, data: bytes, algorithm: str) -> None:
    benchmark.extra_info["bytes"] = len(data)
    benchmark(_native.digest, algorithm, data)


def test_hashlib_md5_baseline(benchmark, data: bytes) -> None:
    benchmark.extra_info["bytes"] = len(data)
    benchmark(lambda: hashlib.md5(data).digest())


def test_multi_hasher_md5_crc32(benchmark, data: bytes) -> None:
    def run() -> None:
        hasher = _native.MultiHasher(["md5", "crc32"])
        hasher.update(data)
        hasher.digests()

    benchmark(run)


def test_sigv4_signature(benchmark) -> None:
    creq = _native.sigv4_canonical_request(
        "GET",
        "/bucket/key",
        [("list-type", "2")],
        [("host", "h"), ("x-amz-date", DATE)],
        ["host", "x-amz-date"],
        "UNSIGNED-PAYLOAD",
    )

    def run() -> str:
        sts = _native.sigv4_string_to_sign(DATE, SCOPE, creq)
        return _native.sigv4_signature(KEY, sts)

    benchmark(run)


def test_chunk_signature(benchmark, data: bytes) -> None:
    benchmark(_native.sigv4_chunk_signature, KEY, DATE, SCOPE, SEED, data)


def test_chunked_decoding(benchmark, data: bytes, tmp_path: Path) -> None:
    body = aws_chunked(data, 64 * 1024, KEY, DATE, SCOPE, SEED)
    spec = {
        "mode": "signed",
        "signing_key": KEY,
        "amz_date": DATE,
        "scope": SCOPE,
        "seed_signature": SEED,
        "decoded_length": len(data),
    }
    counter = iter(range(10**9))

    def run() -> None:
        n = next(counter)
        writer = _native.ObjectWriter(str(tmp_path / f"t{n}"), ["md5"], spec)
        writer.feed(body)
        writer.finish(str(tmp_path / f"f{n}"), {})
        os.unlink(tmp_path / f"f{n}")

    benchmark(run)


def test_object_writer(benchmark, data: bytes, tmp_path: Path) -> None:
    counter = iter(range(10**9))
    view = memoryview(data)

    def run() -> None:
        n = next(counter)
        writer = _native.ObjectWriter(str(tmp_path / f"t{n}"), ["md5", "crc32"])
        for at in range(0, len(data), 256 * 1024):
            writer.feed(view[at : at + 256 * 1024])
        writer.finish(str(tmp_path / f"f{n}"), {})
        os.unlink(tmp_path / f"f{n}")

    benchmark(run)


def test_object_reader(benchmark, data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "obj"
    path.write_bytes(data)
    reader = _native.ObjectReader(str(path))
    benchmark(reader.read, 0, len(data))


LAYOUTS = [(2, 1), (2, 2), (4, 2), (8, 4)]
STRIPE = os.urandom(4 << 20)  # the data of one stripe


@pytest.mark.parametrize(("k", "m"), LAYOUTS, ids=[f"{k}+{m}" for k, m in LAYOUTS])
def test_erasure_encode(benchmark, k: int, m: int) -> None:
    codec = _native.ErasureCodec(k, m)
    benchmark.extra_info["bytes"] = len(STRIPE)
    benchmark(codec.encode, STRIPE)


@pytest.mark.parametrize(("k", "m"), LAYOUTS, ids=[f"{k}+{m}" for k, m in LAYOUTS])
def test_erasure_reconstruct(benchmark, k: int, m: int) -> None:
    """The stripe back with as many data shards lost as the layout survives (the worst case)."""
    codec = _native.ErasureCodec(k, m)
    shards: list[bytes | None] = list(codec.encode(STRIPE))
    for lost in range(min(k, m)):
        shards[lost] = None
    benchmark.extra_info["bytes"] = len(STRIPE)
    assert benchmark(codec.reconstruct, shards, len(STRIPE)) == STRIPE


SSE_DATA = os.urandom(8 << 20)  # the plaintext seal and open run over
DATA_KEY = _native.random_data_key()


def test_seal_stream(benchmark) -> None:
    benchmark.extra_info["bytes"] = len(SSE_DATA)
    benchmark(_native.seal_stream, DATA_KEY, SSE_DATA)


def test_open_stream(benchmark) -> None:
    sealed = _native.seal_stream(DATA_KEY, SSE_DATA)
    benchmark.extra_info["bytes"] = len(SSE_DATA)
    assert benchmark(_native.open_stream, DATA_KEY, sealed) == SSE_DATA


def test_hashlib_md5_baseline_sse_data(benchmark) -> None:
    """The baseline over the same 8 MiB as seal and open."""
    benchmark.extra_info["bytes"] = len(SSE_DATA)
    benchmark(lambda: hashlib.md5(SSE_DATA).digest())


# ---- encrypted vs unencrypted data path: pairs, so the ratio reads off one run -------------

BIG = 64 << 20


@pytest.fixture(scope="module")
def big() -> bytes:
    return os.urandom(BIG)


def _object_writer_64mib(benchmark, big: bytes, tmp_path: Path, seal: bytes | None) -> None:
    """A 64 MiB PUT to a plain file, MD5 of the plaintext, fed in 256 KiB pieces; fsynced."""
    counter = iter(range(10**9))
    view = memoryview(big)

    def run() -> None:
        n = next(counter)
        writer = _native.ObjectWriter(str(tmp_path / f"t{n}"), ["md5"], seal=seal)
        for at in range(0, len(big), 256 * 1024):
            writer.feed(view[at : at + 256 * 1024])
        writer.finish(str(tmp_path / f"f{n}"), {})
        os.unlink(tmp_path / f"f{n}")

    benchmark.extra_info["bytes"] = len(big)
    benchmark(run)


def test_object_writer_64mib_md5(benchmark, big: bytes, tmp_path: Path) -> None:
    _object_writer_64mib(benchmark, big, tmp_path, None)


def test_object_writer_64mib_md5_sealed(benchmark, big: bytes, tmp_path: Path) -> None:
    _object_writer_64mib(benchmark, big, tmp_path, DATA_KEY)


def test_object_reader_64mib_hot(benchmark, big: bytes, tmp_path: Path) -> None:
    """A whole 64 MiB GET of a file in the page cache."""
    path = tmp_path / "obj"
    path.write_bytes(big)
    reader = _native.ObjectReader(str(path))
    benchmark.extra_info["bytes"] = len(big)
    assert benchmark(reader.read, 0, len(big)) == big


def test_object_reader_64mib_hot_sealed(benchmark, big: bytes, tmp_path: Path) -> None:
    """The same GET of the sealed file: every package read and opened."""
    path = tmp_path / "obj"
    path.write_bytes(_native.seal_stream(DATA_KEY, big))
    reader = _native.ObjectReader(str(path), len(big), seal=DATA_KEY)
    benchmark.extra_info["bytes"] = len(big)
    assert benchmark(reader.read, 0, len(big)) == big
