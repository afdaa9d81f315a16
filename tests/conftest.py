"""Fixtures that start real oxstore servers on 127.0.0.1 and real clients against them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.postgres import Postgres

ACCESS_KEY = "OXSTORETESTKEY000001"
SECRET_KEY = "oxstore-test-secret-key-0123456789abcdef"
REGION = "us-east-1"


def temp_files(data_dir: Path) -> list[Path]:
    """The payloads in flight in a data directory (of every gateway, in a cluster)."""
    return [p for p in (Path(data_dir) / ".oxstore" / "tmp").rglob("*") if p.is_file()]


PRIVILEGED = [] if os.geteuid() == 0 else ["sudo", "-n"]  # mounting needs root


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A file system of its own at `where` (a tmpfs of `size`, e.g. "48m"), unmounted after."""
    where.mkdir(exist_ok=True)
    subprocess.run(
        [*PRIVILEGED, "mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True
    )
    try:
        yield where
    finally:
        subprocess.run([*PRIVILEGED, "umount", "-l", str(where)], check=True)


def remount(where: Path, mode: str) -> None:
    """Mounts the file system at `where` again "ro" or "rw" (as the kernel does after errors)."""
    subprocess.run([*PRIVILEGED, "mount", "-o", f"remount,{mode}", str(where)], check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    data_dir: Path
    port: int
    extra_args: list[str] = field(default_factory=list)
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    preexec: Callable[[], None] | None = None  # run in the server's process before it starts
    extra_env: dict[str, str] = field(default_factory=dict)  # more of the server's environment
    tls_ca: Path | None = None  # the CA of its certificate: the server speaks HTTPS
    drives: list[Path] = field(default_factory=list)  # more drives than data_dir
    _owner_id: str | None = None

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.tls_ca else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        env = dict(os.environ)
        env.update(OXSTORE_ROOT_USER=self.access_key, OXSTORE_ROOT_PASSWORD=self.secret_key)
        env.setdefault("OXSTORE_DRAIN_SECONDS", "0")  # stopped at once (drain tests say so)
        env.update(self.extra_env)
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oxstore",
                "server",
                str(self.data_dir),
                *map(str, self.drives),
                "--address",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=self.preexec,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oxstore exited early:\n{self.log()}")
            try:
                context = ssl.create_default_context(cafile=self.tls_ca) if self.tls_ca else None
                url = self.endpoint + "/-/health"
                with urllib.request.urlopen(url, timeout=1, context=context) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"oxstore did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL the whole process group: the crash case."""
        self.stop(signal.SIGKILL)

    def metadata(self):  # type: ignore[no-untyped-def]
        """Its metadata store, opened beside it (for tests that reach under the S3 API)."""
        from oxstore.meta.model import Metadata
        from oxstore.meta.open import open_store

        meta = self.meta_flag[1] if self.meta_flag else ""
        return Metadata(open_store(meta, self.data_dir / ".oxstore" / "meta.sqlite3"))

    @property
    def meta_flag(self) -> list[str]:
        """Its --meta URL argument (a PostgreSQL store), for commands run beside it."""
        args = self.extra_args
        return args[args.index("--meta") :][:2] if "--meta" in args else []

    @property
    def owner_id(self) -> str:
        """The root user's id: the canonical id of what the root user owns."""
        if self._owner_id is None:
            self._owner_id = str(self.client().list_buckets()["Owner"]["ID"])
        return self._owner_id

    def client(self, **config: object):  # type: ignore[no-untyped-def]
        return make_client(
            self.endpoint,
            self.access_key,
            self.secret_key,
            region=self.region,
            verify=str(self.tls_ca) if self.tls_ca else None,
            **config,
        )


def make_client(  # type: ignore[no-untyped-def]
    endpoint: str,
    access_key: str,
    secret_key: str,
    region: str = REGION,
    verify: str | None = None,
    **config: object,
):
    settings = {
        "retries": {"max_attempts": 1, "mode": "standard"},
        "signature_version": "s3v4",
        **config,
    }
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(**settings),
        verify=verify,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the session; tests take databases of their own in it."""
    pg = Postgres().start()
    yield pg
    pg.stop()


# OXSTORE_TEST_META=postgres: the servers the tests start keep their metadata in PostgreSQL
# (a database of their own in the session's server), not in the embedded SQLite store
ON_POSTGRES = os.environ.get("OXSTORE_TEST_META") == "postgres"


@pytest.fixture(scope="session")
def meta_args(request: pytest.FixtureRequest) -> Callable[[Path], list[str]]:
    """The --meta arguments of a server on a data directory: one database per directory (a
    restarted server finds its namespace again)."""
    databases: dict[Path, str] = {}

    def args(data_dir: Path) -> list[str]:
        if not ON_POSTGRES:
            return []
        if data_dir not in databases:
            databases[data_dir] = request.getfixturevalue("postgres").new_database()
        return ["--meta", databases[data_dir]]

    return args


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, meta_args: Callable[[Path], list[str]]
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("oxstore") / "data"
    srv = Server(data_dir, free_port(), ["--domain", "localhost", *meta_args(data_dir)])
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server_factory(tmp_path: Path, meta_args: Callable[[Path], list[str]]) -> Iterator:  # type: ignore[type-arg]
    """Starts extra servers (own data directories unless given); stops them all at the end."""
    started: list[Server] = []

    def start(
        data_dir: Path | None = None,
        extra_args: list[str] | None = None,
        region: str = REGION,
        drives: list[Path] | None = None,
    ) -> Server:
        data_dir = data_dir or tmp_path / f"data-{len(started)}"
        args = [*(extra_args or []), "--region", region, *meta_args(data_dir)]
        srv = Server(data_dir, free_port(), args, drives=drives or [])
        srv.region = region
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture(scope="session")
def s3(server: Server):  # type: ignore[no-untyped-def]
    return server.client(s3={"addressing_style": "path"})


@pytest.fixture(scope="session")
def anonymous(server: Server):  # type: ignore[no-untyped-def]
    """A client that signs nothing: an anonymous requester."""
    from botocore import UNSIGNED

    return make_client(server.endpoint, "x", "x", signature_version=UNSIGNED)


@pytest.fixture(scope="module")
def stranger(server: Server):  # type: ignore[no-untyped-def]
    """A user of its own for the module (another than the buckets' owner, the root user)."""
    from tests.admin.helpers import create_user

    return create_user(server, f"stranger-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture(scope="module")
def stranger_s3(server: Server, stranger):  # type: ignore[no-untyped-def]
    """The stranger's client."""
    return stranger.client(server)


def empty_bucket(client, name: str) -> None:  # type: ignore[no-untyped-def]
    """Deletes every version and delete marker (of a versioned bucket too)."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=name):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            client.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])


@pytest.fixture
def bucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name
    try:
        empty_bucket(s3, name)
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.NoSuchBucket:
        pass


@dataclass
class Tool:
    """Runs a command-line client with a private HOME and config; never the user's own."""

    home: Path
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args), env=self.env, cwd=self.home, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\n"
                f"stderr:\n{result.stderr}"
            )
        return result


def s3cmd_config(tool: Tool, server: Server, name: str = ".s3cfg", extra: str = "") -> Path:
    """An s3cmd configuration file for a server (path-style; HTTPS trusting its CA when it
    speaks TLS) in the tool's home."""
    host = f"127.0.0.1:{server.port}"
    tls = f"use_https = True\nca_certs_file = {server.tls_ca}\n" if server.tls_ca else ""
    tls = tls or "use_https = False\n"
    config = tool.home / name
    config.write_text(
        "[default]\n"
        f"access_key = {server.access_key}\nsecret_key = {server.secret_key}\n"
        f"host_base = {host}\nhost_bucket = {host}\n{tls}{extra}"
    )
    return config


def rclone_remote(server: Server, name: str = "OX") -> dict[str, str]:
    """Environment variables that define an rclone remote `name` for the server."""
    prefix = f"RCLONE_CONFIG_{name}_"
    settings = {
        "TYPE": "s3",
        "PROVIDER": "Other",
        "ENDPOINT": server.endpoint,
        "ACCESS_KEY_ID": server.access_key,
        "SECRET_ACCESS_KEY": server.secret_key,
        "REGION": "us-east-1",
        "FORCE_PATH_STYLE": "true",
    }
    return {prefix + key: value for key, value in settings.items()}


def require_binary(name: str) -> str:
    """The path of a client's executable; a missing client fails the test, it never skips."""
    candidates = [shutil.which(name), str(Path(sys.executable).parent / name)]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise AssertionError(f"{name} is not installed: `pip install '.[test]'` installs it")


@pytest.fixture
def tool(server: Server, tmp_path: Path) -> Tool:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_DEFAULT_REGION": server.region,
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "LANG": "C.UTF-8",
    }
    return Tool(home, env)


def random_bytes(size: int, seed: int = 0) -> bytes:
    return os.urandom(size) if seed == 0 else bytes((seed * i) % 251 for i in range(size))
