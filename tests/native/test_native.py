"""Differential tests of the native core against hashlib / zlib / hmac on random inputs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import zlib
from pathlib import Path

import pytest

from oxstore import _native

SIZES = [0, 1, 7, 64, 1000, 65_536, 1_000_003]


def crc32c_reference(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def crc64nvme_reference(data: bytes) -> int:
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x9A6C9329AC4BC9B5 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def reference(algorithm: str, data: bytes) -> bytes:
    if algorithm == "crc32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "crc32c":
        return crc32c_reference(data).to_bytes(4, "big")
    if algorithm == "crc64nvme":
        return crc64nvme_reference(data).to_bytes(8, "big")
    return hashlib.new(algorithm, data).digest()


@pytest.mark.parametrize("algorithm", _native.ALGORITHMS)
@pytest.mark.parametrize("size", SIZES)
def test_digest_matches_reference(algorithm: str, size: int) -> None:
    if algorithm in ("crc32c", "crc64nvme") and size > 65_536:
        size = 65_536  # the pure-Python references are slow
    data = os.urandom(size)
    assert _native.digest(algorithm, data) == reference(algorithm, data)


def test_check_values() -> None:
    assert _native.digest("crc32c", b"123456789").hex() == "e3069283"
    assert _native.digest("crc64nvme", b"123456789").hex() == "ae8b14860a799888"


def test_multi_hasher_in_pieces_of_every_buffer_kind() -> None:
    data = os.urandom(300_001)
    hasher = _native.MultiHasher(list(_native.ALGORITHMS))
    rng = random.Random(3)
    at = 0
    while at < len(data):
        step = rng.randint(1, 70_000)
        piece = data[at : at + step]
        hasher.update(rng.choice([bytes, bytearray, memoryview])(piece))
        at += step
    digests = hasher.digests()
    for algorithm in ("md5", "sha1", "sha256", "crc32"):
        assert digests[algorithm] == reference(algorithm, data)


def test_multipart_etag() -> None:
    parts = [os.urandom(100), os.urandom(200)]
    md5s = [hashlib.md5(p).digest() for p in parts]
    expected = hashlib.md5(b"".join(md5s)).hexdigest() + "-2"
    assert _native.multipart_etag(md5s) == expected


def test_hmac_and_sha256_hex() -> None:
    for _ in range(20):
        key, data = os.urandom(32), os.urandom(random.randint(0, 5000))
        assert _native.hmac_sha256(key, data) == hmac.new(key, data, hashlib.sha256).digest()
        assert _native.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def test_signing_key_and_signature_match_a_reference() -> None:
    for _ in range(10):
        secret = base64.b64encode(os.urandom(30)).decode()
        key = _native.sigv4_signing_key(secret, "20260101", "eu-west-3", "s3")
        assert key == _signing_key(secret, "20260101", "eu-west-3", "s3")
        text = os.urandom(50).hex()
        assert (
            _native.sigv4_signature(key, text) == hmac.new(key, text.encode(), "sha256").hexdigest()
        )


def test_constant_time_eq() -> None:
    assert _native.constant_time_eq("abc", "abc")
    assert not _native.constant_time_eq("abc", "abd")
    assert not _native.constant_time_eq(b"abc", b"ab")


def test_canonical_request_matches_botocore() -> None:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = "http://127.0.0.1:9000/bucket/a%20key/%C3%A9%2Bx?prefix=a%2Fb&list-type=2&acl"
    request = AWSRequest(method="GET", url=url, headers={"X-Amz-Meta-A": "  b   c "})
    auth = S3SigV4Auth(Credentials("AK", "SK"), "s3", "us-east-1")
    auth.add_auth(request)
    prepared = request.prepare()
    expected = auth.canonical_request(request)
    headers = [("host", "127.0.0.1:9000")] + [(k.lower(), v) for k, v in prepared.headers.items()]
    signed = auth.signed_headers(auth.headers_to_sign(request)).split(";")
    from urllib.parse import parse_qsl

    query = parse_qsl("prefix=a%2Fb&list-type=2&acl", keep_blank_values=True)
    got = _native.sigv4_canonical_request(
        "GET",
        "/bucket/a%20key/%C3%A9%2Bx",
        query,
        headers,
        signed,
        request.headers["X-Amz-Content-SHA256"],
    )
    assert got == expected


def _chunked_body(payload: bytes, key: bytes, date: str, scope: str, seed: str) -> bytes:
    from tests.s3.signing import aws_chunked

    return aws_chunked(payload, 10_000, key, date, scope, seed)


def test_object_writer_plain_and_chunked(tmp_path: Path) -> None:
    payload = os.urandom(2_500_000)
    writer = _native.ObjectWriter(str(tmp_path / "t1"), ["md5", "crc32"], None, None)
    view = memoryview(payload)
    for at in range(0, len(payload), 65_536):
        writer.feed(view[at : at + 65_536])
    result = writer.finish(
        str(tmp_path / "f1"), {"md5": hashlib.md5(payload).digest()}, len(payload)
    )
    assert result["size"] == len(payload)
    assert result["digests"]["crc32"] == zlib.crc32(payload).to_bytes(4, "big")
    assert (tmp_path / "f1").read_bytes() == payload
    assert not (tmp_path / "t1").exists()

    key = _signing_key("secret", "20260101", "us-east-1", "s3")
    date, scope, seed = "20260101T000000Z", "20260101/us-east-1/s3/aws4_request", "ab" * 32
    body = _chunked_body(payload, key, date, scope, seed)
    spec = {
        "mode": "signed",
        "signing_key": key,
        "amz_date": date,
        "scope": scope,
        "seed_signature": seed,
        "decoded_length": len(payload),
    }
    writer = _native.ObjectWriter(str(tmp_path / "t2"), ["md5"], spec, None)
    rng = random.Random(5)
    at = 0
    while at < len(body):
        step = rng.randint(1, 30_000)
        writer.feed(body[at : at + step])
        at += step
    result = writer.finish(str(tmp_path / "f2"), {})
    assert result["digests"]["md5"] == hashlib.md5(payload).digest()
    assert (tmp_path / "f2").read_bytes() == payload


@pytest.mark.parametrize(
    ("expected", "code"),
    [
        ({"md5": b"\0" * 16}, "BadDigest"),
        ({"sha256": b"\0" * 32}, "XAmzContentSHA256Mismatch"),
        ({"crc32": b"\0" * 4}, "BadDigest"),
    ],
)
def test_object_writer_mismatch_leaves_nothing(tmp_path: Path, expected, code: str) -> None:
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5", "sha256", "crc32"])
    writer.feed(os.urandom(3_000_000))
    with pytest.raises(_native.NativeS3Error) as info:
        writer.finish(str(tmp_path / "f"), expected)
    assert info.value.code == code
    assert list(tmp_path.iterdir()) == []


def test_object_writer_abort_and_short_body(tmp_path: Path) -> None:
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"])
    writer.feed(os.urandom(5_000_000))
    writer.abort()
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"])
    writer.feed(b"abc")
    with pytest.raises(_native.NativeS3Error) as info:
        writer.finish(str(tmp_path / "f"), {}, 10)
    assert info.value.code == "IncompleteBody"
    assert list(tmp_path.iterdir()) == []


def test_object_writer_inline_payloads(tmp_path: Path) -> None:
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"], None, None, 100)
    writer.feed(b"tiny payload")
    result = writer.finish(str(tmp_path / "f"), {"md5": hashlib.md5(b"tiny payload").digest()})
    assert result["inline"] == b"tiny payload"
    assert list(tmp_path.iterdir()) == []
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"], None, None, 100)
    writer.feed(b"x" * 101)
    assert writer.finish(str(tmp_path / "f"), {})["inline"] is None
    assert (tmp_path / "f").read_bytes() == b"x" * 101


def test_object_writer_max_size(tmp_path: Path) -> None:
    writer = _native.ObjectWriter(str(tmp_path / "t"), ["md5"], None, 100)
    writer.feed(b"x" * 100)
    with pytest.raises(_native.NativeS3Error) as info:
        writer.feed(b"y")
    assert info.value.code == "EntityTooLarge"
    writer.abort()


def test_object_reader_ranges(tmp_path: Path) -> None:
    data = os.urandom(100_000)
    (tmp_path / "f").write_bytes(data)
    reader = _native.ObjectReader(str(tmp_path / "f"))
    assert reader.size() == len(data)
    for offset, length in [(0, 10), (99_990, 100), (50_000, 0), (200_000, 5)]:
        assert reader.read(offset, length) == data[offset : offset + length]
    reader.close()


def test_seal_round_trip_and_tamper() -> None:
    key = os.urandom(32)
    sealed = _native.seal(key, b"secret", b"who")
    assert _native.unseal(key, sealed, b"who") == b"secret"
    with pytest.raises(ValueError):
        _native.unseal(os.urandom(32), sealed, b"who")
    with pytest.raises(ValueError):
        _native.unseal(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"who")


def test_erasure_codec_rebuilds_a_stripe_from_any_k_shards() -> None:
    data = os.urandom(100_001)
    codec = _native.ErasureCodec(2, 2)
    shards = codec.encode(memoryview(data))
    assert len(shards) == 4 and all(len(s) == codec.shard_len(len(data)) for s in shards)
    for lost in ((0, 1), (2, 3), (0, 3), (1, 2)):
        damaged: list[bytes | None] = list(shards)
        for n in lost:
            damaged[n] = None
        assert codec.reconstruct(damaged, len(data)) == data
    with pytest.raises(_native.NativeS3Error, match="the stripe is lost"):
        codec.reconstruct([shards[0], None, None, None], len(data))
    with pytest.raises(_native.NativeS3Error):
        _native.ErasureCodec(0, 2)
