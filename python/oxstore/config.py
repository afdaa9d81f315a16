"""One typed, frozen configuration: command-line flags over OXSTORE_* environment variables.

The server process builds it once and hands it to granian's worker processes through the
OXSTORE_CONFIG environment variable (JSON), so every worker sees exactly the same settings.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import msgspec

from oxstore.data.drives import LOCAL_SITE, DriveEntry
from oxstore.topology import Topology

GiB = 1024**3
CONFIG_ENV = "OXSTORE_CONFIG"


class Config(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str  # the first drive: it also holds the embedded metadata store and the keys
    drives: tuple[str, ...] = ()  # every drive directory, data_dir first (none: data_dir alone)
    # the drive set as the metadata store keeps it (slots and sites), settled by `prepare`
    drive_set: tuple[DriveEntry, ...] = ()
    host: str = "127.0.0.1"
    port: int = 9000
    workers: int = 1
    region: str = "us-east-1"
    domains: tuple[str, ...] = ()  # virtual-host style: BUCKET.<domain>
    max_object_size: int = 10 * GiB  # single PUT limit (EntityTooLarge above)
    max_multipart_size: int = 5 * 1024 * GiB  # largest object CompleteMultipartUpload makes
    min_part_size: int = 5 * 1024**2  # every part but the last (EntityTooSmall below)
    max_part_size: int = 5 * GiB
    max_metadata_size: int = 2048  # x-amz-meta-* names and values, in bytes
    inline_threshold: int = 32 * 1024  # objects up to this size live in the metadata record
    max_buckets_per_account: int = 100
    topology: Topology | None = None  # regions, storage policies and classes (from --config)
    clock_skew_seconds: int = 15 * 60
    gc_interval: float = 5.0  # seconds between passes of the garbage collector
    gc_grace: float = 30.0  # replaced data stays this long for GETs already streaming it
    tls_cert: str = ""  # PEM certificate chain: serve HTTPS (with tls_key)
    tls_key: str = ""
    plain_port: int = 0  # with TLS: a plain-HTTP listener on this port (0: none)
    plain_answer: str = "redirect"  # what it answers every request: "redirect" | "refuse"
    min_free_space: int = 256 * 1024**2  # new data is refused below this much free disk
    header_timeout: float = 30.0  # a request's headers, and an idle keep-alive connection
    body_timeout: float = 60.0  # a request body sending nothing for this long: RequestTimeout
    abort_uploads_after: float = 7 * 86400.0  # unfinished multipart uploads (0: kept forever)
    max_requests_per_second: float = 0.0  # of the whole service, every gateway (0: no cap)
    usage: bool = False  # collect usage statistics (ostor-usage)
    sse_c_over_http: bool = False  # SSE-C keys over plain http from other hosts (a TLS proxy)
    drain_seconds: float = 5.0  # on SIGTERM: ready answers 503 this long before stopping
    access_log: str = ""  # "" off, "-" stdout, else a file (rotated by size)
    metrics_token: str = ""  # bearer token of /metrics and /-/metrics ("": this host only)
    metrics_host: str = ""  # a listener of its own for the metrics (--metrics-address)
    metrics_port: int = 0  # (0: the metrics are served on the S3 port only)
    usage_period: float = 3600.0  # seconds of one statistics object
    usage_cache_timeout: float = 60.0  # seconds a worker keeps counts before adding them
    scrub_rate: float = 8 * 1024**2  # bytes/s the background scrubber reads (0: no scrub)
    scrub_interval: float = 7 * 86400.0  # seconds from the start of a scrub pass to the next
    started_at: float = 0.0  # when the server process started (set by `oxstore server`)
    # the metadata store: "" is the embedded SQLite database in the data directory; a
    # postgresql:// URL is a database that any number of gateways share (a cluster)
    meta: str = ""

    @property
    def clustered(self) -> bool:
        """Other gateways may serve the same namespace and data directory at the same time."""
        return bool(self.meta)

    @property
    def gateway(self) -> str:
        """This gateway's name in a cluster: its host and port (two gateways of a cluster
        never share both)."""
        return f"{socket.gethostname()}:{self.port}"

    @property
    def offer(self) -> Topology:
        """The regions, storage policies and storage classes this server offers: the topology
        file's, or the one region `region` with a default policy."""
        return self.topology or Topology.single(self.region)

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def state_dir(self) -> Path:
        """Server-private state beside the data: metadata DB, keys, temp files."""
        return Path(self.data_dir) / ".oxstore"

    @property
    def given_drives(self) -> list[DriveEntry]:
        """The drives as given, each in the site the topology file puts it in."""
        paths = self.drives or (self.data_dir,)
        topology = self.offer
        return [DriveEntry(p, topology.site_of(p) or LOCAL_SITE) for p in paths]

    @property
    def tmp_name(self) -> str:
        """The directory of this gateway's payloads in flight under each drive's tmp/ ("":
        tmp/ itself). A gateway of a cluster has its own: at start it removes its crash
        leftovers, never the uploads of the gateways still running."""
        return self.gateway.replace(":", "-") if self.clustered else ""

    @property
    def meta_path(self) -> Path:
        return self.state_dir / "meta.sqlite3"

    def to_env(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def from_env(cls) -> Config:
        raw = os.environ.get(CONFIG_ENV)
        if not raw:
            raise RuntimeError(f"{CONFIG_ENV} is not set: start oxstore with `oxstore server`")
        return msgspec.json.decode(raw, type=cls)


def parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address must be HOST:PORT (a port of 1 to 65535), got {address!r}")
    return host.strip("[]") or "127.0.0.1", int(port)
