"""/metrics and /-/metrics with a real server of two workers: counts of every worker summed
once (exact request and error counts whichever worker answers each scrape), bytes, latency
histograms, drive and bucket gauges (each family one whole group, as Prometheus's parser wants
it; the largest buckets and an aggregate no bucket name can be), and who may scrape (the bearer
token; the loopback when no token is set; /metrics without the token stays the S3 path it
is)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from oxstore import gauges
from oxstore.config import Config
from oxstore.data.drives import DriveEntry
from tests.conftest import Server, free_port, remount, temp_files, tmpfs
from tests.postgres import Postgres

TOKEN = "scrape-me"
Start = Any


def scrape(server: Server, path: str = "/metrics", token: str | None = TOKEN) -> requests.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return requests.get(server.endpoint + path, headers=headers, timeout=10)


def value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in\n{text}"
    return float(match[1])


def families(text: str) -> dict[str, Metric]:
    """The families of an exposition, each a whole group (HELP, TYPE, then its samples), each
    series once: a family split in fragments, or a repeated series, fails."""
    parsed: dict[str, Metric] = {}
    series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for family in text_string_to_metric_families(text):
        assert family.name not in parsed, f"{family.name} in fragments in\n{text}"
        parsed[family.name] = family
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in series, f"{key} twice in\n{text}"
            series.add(key)
    return parsed


def by_bucket(family: Metric) -> dict[str, float]:
    return {sample.labels["bucket"]: sample.value for sample in family.samples}


def test_bucket_gauges_parse_whole(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(data_dir=tmp_path / "data", extra_args=["--metrics-token", TOKEN])
    s3 = server.client()
    for n in range(22):  # b00 (10 bytes) .. b21 (220 bytes), an object each
        s3.create_bucket(Bucket=f"b{n:02}")
        s3.put_object(Bucket=f"b{n:02}", Key="k", Body=b"x" * (10 * (n + 1)))
    s3.create_bucket(Bucket="other")  # the largest, and named as an aggregate might be
    for key in ("a", "b"):
        s3.put_object(Bucket="other", Key=key, Body=b"o" * 50_000)
    parsed = families(scrape(server).text)
    assert parsed["oxstore_bucket_bytes"].type == "gauge"
    assert parsed["oxstore_bucket_objects"].type == "gauge"
    assert parsed["oxstore_drive_capacity_bytes"].type == "gauge"
    assert parsed["oxstore_drive_free_bytes"].type == "gauge"
    assert parsed["oxstore_heal_queue"].samples[0].value == 0
    # the 20 largest: the bucket "other" and b21..b03; b00, b01 and b02 added up
    shown = {"other": 100_000.0} | {f"b{n:02}": 10.0 * (n + 1) for n in range(3, 22)}
    assert by_bucket(parsed["oxstore_bucket_bytes"]) == shown | {gauges.OTHER: 60.0}
    objects = {"other": 2.0} | {f"b{n:02}": 1.0 for n in range(3, 22)}
    assert by_bucket(parsed["oxstore_bucket_objects"]) == objects | {gauges.OTHER: 3.0}
    assert gauges.OTHER == "other buckets"  # a space: no bucket has such a name
    capacity = parsed["oxstore_drive_capacity_bytes"].samples
    assert [s.labels["drive"] for s in capacity] == ["0"] and capacity[0].value > 0


def test_drive_paths_escaped(tmp_path: Path) -> None:
    odd = tmp_path / 'a "quoted"\\path\nwith a newline'
    odd.mkdir()
    config = Config(data_dir=str(odd), drive_set=(DriveEntry(str(odd)), DriveEntry(str(tmp_path))))
    text = "\n".join(gauges._drives(config)) + "\n"
    assert len(text.splitlines()) == 2 * 4  # no line broken by the path
    parsed = families(text)
    for name in ("oxstore_drive_capacity_bytes", "oxstore_drive_free_bytes"):
        paths = {s.labels["drive"]: s.labels["path"] for s in parsed[name].samples}
        assert paths == {"0": str(odd), "1": str(tmp_path)}


def test_counts_of_every_worker_once(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(
        data_dir=tmp_path / "data", extra_args=["--workers", "2", "--metrics-token", TOKEN]
    )
    s3 = server.client()
    s3.create_bucket(Bucket="counted")
    for n in range(40):
        s3.put_object(Bucket="counted", Key=f"k{n}", Body=b"x" * 1000)
        s3.get_object(Bucket="counted", Key=f"k{n}")["Body"].read()
    try:
        s3.get_object(Bucket="counted", Key="missing")
    except s3.exceptions.NoSuchKey:
        pass
    for _ in range(6):  # whichever worker answers, the same sums
        text = scrape(server).text
        assert value(text, 'oxstore_requests_total{api="PutObject",status="2xx"}') == 40
        assert value(text, 'oxstore_requests_total{api="GetObject",status="2xx"}') == 40
        assert value(text, 'oxstore_requests_total{api="GetObject",status="4xx"}') == 1
        assert value(text, 'oxstore_errors_total{code="NoSuchKey"}') == 1
        assert value(text, "oxstore_received_bytes_total") >= 40_000
        assert value(text, "oxstore_sent_bytes_total") >= 40_000
        assert value(text, 'oxstore_request_duration_seconds_count{api="PutObject"}') == 40
        assert (
            value(text, 'oxstore_time_to_first_byte_seconds_bucket{api="GetObject",le="+Inf"}')
            == 41
        )
        assert value(text, 'oxstore_bucket_objects{bucket="counted"}') == 40
        assert value(text, 'oxstore_bucket_bytes{bucket="counted"}') == 40_000
        assert 'oxstore_drive_free_bytes{drive="0"' in text
        assert "oxstore_heal_queue 0" in text and "oxstore_collector_queue 0" in text
        assert value(text, "oxstore_in_flight_requests") >= 1  # the scrape itself
    assert "text/plain" in scrape(server).headers["content-type"]
    # who may scrape
    # another token: an S3 request with an Authorization header S3 does not know (400)
    assert scrape(server, token="wrong").status_code == 400
    assert scrape(server, token=None).status_code == 404
    assert scrape(server, "/-/metrics", token=None).status_code == 403
    assert scrape(server, "/-/metrics").status_code == 200


def test_the_collector_queue(tmp_path: Path, server_factory: Start) -> None:
    """Replaced and deleted data files wait --gc-grace in the collector's queue, then go."""
    args = ["--gc-grace", "5", "--gc-interval", "0.2"]
    server = server_factory(data_dir=tmp_path / "data", extra_args=args)
    s3 = server.client()
    s3.create_bucket(Bucket="collected")
    body = os.urandom(64 * 1024)  # past the inline threshold: a data file each
    for key in ("replaced", "replaced", "deleted"):
        s3.put_object(Bucket="collected", Key=key, Body=body)
    s3.delete_object(Bucket="collected", Key="deleted")
    text = scrape(server, "/-/metrics", token=None).text
    assert value(text, "oxstore_collector_queue") == 2
    assert 0 < value(text, "oxstore_collector_oldest_seconds") < 5
    deadline = time.monotonic() + 30
    while value(text, "oxstore_collector_queue") and time.monotonic() < deadline:
        time.sleep(0.2)
        text = scrape(server, "/-/metrics", token=None).text
    assert value(text, "oxstore_collector_queue") == 0
    assert value(text, "oxstore_collector_oldest_seconds") == 0


def test_without_a_token_this_host_may_scrape(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    assert scrape(server, "/-/metrics", token=None).status_code == 200
    assert scrape(server, "/metrics", token=None).status_code == 404  # no bucket "metrics"


def test_metrics_on_an_address_of_their_own(tmp_path: Path, server_factory: Start) -> None:
    port = free_port()
    listener = f"http://127.0.0.1:{port}"
    server = server_factory(
        data_dir=tmp_path / "data",
        extra_args=["--workers", "2", "--metrics-address", f"127.0.0.1:{port}"],
    )
    s3 = server.client()
    s3.create_bucket(Bucket="apart")
    for n in range(10):
        s3.put_object(Bucket="apart", Key=f"k{n}", Body=b"y" * 100)
    text = requests.get(listener + "/metrics", timeout=10).text
    assert value(text, 'oxstore_requests_total{api="PutObject",status="2xx"}') == 10
    assert value(text, 'oxstore_bucket_objects{bucket="apart"}') == 10
    assert value(text, "oxstore_in_flight_requests") == 0  # the listener is no worker
    assert "oxstore_heal_queue 0" in text
    assert requests.get(listener + "/-/metrics", timeout=10).text.count("PutObject") > 0
    assert requests.get(listener + "/other", timeout=10).status_code == 404
    # the S3 port answers no metrics now, not even to this host
    refused = scrape(server, "/-/metrics", token=None)
    assert refused.status_code == 403 and "--metrics-address" in refused.text
    assert f"metrics at {listener}/metrics" in server.log()


def test_metrics_address_with_a_token(tmp_path: Path, server_factory: Start) -> None:
    port = free_port()
    listener = f"http://127.0.0.1:{port}/metrics"
    server = server_factory(
        data_dir=tmp_path / "data",
        extra_args=["--metrics-address", f"127.0.0.1:{port}", "--metrics-token", TOKEN],
    )
    assert requests.get(listener, timeout=10).status_code == 401
    answer = requests.get(listener, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200 and "oxstore_requests_total" in answer.text
    assert scrape(server).status_code == 200  # and the token's holders on the S3 port


def test_health(tmp_path: Path, server_factory: Start) -> None:
    drives = [tmp_path / f"drive-{n}" for n in range(4)]
    server = server_factory(data_dir=drives[0], drives=drives[1:])
    live = requests.get(server.endpoint + "/-/health/live", timeout=10)
    ready = requests.get(server.endpoint + "/-/health/ready", timeout=10)
    assert (live.status_code, ready.status_code, ready.text) == (200, 200, "ready\n")
    for drive in drives[1:3]:  # two of a 2+2 set's drives unmounted: no write quorum
        (drive / ".oxstore" / "drive").rename(drive / ".oxstore" / "drive.away")
    ready = ready_when(server, 503)  # the drives' markers are looked at again every 2 s
    assert "drives: 2 of 4 online and writable, 3 needed" in ready.text
    assert requests.get(server.endpoint + "/-/health/live", timeout=10).status_code == 200


def ready_when(server: Server, status: int, seconds: float = 10) -> requests.Response:
    """/-/health/ready once it answers `status` (the last answer after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        ready = requests.get(server.endpoint + "/-/health/ready", timeout=10)
        if ready.status_code == status or time.monotonic() > deadline:
            return ready
        time.sleep(0.2)


def test_ready_needs_writes_to_succeed(tmp_path: Path, postgres: Postgres) -> None:
    """Ready only while writes can succeed: not while a drive's file system is read-only (as
    the kernel remounts one after disk errors), nor while the metadata store refuses writes (a
    PostgreSQL turned read-only, as a standby is); ready again once they can."""
    with tmpfs(tmp_path / "disk", "16m") as disk:
        args = ["--meta", postgres.new_database(), "--min-free-space", "0"]
        server = Server(tmp_path / "data", free_port(), args, drives=[disk]).start()
        try:
            assert ready_when(server, 200).text == "ready\n"
            remount(disk, "ro")
            try:
                ready = ready_when(server, 503)
            finally:
                remount(disk, "rw")
            assert "drives: 1 of 2 online and writable" in ready.text
            assert "drive 1: not writable: Read-only file system" in ready.text
            assert ready_when(server, 200).text == "ready\n"
            with read_only(postgres):
                ready = ready_when(server, 503)
            assert "metadata store: " in ready.text and "read-only transaction" in ready.text
            assert ready_when(server, 200).text == "ready\n"
            server.client().create_bucket(Bucket="writable-again")
            assert temp_files(tmp_path / "data") == temp_files(disk) == []  # probes leave none
        finally:
            server.stop()


@contextlib.contextmanager
def read_only(postgres: Postgres) -> Iterator[None]:
    """The whole PostgreSQL server refuses writes (its sessions' new transactions too)."""

    def default_read_only(on: str) -> None:
        with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET default_transaction_read_only = {on}")
            conn.execute("SELECT pg_reload_conf()")

    default_read_only("on")
    try:
        yield
    finally:
        default_read_only("off")


@pytest.mark.parametrize("whole_group", [False, True], ids=["main-process", "process-group"])
def test_sigterm_drains_first(tmp_path: Path, server_factory: Start, whole_group: bool) -> None:
    server = server_factory(
        data_dir=tmp_path / "data", extra_args=["--drain-seconds", "3", "--workers", "2"]
    )
    s3 = server.client()
    s3.create_bucket(Bucket="draining")
    assert server.process is not None
    if whole_group:  # systemd's default KillMode: the workers get it too
        os.killpg(server.process.pid, signal.SIGTERM)
    else:  # the main process only, as docker stop does
        server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 2
    ready = requests.get(server.endpoint + "/-/health/ready", timeout=10)
    while ready.status_code != 503 and time.monotonic() < deadline:
        time.sleep(0.05)
        ready = requests.get(server.endpoint + "/-/health/ready", timeout=10)
    assert ready.status_code == 503 and "draining" in ready.text
    time.sleep(1)  # past the workers' notice
    for n in range(10):  # requests go on, whichever worker takes them
        s3.put_object(Bucket="draining", Key=f"k{n}", Body=b"still served")
    assert server.process.wait(timeout=30) == 0  # then it stops by itself
    assert "draining for 3 s" in server.log()
