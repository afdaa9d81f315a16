"""Gateways of a cluster: two servers on different ports, one PostgreSQL database and one data
directory share one namespace; work that runs once per cluster runs under a lease; a data
directory stays bound to the metadata store that describes it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import psycopg
import pytest

from oxstore.meta.model import Metadata
from oxstore.meta.postgres import PostgresStore
from tests.admin.helpers import admin, create_user
from tests.admin.test_limits import assert_rate, hammer, limited_user, presigned
from tests.conftest import Server, free_port, temp_files
from tests.postgres import Postgres
from tests.s3.helpers import expect_error
from tests.s3.signing import send, sign


@pytest.fixture
def cluster(postgres: Postgres, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two gateways on one data directory and one database."""
    dsn = postgres.new_database()
    data_dir = tmp_path / "shared"
    args = ["--meta", dsn, "--gc-grace", "0", "--gc-interval", "0.2", "--min-part-size", "1"]
    first = Server(data_dir, free_port(), args).start()
    second = Server(data_dir, free_port(), args)
    try:
        yield first, second.start()
    finally:
        first.stop()
        second.stop()


def _oxstore(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "oxstore", *args]
    env = dict(os.environ, OXSTORE_ROOT_USER="clusterroot00000001", OXSTORE_ROOT_PASSWORD="r" * 20)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def _data_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / ".oxstore" / "objects").rglob("*") if p.is_file()]


def test_a_write_through_one_gateway_is_seen_and_changed_through_the_other(cluster) -> None:
    one, other = (gateway.client() for gateway in cluster)
    one.create_bucket(Bucket="shared")
    assert [b["Name"] for b in other.list_buckets()["Buckets"]] == ["shared"]
    big = os.urandom(100_000)  # a data file in the shared directory, not an inline record
    one.put_object(Bucket="shared", Key="big", Body=big)
    one.put_object(Bucket="shared", Key="small", Body=b"small")
    assert other.get_object(Bucket="shared", Key="big")["Body"].read() == big
    listed = other.list_objects_v2(Bucket="shared")["Contents"]
    assert [o["Key"] for o in listed] == ["big", "small"]
    other.put_object(Bucket="shared", Key="big", Body=b"overwritten")
    assert one.get_object(Bucket="shared", Key="big")["Body"].read() == b"overwritten"
    other.delete_object(Bucket="shared", Key="small")
    expect_error("NoSuchKey", 404, one.get_object, Bucket="shared", Key="small")
    # the replaced data file is collected by whichever gateway holds the collector's lease
    data_dir = cluster[0].data_dir
    deadline = time.monotonic() + 20
    while _data_files(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _data_files(data_dir) == []


def test_users_made_on_one_gateway_sign_on_the_other(cluster) -> None:
    first, second = cluster
    alice = create_user(first, "alice@example.com")
    alice.client(second).create_bucket(Bucket="alices")
    assert alice.client(first).list_buckets()["Buckets"][0]["Name"] == "alices"
    admin(second, "POST", "ostor-users", emailAddress=alice.email, disable=None)
    deadline = time.monotonic() + 10  # the other gateway's key cache lives 2 s
    while time.monotonic() < deadline:
        try:
            alice.client(first).list_buckets()
        except botocore.exceptions.ClientError as err:
            assert err.response["Error"]["Code"] == "AccessDenied"
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the disabled user's key still works on the other gateway")


def test_two_gateways_share_one_limit(cluster) -> None:
    first, second = cluster
    user, _ = limited_user(first, "limited")
    urls = [
        presigned(user.client(gateway), "limited", f"k{n}") for n in range(4) for gateway in cluster
    ]
    admin(second, "PUT", "ostor-limits", emailAddress=user.email, ops=None, get="1200")
    time.sleep(2.5)  # both gateways read the limits table anew
    admitted, refused = hammer(urls, 10)
    assert_rate(admitted, 20, 10)  # 20 per second, both gateways together
    assert refused and all(r.status_code == 503 for r in refused)


def test_a_multipart_upload_goes_on_through_the_other_gateway(cluster) -> None:
    one, other = (gateway.client() for gateway in cluster)
    one.create_bucket(Bucket="parts")
    upload = one.create_multipart_upload(Bucket="parts", Key="joined")["UploadId"]
    first = one.upload_part(
        Bucket="parts", Key="joined", UploadId=upload, PartNumber=1, Body=b"a" * 50_000
    )
    second = other.upload_part(
        Bucket="parts", Key="joined", UploadId=upload, PartNumber=2, Body=b"b" * 10
    )
    parts = other.list_parts(Bucket="parts", Key="joined", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    other.complete_multipart_upload(
        Bucket="parts",
        Key="joined",
        UploadId=upload,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    assert one.get_object(Bucket="parts", Key="joined")["Body"].read() == b"a" * 50_000 + b"b" * 10


def test_racing_create_only_writes_through_both_gateways_make_one_winner(cluster) -> None:
    cluster[0].client().create_bucket(Bucket="race")
    for round_ in range(5):
        key = f"/race/claim-{round_}"
        results: list[int] = []
        barrier = threading.Barrier(8)

        def claim(
            gateway: Server,
            n: int,
            key: str = key,
            barrier: threading.Barrier = barrier,
            results: list[int] = results,
        ) -> None:
            body = f"writer {n}".encode()
            request = sign(gateway, "PUT", key, {"If-None-Match": "*"}, body)
            barrier.wait()
            results.append(send(request).status_code)

        writers = [threading.Thread(target=claim, args=(cluster[n % 2], n)) for n in range(8)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert sorted(results) == [200] + [412] * 7, results
        winner = cluster[1].client().get_object(Bucket="race", Key=key[6:])["Body"].read()
        assert winner.startswith(b"writer ")


def test_the_orphan_sweep_runs_on_one_gateway_and_spares_recent_files(
    postgres: Postgres, tmp_path: Path
) -> None:
    """Files referenced by nothing are orphans only when older than an hour (another gateway
    may be committing a younger one), and only the holder of the sweep's lease removes them."""
    dsn = postgres.new_database()
    data_dir = tmp_path / "swept"
    gateway = Server(data_dir, free_port(), ["--meta", dsn]).start()
    gateway.stop()
    fan = data_dir / ".oxstore" / "objects" / "ab"
    fan.mkdir(parents=True, exist_ok=True)
    old, young = fan / ("ab" + "0" * 30), fan / ("ab" + "1" * 30)
    for path, age in ((old, 7200), (young, 600)):
        path.write_bytes(b"orphan")
        os.utime(path, (time.time() - age, time.time() - age))

    async def hold_sweep_lease(holder: str) -> bool:
        meta = Metadata(PostgresStore(dsn, pool_size=1))
        try:
            return await meta.take_lease("sweep", holder, 600)
        finally:
            meta.close()

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM kv_leases")  # the first start's sweep may be stopped holding it
    assert asyncio.run(hold_sweep_lease("elsewhere:9000"))  # another gateway is sweeping
    gateway.start()
    time.sleep(2)
    assert old.exists() and young.exists()
    gateway.stop()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM kv_leases")  # that gateway finished
    gateway.start()
    deadline = time.monotonic() + 20
    while old.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    gateway.stop()
    assert not old.exists() and young.exists()


def test_a_data_directory_stays_with_its_metadata_store(postgres: Postgres, tmp_path: Path) -> None:
    embedded = tmp_path / "embedded"
    srv = Server(embedded, free_port()).start()
    srv.client().create_bucket(Bucket="local")
    address = ["--address", f"127.0.0.1:{free_port()}"]
    refused = _oxstore("server", str(embedded), *address, "--meta", postgres.new_database())
    assert refused.returncode == 1
    assert "in use by another oxstore server" in refused.stderr  # the embedded server runs
    srv.stop()
    refused = _oxstore("server", str(embedded), *address, "--meta", postgres.new_database())
    assert refused.returncode == 1
    assert "holds the data of another metadata store (embedded SQLite, id" in refused.stderr
    (embedded / ".oxstore" / "store-id").unlink()  # a data directory of an older release
    refused = _oxstore("server", str(embedded), *address, "--meta", postgres.new_database())
    assert refused.returncode == 1
    assert "holds the data of its embedded metadata store" in refused.stderr
    srv.start()  # and the embedded store takes it as before, its marker written again
    srv.client().head_bucket(Bucket="local")
    srv.stop()
    assert "embedded SQLite" in (embedded / ".oxstore" / "store-id").read_text()
    clustered = tmp_path / "clustered"
    gateway = Server(clustered, free_port(), ["--meta", postgres.new_database()]).start()
    refused = _oxstore("server", str(clustered), *address)  # the embedded store beside it
    assert refused.returncode == 1 and "in use by another oxstore server" in refused.stderr
    gateway.stop()
    refused = _oxstore("server", str(clustered), *address, "--meta", postgres.new_database())
    assert refused.returncode == 1
    assert "holds the data of another metadata store" in refused.stderr
    assert temp_files(clustered) == []


def test_migrate_creates_upgrades_once_and_refuses_a_newer_schema(
    postgres: Postgres, tmp_path: Path
) -> None:
    dsn = postgres.new_database()
    data_dir = str(tmp_path / "migrated")
    first = _oxstore("migrate", data_dir, "--meta", dsn)
    assert first.returncode == 0 and "schema 6 (created)" in first.stdout, first.stderr
    again = _oxstore("migrate", data_dir, "--meta", dsn)
    assert again.returncode == 0 and again.stdout.strip().endswith("schema 6"), again.stdout
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE oxstore_schema SET value = '99' WHERE name = 'version'")
    newer = _oxstore("migrate", data_dir, "--meta", dsn)
    assert newer.returncode == 2 and "schema is 99, newer than this oxstore" in newer.stderr
    embedded = _oxstore("migrate", data_dir)
    assert embedded.returncode == 0 and "embedded SQLite, schema 11 (created)" in embedded.stdout
    bad = _oxstore("migrate", data_dir, "--meta", "mysql://somewhere")
    assert bad.returncode == 2 and "--meta must be a postgresql:// URL" in bad.stderr


def test_a_bad_meta_url_is_said_before_anything_starts(tmp_path: Path) -> None:
    refused = _oxstore("server", str(tmp_path / "d"), "--meta", "redis://x")
    assert refused.returncode == 2 and "--meta must be a postgresql:// URL" in refused.stderr
    assert not (tmp_path / "d").exists()
