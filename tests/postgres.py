"""A real PostgreSQL for the tests: Debian's server binaries, a cluster in a temp directory,
listening on a free port of 127.0.0.1, run as an unprivileged user, stopped at the end."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server is not installed (apt-get install postgresql; ci/test.sh does)"
        )
    return Path(found[-1]).parent


class Postgres:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.home = Path(tempfile.mkdtemp(prefix="oxstore-pg-"))
        self.port = _free_port()
        self.user: str | None = None  # run as this user (root may not run PostgreSQL)
        if os.getuid() == 0:
            self.user = "postgres" if _exists("postgres") else "nobody"
            os.chmod(self.home, 0o755)
            shutil.chown(self.home, self.user)
        self.data = self.home / "data"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> Postgres:
        self._run("initdb", "-D", str(self.data), "-U", "oxstore", "-A", "trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.home / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        return self

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://oxstore@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its connection URL."""
        name = "t" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def log(self) -> str:
        path = self.home / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.home, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True
