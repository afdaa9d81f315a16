"""A server over several drives (`oxstore server D1 D2 D3 D4`): objects erasure-coded 2+2 by
default, copies per site by storage policy, every read verified; a lost shard is rebuilt, a
drive gone leaves reads and writes going within quorum, and data lost beyond parity is an error,
never wrong bytes."""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import Server, temp_files
from tests.s3.helpers import expect_error

MiB = 1024 * 1024
SIZES = [0, 100, 40_000, 3 * MiB + 5]  # inline, inline, one stripe, several stripes

Start = Callable[..., Server]


def drives_of(tmp_path: Path, count: int) -> list[Path]:
    return [tmp_path / f"drive-{i}" for i in range(count)]


def start_on(server_factory: Start, drives: list[Path], *args: str) -> Server:
    return server_factory(data_dir=drives[0], drives=drives[1:], extra_args=list(args))


def data_files(drive: Path) -> dict[str, Path]:
    objects = drive / ".oxstore" / "objects"
    return {p.name: p for p in objects.rglob("*") if p.is_file()}


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@pytest.fixture
def four(tmp_path: Path, server_factory: Start) -> tuple[Server, list[Path]]:
    drives = drives_of(tmp_path, 4)
    return start_on(server_factory, drives, "--gc-grace", "0"), drives


def test_objects_are_erasure_coded_over_the_drives(four: tuple[Server, list[Path]]) -> None:
    server, drives = four
    assert "4 drives in 1 sites; default: erasure 2+2" in server.log()
    s3 = server.client()
    s3.create_bucket(Bucket="spread")
    for size in SIZES:
        s3.put_object(Bucket="spread", Key=f"o{size}", Body=payload(size))
    for size in SIZES:
        got = s3.get_object(Bucket="spread", Key=f"o{size}")["Body"].read()
        assert hashlib.md5(got).digest() == hashlib.md5(payload(size)).digest()
        if size > 10:
            ranged = s3.get_object(Bucket="spread", Key=f"o{size}", Range="bytes=7-")
            assert ranged["Body"].read() == payload(size)[7:]
    per_drive = [set(data_files(d)) for d in drives]
    assert all(len(files) == 2 for files in per_drive)  # one shard of each file on each drive
    assert len(set.union(*per_drive)) == 2
    for drive in drives:  # shards: no drive holds a whole copy of the big object
        assert all(path.stat().st_size < 3 * MiB for path in data_files(drive).values())
    big = payload(3 * MiB + 5)
    stripe = s3.get_object(Bucket="spread", Key=f"o{len(big)}", Range=f"bytes={MiB - 2}-{MiB + 1}")
    assert stripe["Body"].read() == big[MiB - 2 : MiB + 2]


def test_multipart_parts_are_coded_too(four: tuple[Server, list[Path]]) -> None:
    server, drives = four
    s3 = server.client()
    s3.create_bucket(Bucket="parts")
    first, second = payload(5 * MiB), payload(MiB + 3)
    upload = s3.create_multipart_upload(Bucket="parts", Key="k")["UploadId"]
    etags = [
        s3.upload_part(Bucket="parts", Key="k", UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in ((1, first), (2, second))
    ]
    s3.complete_multipart_upload(
        Bucket="parts",
        Key="k",
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]
        },
    )
    assert s3.get_object(Bucket="parts", Key="k")["Body"].read() == first + second
    assert s3.get_object(Bucket="parts", Key="k", PartNumber=2)["Body"].read() == second
    upload = s3.create_multipart_upload(Bucket="parts", Key="copy")["UploadId"]
    copied = s3.upload_part_copy(
        Bucket="parts", Key="copy", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": "parts", "Key": "k"}, CopySourceRange=f"bytes=1-{5 * MiB}",
    )  # fmt: skip
    s3.complete_multipart_upload(
        Bucket="parts",
        Key="copy",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}]},
    )
    assert (
        s3.get_object(Bucket="parts", Key="copy")["Body"].read()
        == (first + second)[1 : 5 * MiB + 1]
    )
    assert all(len(data_files(d)) == 3 for d in drives)


def test_lost_and_corrupt_shards_are_rebuilt(four: tuple[Server, list[Path]]) -> None:
    server, drives = four
    s3 = server.client()
    s3.create_bucket(Bucket="damaged")
    body = payload(3 * MiB + 5)
    s3.put_object(Bucket="damaged", Key="k", Body=body)
    (name,) = data_files(drives[0])
    data_files(drives[1])[name].unlink()  # a shard gone
    with open(data_files(drives[2])[name], "r+b") as f:  # and another one rotten
        f.seek(1000)
        f.write(b"\xff" * 16)
    assert s3.get_object(Bucket="damaged", Key="k")["Body"].read() == body
    deadline = time.monotonic() + 10  # said once the stream has ended, after its last byte
    while "are damaged" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "are damaged" in server.log()


def test_data_lost_beyond_parity_is_an_error_never_wrong_bytes(
    four: tuple[Server, list[Path]],
) -> None:
    server, drives = four
    s3 = server.client()
    s3.create_bucket(Bucket="lost")
    s3.put_object(Bucket="lost", Key="k", Body=payload(2 * MiB))
    (name,) = data_files(drives[0])
    for drive in drives[:2]:
        with open(data_files(drive)[name], "r+b") as f:
            f.seek(100)
            f.write(b"\0" * 64)
    data_files(drives[2])[name].unlink()
    expect_error("InternalError", 500, s3.get_object, Bucket="lost", Key="k")
    assert s3.head_object(Bucket="lost", Key="k")["ContentLength"] == 2 * MiB
    signed = s3.generate_presigned_url("get_object", Params={"Bucket": "lost", "Key": "k"})
    answer = requests.get(signed, timeout=30)  # not a cut body: a whole error answer
    assert answer.status_code == 500 and b"<Code>InternalError</Code>" in answer.content


def test_a_drive_gone_leaves_reads_and_writes_going(tmp_path: Path, server_factory: Start) -> None:
    drives = drives_of(tmp_path, 4)
    server = start_on(server_factory, drives)
    s3 = server.client()
    s3.create_bucket(Bucket="gone")
    before = payload(2 * MiB + 1)
    s3.put_object(Bucket="gone", Key="before", Body=before)
    aside = tmp_path / "unplugged"
    drives[3].rename(aside)  # the drive is gone
    after = payload(MiB + 7)
    s3.put_object(Bucket="gone", Key="after", Body=after)  # 3 of 4 shards: quorum
    assert s3.get_object(Bucket="gone", Key="before")["Body"].read() == before
    assert s3.get_object(Bucket="gone", Key="after")["Body"].read() == after
    assert not drives[3].exists()  # nothing written where the drive was
    drives[2].rename(tmp_path / "unplugged-too")  # two gone: below the write quorum
    refused = payload(MiB)
    expect_error(
        "ServiceUnavailable", 503, s3.put_object, Bucket="gone", Key="refused", Body=refused
    )
    assert temp_files(drives[0]) == [] and temp_files(drives[1]) == []
    assert s3.get_object(Bucket="gone", Key="after")["Body"].read() == after  # 2 = k: readable
    expect_error("404", 404, s3.head_object, Bucket="gone", Key="refused")
    aside.rename(drives[3])


def test_a_drive_away_takes_no_shard_another_can(tmp_path: Path, server_factory: Start) -> None:
    """Five drives, 2+2 over four of them: with one away, every object's four shards go to the
    four online (none is missing from the start, nothing waits for healing)."""
    drives = drives_of(tmp_path, 5)
    server = start_on(server_factory, drives)
    s3 = server.client()
    s3.create_bucket(Bucket="away")
    drives[4].rename(tmp_path / "unplugged")
    time.sleep(2.5)  # past the drives' ONLINE_TTL: the server has seen it away
    for n in range(10):
        s3.put_object(Bucket="away", Key=f"k{n}", Body=payload(40_000 + n))
    shards = sum(len(data_files(drive)) for drive in drives[:4])
    assert shards == 10 * 4
    for n in range(10):
        assert s3.get_object(Bucket="away", Key=f"k{n}")["Body"].read() == payload(40_000 + n)


def test_copies_are_placed_per_site(tmp_path: Path, server_factory: Start) -> None:
    drives = drives_of(tmp_path, 4)
    topology = tmp_path / "topology.toml"
    topology.write_text(
        'default_region = "eu"\n[[regions]]\nname = "eu"\n'
        f'[[sites]]\nname = "london"\ndrives = ["{drives[0]}", "{drives[1]}"]\n'
        f'[[sites]]\nname = "slough"\ndrives = ["{drives[2]}", "{drives[3]}"]\n'
        '[[policies]]\nid = "uk"\nregion = "eu"\nplacement = "2+1"\n'
        'sites = ["london", "slough"]\ndefault = true\n'
    )
    server = start_on(server_factory, drives, "--topology", str(topology))
    s3 = server.client(region_name="eu")
    s3.create_bucket(Bucket="sovereign")
    for n in range(6):
        s3.put_object(Bucket="sovereign", Key=f"k{n}", Body=payload(50_000 + n))
    london = len(data_files(drives[0])) + len(data_files(drives[1]))
    slough = len(data_files(drives[2])) + len(data_files(drives[3]))
    assert (london, slough) == (12, 6)
    for n in range(6):
        assert s3.get_object(Bucket="sovereign", Key=f"k{n}")["Body"].read() == payload(50_000 + n)


def test_the_drive_set_is_kept(tmp_path: Path, server_factory: Start) -> None:
    drives = drives_of(tmp_path, 4)
    server = start_on(server_factory, drives)
    server.stop()
    command = [sys.executable, "-m", "oxstore", "server", str(drives[0]), str(drives[1])]
    command += server.meta_flag
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "not the store's drive set" in refused.stderr
    shutil.rmtree(drives[3] / ".oxstore")
    server.start()  # in any order, with drive 3 offline (no marker: not formatted again)
    assert "drive 3" in server.log() and "offline" in server.log()
    assert not (drives[3] / ".oxstore" / "drive").exists()


def test_damage_is_healed_in_the_background(tmp_path: Path, server_factory: Start) -> None:
    drives = drives_of(tmp_path, 4)
    args = ("--gc-interval", "0.2", "--scrub-interval", "1")
    server = start_on(server_factory, drives, *args)
    s3 = server.client()
    s3.create_bucket(Bucket="heals")
    for key in ("read", "scrubbed"):
        s3.put_object(Bucket="heals", Key=key, Body=payload(2 * MiB + len(key)))
    shards = {n: [data_files(d)[n] for d in drives] for n in data_files(drives[0])}
    whole = {n: [p.read_bytes() for p in paths] for n, paths in shards.items()}
    first, second = shards
    shards[first][1].unlink()
    with open(shards[second][2], "r+b") as f:
        f.write(b"rot")
    assert s3.get_object(Bucket="heals", Key="read")["Body"].read() == payload(2 * MiB + 4)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = {
            n: [p.read_bytes() if p.exists() else b"" for p in paths] for n, paths in shards.items()
        }
        if now == whole:
            break
        time.sleep(0.2)
    assert now == whole, "the damaged shards were not rebuilt"
    assert "rebuilt shards" in server.log()


def test_a_replaced_drive_is_rebuilt_by_oxstore_heal(tmp_path: Path, server_factory: Start) -> None:
    drives = drives_of(tmp_path, 4)
    server = start_on(server_factory, drives)
    s3 = server.client()
    s3.create_bucket(Bucket="replaced")
    for n in range(3):
        s3.put_object(Bucket="replaced", Key=f"k{n}", Body=payload(MiB + n))
    server.stop()
    shutil.rmtree(drives[3])
    drives[3].mkdir()  # a new, empty disk in the place of the old one
    server.start()
    assert "drive 3" in server.log() and "offline" in server.log()
    s3.put_object(Bucket="replaced", Key="while-gone", Body=payload(MiB + 9))
    assert data_files(drives[3]) == {}
    command = [sys.executable, "-m", "oxstore", "heal", str(drives[0]), *server.meta_flag]
    healed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert f"formatted {drives[3]} as drive 3" in healed.stdout
    assert "healed 4 shards" in healed.stdout and "lost 0" in healed.stdout
    assert set(data_files(drives[3])) == set(data_files(drives[0]))
    for drive in drives[:2]:  # readable from the rebuilt drive and one other alone
        for path in data_files(drive).values():
            path.unlink()
    for n in range(3):
        assert s3.get_object(Bucket="replaced", Key=f"k{n}")["Body"].read() == payload(MiB + n)
    command[3] = "scrub"
    scrubbed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert scrubbed.returncode == 0, scrubbed.stdout + scrubbed.stderr
    assert "checked 4" in scrubbed.stdout and "healed 8 shards" in scrubbed.stdout
    assert set(data_files(drives[1])) == set(data_files(drives[3]))
