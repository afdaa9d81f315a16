"""One server per data directory and per port: a second one is refused with a clear error and
touches nothing of the first's (its in-flight upload completes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port, temp_files
from tests.s3.signing import start_put


def _second_server(data_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    """Runs `oxstore server` expecting it to refuse to start; its exit and what it said."""
    env = dict(os.environ, OXSTORE_ROOT_USER="second-root-user", OXSTORE_ROOT_PASSWORD="s" * 20)
    command = [sys.executable, "-m", "oxstore", "server", str(data_dir)]
    command += ["--address", f"127.0.0.1:{port}", "--workers", "1"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it started after all: stop it and all it spawned
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def test_a_second_server_on_the_same_data_directory_is_refused(server_factory, tmp_path) -> None:
    data_dir = tmp_path / "shared-data"
    first = server_factory(data_dir)
    first.client().create_bucket(Bucket="one")
    upload = start_put(first, "/one/in-flight", 6_000_000, b"a" * 3_000_000)
    deadline = time.monotonic() + 10
    while not temp_files(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert temp_files(data_dir), "the upload did not reach the server"
    refused = _second_server(data_dir, free_port())
    assert refused.returncode == 1, refused.stdout + refused.stderr
    pid = first.process.pid if first.process else 0
    assert f"is in use by another oxstore server (pid {pid})" in refused.stderr
    assert temp_files(data_dir), "the refused server touched the first one's temp files"
    upload.send(b"b" * 3_000_000)
    answer = upload.getresponse()
    assert answer.status == 200, answer.read()
    got = first.client().get_object(Bucket="one", Key="in-flight")["Body"].read()
    assert got == b"a" * 3_000_000 + b"b" * 3_000_000


def test_a_second_server_on_the_same_port_is_refused(server_factory, tmp_path) -> None:
    first = server_factory(tmp_path / "first")
    refused = _second_server(tmp_path / "second", first.port)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"cannot listen on 127.0.0.1:{first.port}" in refused.stderr
    assert not (tmp_path / "second" / ".oxstore").exists()  # refused before touching anything
    first.client().list_buckets()  # the first one serves on
