"""The `oxstore` command."""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import os
import sys
from collections.abc import Callable
from pathlib import Path

from oxstore.admin import cli as admin_cli
from oxstore.config import Config, parse_address
from oxstore.topology import Topology


def version() -> str:
    try:
        return importlib.metadata.version("oxstore")
    except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
        return "unknown"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"OXSTORE_{name}", default)


class EnvError(ValueError):
    """An OXSTORE_* variable whose value its option cannot take."""


def _env_typed(flag: str, kind: type, default: object) -> object:
    """The default of a typed option: OXSTORE_<FLAG> converted (EnvError naming the variable
    if it cannot be), or `default`."""
    name = env_name(flag)
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise EnvError(f"{name}: invalid {kind.__name__} value: {raw!r}") from None


def said_by(flag: str, argv: list[str]) -> str:
    """How the user gave an option: its flag when on the command line, else its OXSTORE_*
    variable when that is set (an error names what the user wrote, not what they did not)."""
    if any(arg == flag or arg.startswith(flag + "=") for arg in argv):
        return flag
    return env_name(flag) if env_name(flag) in os.environ else flag


def _env_flag(name: str) -> bool:
    """An on/off setting from OXSTORE_<name>: set and not 0 or false."""
    return _env(name, "").strip().lower() not in ("", "0", "false", "no", "off")


GiB = 1024**3
META_HELP = (
    "the metadata store: a postgresql:// URL that gateways of a cluster share (default: the "
    "embedded SQLite database in the data directory)"
)
# --flag, its type, its default (also read from OXSTORE_FLAG), what it sets
SERVER_SETTINGS: list[tuple[str, type, object, str]] = [
    ("--max-buckets", int, 100, "buckets an account may own"),
    ("--max-object-size", int, 10 * GiB, "largest single PUT in bytes"),
    (
        "--max-multipart-size",
        int,
        5 * 1024 * GiB,
        "largest object a multipart upload may complete, in bytes",
    ),
    (
        "--min-part-size",
        int,
        5 * 1024**2,
        "smallest size of every part but the last of a multipart upload, in bytes",
    ),
    (
        "--inline-threshold",
        int,
        32 * 1024,
        "objects up to this many bytes are kept in the metadata, not in files (0: never)",
    ),
    (
        "--gc-grace",
        float,
        30,
        "seconds replaced or deleted data stays on disk (reads in flight finish first)",
    ),
    ("--gc-interval", float, 5, "seconds between passes of the garbage collector"),
    (
        "--max-requests-per-second",
        float,
        0,
        "requests per second the whole service (every gateway of a cluster) admits; beyond: "
        "503 SlowDown (0: no cap)",
    ),
    ("--usage-period", float, 3600, "seconds of counts in one usage statistics object"),
    (
        "--usage-cache-timeout",
        float,
        60,
        "seconds a worker keeps usage counts in memory before adding them to the store",
    ),
    ("--tls-cert", str, "", "PEM certificate (chain): serve HTTPS"),
    ("--tls-key", str, "", "its PEM private key"),
    (
        "--plain-address",
        str,
        "",
        "with TLS, also listen for plain HTTP on HOST:PORT (same host as --address)",
    ),
    (
        "--min-free-space",
        int,
        256 * 1024**2,
        "bytes of free disk below which uploads answer 507 InsufficientStorage (DELETE and "
        "reads go on)",
    ),
    (
        "--header-timeout",
        float,
        30,
        "seconds a request's headers may take, and a kept-alive connection may stay idle",
    ),
    ("--body-timeout", float, 60, "seconds a request body may send nothing before RequestTimeout"),
    (
        "--abort-uploads-after",
        float,
        7 * 86400,
        "seconds after which an unfinished multipart upload is aborted (0: never)",
    ),
    (
        "--scrub-rate",
        float,
        8 * 1024**2,
        "bytes per second the background scrubber reads of the data files (0: no scrub)",
    ),
    ("--scrub-interval", float, 7 * 86400, "seconds from one scrub pass's start to the next"),
    (
        "--drain-seconds",
        float,
        5,
        "on SIGTERM to the main process, seconds /-/health/ready answers 503 (requests still "
        "served) before the server stops",
    ),
]


def _drives(given: list[str]) -> tuple[str, ...]:
    drives = tuple(os.path.abspath(d) for d in given)
    if len(set(drives)) != len(drives):
        raise ValueError("a drive is given twice")
    return drives


class ServerHelp(argparse.HelpFormatter):
    """Each option's help with its default (as this environment sets it) and the OXSTORE_*
    variable that sets it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = default not in (None, "", [], argparse.SUPPRESS, False)
        if shown and "default" not in text:
            text += " (default: %(default)s)"
        flag = next((o for o in action.option_strings if o.startswith("--")), "")
        if flag and action.dest != "help":
            text += f" [env {env_name(flag)}]"
        return text


def env_name(flag: str) -> str:
    """The environment variable of a server option: --max-buckets: OXSTORE_MAX_BUCKETS."""
    return "OXSTORE_" + flag[2:].upper().replace("-", "_")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oxstore", description="S3-compatible object storage")
    parser.add_argument("--version", action="version", version=f"oxstore {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="start the S3 server", formatter_class=ServerHelp)
    server.add_argument(
        "drives",
        nargs="+",
        metavar="DRIVE",
        help="directories for data (created if missing); the first also holds the metadata "
        "(see README: drive sets and layouts)",
    )
    server.add_argument("--address", default=_env("ADDRESS", "127.0.0.1:9000"), help="HOST:PORT")
    server.add_argument(
        "--workers",
        type=int,
        default=_env_typed("--workers", int, len(os.sched_getaffinity(0))),
        help="worker processes (default: the cores this process may run on)",
    )
    server.add_argument(
        "--domain",
        action="append",
        default=[d for d in _env("DOMAIN", "").split(",") if d],
        help="domain for virtual-host style requests (BUCKET.DOMAIN); repeatable",
    )
    server.add_argument(
        "--region",
        default=_env("REGION", "us-east-1"),
        help="the one region of a server without --topology",
    )
    server.add_argument(
        "--topology",
        default=_env("TOPOLOGY", "") or None,
        help="TOML file of regions, storage policies and storage classes (see README)",
    )
    server.add_argument("--meta", default=_env("META", ""), help=META_HELP)
    for flag, kind, default, text in SERVER_SETTINGS:
        server.add_argument(flag, type=kind, default=_env_typed(flag, kind, default), help=text)
    server.add_argument(
        "--plain-answer",
        choices=("redirect", "refuse"),
        default=_env("PLAIN_ANSWER", "redirect"),
        help="what plain HTTP requests get: a redirect to https, or 403 AccessDenied",
    )
    server.add_argument(
        "--usage",
        action="store_true",
        default=_env_flag("USAGE"),
        help="collect usage statistics (operations and bytes per bucket and user; ostor-usage)",
    )
    server.add_argument(
        "--access-log",
        default=_env("ACCESS_LOG", "off"),
        help="one JSON line per request: off, stdout, or a file path (rotated at 64 MiB, 5 kept)",
    )
    server.add_argument(
        "--metrics-token",
        default=_env("METRICS_TOKEN", ""),
        help="bearer token Prometheus scrapes /metrics (and /-/metrics) with; without one, "
        "/-/metrics answers clients on this host only",
    )
    server.add_argument(
        "--metrics-address",
        default=_env("METRICS_ADDRESS", ""),
        help="HOST:PORT of a listener for /metrics alone (e.g. a private interface); the S3 "
        "port then answers metrics only to the bearer token of --metrics-token",
    )
    server.add_argument(
        "--sse-c-over-http",
        action="store_true",
        default=_env_flag("SSE_C_OVER_HTTP"),
        help="accept SSE-C customer keys over plain http from other hosts (behind a TLS proxy; "
        "the loopback and TLS are always accepted)",
    )
    for name, text in (
        ("scrub", "verify every block of the store's data files and heal what is damaged"),
        ("heal", "format replaced drives, then scrub and heal: back to full redundancy"),
    ):
        pass_ = commands.add_parser(name, help=text)
        pass_.add_argument("data_dir", help="the server's first drive")
        pass_.add_argument("--meta", default=_env("META", ""), help=META_HELP)
        pass_.add_argument("--rate", type=float, default=0, help="bytes per second (0: no cap)")
    admin_cli.add_parser(commands)
    users = commands.add_parser(
        "user", help="the users of a data directory (oxstore admin --data-dir DIR user ...)"
    )
    user_verbs = users.add_subparsers(dest="user_verb", metavar="VERB", required=True)
    listing = user_verbs.add_parser("list", help="list the users, signed as the root user")
    listing.add_argument("data_dir", metavar="DIR", help="the server's first drive")
    listing.add_argument("--json", action="store_true", help="the admin API's JSON answer")
    migrate = commands.add_parser(
        "migrate", help="create or upgrade the metadata schema (servers also do it on start)"
    )
    migrate.add_argument("data_dir")
    migrate.add_argument("--meta", default=_env("META", ""), help=META_HELP)
    return parser


def _migrate(args: argparse.Namespace) -> int:
    """Opens the store once, which creates or upgrades its schema (a newer one is refused),
    and says what it found."""
    from oxstore.meta.open import describe, open_store
    from oxstore.server import schema_line

    state_dir = Path(os.path.abspath(args.data_dir)) / ".oxstore"
    try:
        if not args.meta:
            state_dir.mkdir(parents=True, exist_ok=True)
        store = open_store(args.meta, state_dir / "meta.sqlite3")
    except Exception as exc:  # a refused schema, a bad URL, a database that is not there
        print(f"oxstore: {exc}", file=sys.stderr)
        return 2
    store.close()
    print(f"oxstore: metadata: {describe(args.meta)}, schema {schema_line(store)}")
    return 0


def _access_log(value: str) -> str:
    """--access-log: "" (off), "-" (stdout) or an absolute file path."""
    if value in ("off", ""):
        return ""
    if value in ("on", "stdout", "-"):
        return "-"
    return os.path.abspath(value)


def _address(address: str, said: str) -> tuple[str, int]:
    """(host, port) of a HOST:PORT option given as `said` (its flag or variable)."""
    try:
        return parse_address(address)
    except ValueError as exc:
        raise ValueError(f"{said}: {exc}") from None


def _plain_port(args: argparse.Namespace, host: str, said: Callable[[str], str]) -> int:
    """The plain-HTTP port beside TLS (0: none); ValueError for settings that do not fit,
    naming them as `said` does."""
    cert, key, plain = said("--tls-cert"), said("--tls-key"), said("--plain-address")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError(f"{cert} and {key} go together")
    for path, name in ((args.tls_cert, cert), (args.tls_key, key)):
        if path and not os.path.isfile(path):
            raise ValueError(f"{name}: no such file: {path}")
    if not args.plain_address:
        return 0
    if not args.tls_cert:
        raise ValueError(f"{plain} is for a server with {cert}")
    plain_host, plain_port = _address(args.plain_address, plain)
    if plain_host != host:
        raise ValueError(f"{plain} must use the host of {said('--address')}")
    return plain_port


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
    except EnvError as exc:
        print(f"oxstore: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(words)
    if args.command == "admin":
        return admin_cli.run(args)
    if args.command == "user":  # the short spelling of `admin --data-dir DIR user list`
        as_json = ["--json"] if args.json else []
        return admin_cli.run(
            parser.parse_args(["admin", "--data-dir", args.data_dir, *as_json, "user", "list"])
        )
    if args.command == "migrate":
        return _migrate(args)
    if args.command in ("scrub", "heal"):
        from oxstore.data import maintenance

        data_dir = os.path.abspath(args.data_dir)
        if not args.meta and not (Path(data_dir) / ".oxstore" / "meta.sqlite3").is_file():
            print(
                f"oxstore: {args.data_dir} is not an oxstore data directory (it has no "
                ".oxstore/meta.sqlite3; give the server's first drive, or --meta for a "
                "cluster's store)",
                file=sys.stderr,
            )
            return 2
        return maintenance.run(data_dir, args.meta, args.rate, args.command == "heal")
    if args.command == "server":
        from oxstore.meta.open import check_url
        from oxstore.server import StartupError, serve

        said = functools.partial(said_by, argv=words)
        try:
            host, port = _address(args.address, said("--address"))
            topology = Topology.load(args.topology) if args.topology else None
            plain_port = _plain_port(args, host, said)
            check_url(args.meta)
            drives = _drives(args.drives)
            metrics = args.metrics_address
            metrics_host, metrics_port = (
                _address(metrics, said("--metrics-address")) if metrics else ("", 0)
            )
        except (ValueError, OSError) as exc:
            print(f"oxstore: {exc}", file=sys.stderr)
            return 2
        config = Config(
            data_dir=drives[0],
            drives=drives,
            host=host,
            port=port,
            workers=max(1, args.workers),
            region=topology.default_region if topology else args.region,
            topology=topology,
            domains=tuple(args.domain) + (topology.endpoints if topology else ()),
            max_buckets_per_account=max(0, args.max_buckets),
            max_object_size=args.max_object_size,
            max_multipart_size=args.max_multipart_size,
            min_part_size=max(0, args.min_part_size),
            inline_threshold=max(0, args.inline_threshold),
            gc_grace=max(0.0, args.gc_grace),
            gc_interval=max(0.05, args.gc_interval),
            abort_uploads_after=max(0.0, args.abort_uploads_after),
            scrub_rate=max(0.0, args.scrub_rate),
            scrub_interval=max(1.0, args.scrub_interval),
            max_requests_per_second=max(0.0, args.max_requests_per_second),
            usage=args.usage,
            sse_c_over_http=args.sse_c_over_http,
            metrics_token=args.metrics_token,
            metrics_host=metrics_host,
            metrics_port=metrics_port,
            drain_seconds=max(0.0, args.drain_seconds),
            access_log=_access_log(args.access_log),
            usage_period=max(1.0, args.usage_period),
            usage_cache_timeout=max(0.1, args.usage_cache_timeout),
            header_timeout=max(0.1, args.header_timeout),
            min_free_space=max(0, args.min_free_space),
            tls_cert=os.path.abspath(args.tls_cert) if args.tls_cert else "",
            tls_key=os.path.abspath(args.tls_key) if args.tls_key else "",
            plain_port=plain_port,
            plain_answer=args.plain_answer,
            body_timeout=max(0.1, args.body_timeout),
            meta=args.meta,
        )
        try:
            return serve(config)
        except ValueError as exc:  # bad credentials or master key in the environment
            print(f"oxstore: {exc}", file=sys.stderr)
            return 2
        except StartupError as exc:  # another server holds the data directory or the port
            print(f"oxstore: {exc}", file=sys.stderr)
            return 1
    return 2
