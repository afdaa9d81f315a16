"""The command line as a new operator meets it: --version, and a server --help that names
every option's default and the OXSTORE_* variable that sets it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from oxstore.cli import build_parser, env_name


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "oxstore", *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_version() -> None:
    assert re.fullmatch(r"oxstore \d+\.\d+\.\d+\S*\n", run("--version"))


def test_server_help_names_defaults_and_variables() -> None:
    text = " ".join(run("server", "--help").split())  # (argparse wraps lines)
    server = build_parser()._subparsers._group_actions[0].choices["server"]  # type: ignore[union-attr]
    flags = [a.option_strings[-1] for a in server._actions if a.option_strings and a.dest != "help"]
    assert len(flags) > 25
    for flag in flags:
        assert f"[env {env_name(flag)}]" in text, flag
    assert "(default: 127.0.0.1:9000)" in text and "(default: 100)" in text


def test_a_directory_that_is_not_a_data_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for command in ("scrub", "heal"):
        done = subprocess.run(
            [sys.executable, "-m", "oxstore", command, str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2
        assert "is not an oxstore data directory" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created


def start_refused(tmp_path, *args: str, **env: str) -> str:  # type: ignore[no-untyped-def]
    """What `oxstore server` says when it refuses its settings (it creates nothing)."""
    done = subprocess.run(
        [sys.executable, "-m", "oxstore", "server", str(tmp_path / "d"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "d").exists()
    return done.stderr


def test_errors_name_what_the_user_wrote(tmp_path) -> None:  # type: ignore[no-untyped-def]
    said = start_refused(tmp_path, "--metrics-address", "x")
    assert "--metrics-address: address must be HOST:PORT" in said
    said = start_refused(tmp_path, "--address", "127.0.0.1:99999")
    assert "--address: address must be HOST:PORT (a port of 1 to 65535)" in said
    said = start_refused(tmp_path, OXSTORE_ADDRESS="127.0.0.1")
    assert "OXSTORE_ADDRESS: address must be HOST:PORT" in said and "--address" not in said
    assert "OXSTORE_WORKERS: invalid int value: 'two'" in start_refused(
        tmp_path, OXSTORE_WORKERS="two"
    )
    assert "OXSTORE_GC_GRACE: invalid float value" in start_refused(tmp_path, OXSTORE_GC_GRACE="x")
    said = start_refused(tmp_path, "--tls-cert", str(tmp_path / "cert.pem"))
    assert "--tls-cert and --tls-key go together" in said
    said = start_refused(
        tmp_path, OXSTORE_TLS_CERT=str(tmp_path / "nope"), OXSTORE_TLS_KEY=str(tmp_path / "nope")
    )
    assert "OXSTORE_TLS_CERT: no such file" in said
