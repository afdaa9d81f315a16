"""`oxstore admin ...`: every verb is one signed call of the ostor admin API; it prints a table
(or a short line), or with --json the server's JSON as it came."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from oxstore.admin import local_root
from oxstore.admin.client import AdminClient, AdminError, Params

Namespace = argparse.Namespace
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
USERS = ("ostor-users", None)
ACCOUNTS = ("ostor-accounts", None)
LIMITS = ("ostor-limits", None)
QUOTAS = ("ostor-quotas", None)
USAGE = ("ostor-usage", None)
KMS_KEYS = ("ostor-kms-keys", None)
OPS = ("default", "get", "put", "list", "delete")


class UsageError(Exception):
    """Arguments argparse let through but that do not make one call."""


@dataclass(frozen=True, slots=True)
class Verb:
    group: str  # words before the verb's name: "user", "kms key" (a group within a group)
    name: str  # "": the group is the verb (buckets)
    help: str
    args: tuple[str, ...]  # keys of ARGUMENTS, or of the option groups _add_arguments knows
    request: Callable[[Namespace], tuple[str, Params]]
    show: Callable[[Namespace, Any], None] | str  # a str: a line formatted with the arguments


# ---- output ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> None:
    """Prints rows in aligned columns (the header first, when there is one)."""
    cells = [[_cell(v) for v in row] for row in ([header] if header else []) + list(rows)]
    if not cells:
        return
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())


def _show_keys(a: Namespace, data: Any) -> None:
    """A user's (or account's) key pairs: user create, key create, account create."""
    if "Name" in data:
        print(f"account {data['Name']} of {a.email}")
    else:
        account = getattr(a, "account", None)
        print(f"user {data.get('UserEmail')} ({data.get('UserId')})" + _of_account(account))
    pairs = data.get("AWSAccessKeys", [])
    rows = [[k.get("AWSAccessKeyId"), k.get("AWSSecretAccessKey")] for k in pairs]
    table(rows, ["ACCESS KEY", "SECRET KEY"])


def _of_account(account: str | None) -> str:
    return f", account {account}" if account else ""


def _done(word: str) -> Callable[[Namespace, Any], None]:
    """A line for a state change of a user, or of one of its accounts."""
    return lambda a, _: print(f"{word} {a.email}{_of_account(a.account)}")


def _show_users(a: Namespace, data: Any) -> None:
    rows = [[u.get(k) for k in ("UserEmail", "UserId", "State", "Flags")] for u in data["Users"]]
    table(rows, ["EMAIL", "ID", "STATE", "FLAGS"])


def _show_user(a: Namespace, data: Any) -> None:
    fields = ("UserEmail", "UserId", "State", "OwnerId", "Flags", "AccountCount")
    names = ("email", "id", "state", "owner", "flags", "accounts")
    table([[f"{n}:", data.get(f)] for n, f in zip(names, fields, strict=True)])
    rows = [[k["AWSAccessKeyId"], k["AWSSecretAccessKey"], None] for k in data["AWSAccessKeys"]]
    for account in data.get("Accounts", []):
        pairs = account.get("AWSAccessKeys") or [{}]
        rows += [
            [k.get("AWSAccessKeyId"), k.get("AWSSecretAccessKey"), account["Name"]] for k in pairs
        ]
    print()
    table(rows, ["ACCESS KEY", "SECRET KEY", "ACCOUNT"])


def _show_buckets(a: Namespace, data: Any) -> None:
    fields = ("name", "owner_id", "creation_date", "epoch")
    rows = [[b.get(f) for f in fields] + _sizes(b.get("size") or {}) for b in data["Buckets"]]
    table(rows, ["NAME", "OWNER", "CREATED", "EPOCH", "SIZE(bytes)", "MAX(bytes)"])


def _sizes(size: dict[str, Any]) -> list[Any]:
    return [size.get("current"), size.get("hmax")]


def _show_limits(a: Namespace, data: Any) -> None:
    rows = [[k, v, "ops/s" if k.startswith("ops") else "kB/s"] for k, v in data.items()]
    table(rows, ["LIMIT", "VALUE", "UNIT"])


def _show_quota(a: Namespace, data: Any) -> None:
    size = int(data.get("size") or 0)
    kind = {"0": "user", "1": "bucket"}.get(str(data.get("type")), data.get("type"))
    text = f"{size} bytes ({size / 1024**3:g} GB)" if size else "unlimited"
    table([["type:", kind], ["size:", text], ["version:", data.get("version")]])


KMS_HEADER = ["KEY ID", "DESCRIPTION", "CREATED", "VERSIONS", "DEFAULT"]


def _kms_row(key: dict[str, Any]) -> list[Any]:
    fields = ("KeyId", "Description", "Created", "Versions")
    return [key.get(f) for f in fields] + ["yes" if key.get("Default") else "no"]


def _show_kms_keys(a: Namespace, data: Any) -> None:
    table([_kms_row(k) for k in data["Keys"]], KMS_HEADER)


def _show_kms_key(a: Namespace, data: Any) -> None:
    """The key a create or rotate answered."""
    table([_kms_row(data)], KMS_HEADER)


def _show_usage_list(a: Namespace, data: Any) -> None:
    table([[name] for name in data.get("items", [])], ["NAME"])
    if data.get("truncated"):
        print("(truncated)")


def _show_usage(a: Namespace, data: Any) -> None:
    fields = ("fmt_version", "service_id", "start_ts", "period", "nr_items")
    table([[f"{f}:", data.get(f)] for f in fields])
    rows: list[list[Any]] = []
    for item in data.get("items", []):
        key, counters = item.get("key", {}), item.get("counters", {})
        ops, io = counters.get("ops", {}), counters.get("net_io", {})
        rows.append(
            [key.get(f) for f in ("bucket", "epoch", "user_id", "tag")]
            + [ops.get(f) for f in ("put", "get", "list", "other")]
            + [io.get("uploaded"), io.get("downloaded")]
        )
    print()
    header = ["BUCKET", "EPOCH", "USER", "TAG", "PUT", "GET", "LIST", "OTHER", "UP", "DOWN"]
    table(rows, header)


# ---- requests --------------------------------------------------------------------------------


def _who(value: str) -> tuple[str, str]:
    """A user named on the command line: by email if it has an @, else by id."""
    return ("emailAddress", value) if "@" in value else ("id", value)


def _opt(name: str, value: str | None) -> Params:
    return [] if value is None else [(name, value)]


def _flag(name: str, on: bool) -> Params:
    return [(name, None)] if on else []


def _target(a: Namespace) -> Params:
    """The user, bucket or default that --user, --user-id, --bucket or --default names."""
    for option, name in (("user", "emailAddress"), ("user_id", "id"), ("bucket", "bucket")):
        if getattr(a, option, None) is not None:
            return [(name, getattr(a, option))]
    return _opt("default", getattr(a, "quota_default", None))


def _limits_set(a: Namespace) -> tuple[str, Params]:
    ops = [(n, getattr(a, f"ops_{n}")) for n in OPS if getattr(a, f"ops_{n}") is not None]
    if a.out is not None and ops:
        raise UsageError("--out (bandwidth) and ops limits (--default, --get, ...) are two calls")
    if a.out is not None:
        return "PUT", [LIMITS, *_target(a), ("bandwidth", None), ("out", a.out)]
    if not ops:
        raise UsageError("give ops limits (--default, --get, --put, --list, --delete) or --out")
    return "PUT", [LIMITS, *_target(a), ("ops", None), *ops]


def _number(text: str) -> str:
    """A non-negative number, sent as written."""
    try:
        if float(text) >= 0:
            return text
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"not a non-negative number: {text!r}")


ARGUMENTS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "email": (("email",), {"metavar": "EMAIL", "help": "the user's email (or id)"}),
    "who": (("who",), {"metavar": "EMAIL|ID"}),
    "account": (("--account",), {"metavar": "NAME", "help": "an account of the user"}),
    "system": (("--system",), {"action": "store_true", "help": "may call the admin API"}),
    "revoke_key": (("revoke_key",), {"metavar": "ACCESS_KEY", "help": "the key to revoke"}),
    "name": (("name",), {"metavar": "NAME", "help": "the account's name"}),
    "obj": (("obj",), {"metavar": "NAME", "help": "a usage object (see usage list)"}),
    "size": (
        ("size",),
        {"metavar": "SIZE_GB", "type": _number, "help": "in GB (a decimal below 1); 0: unlimited"},
    ),
    "out": (("--out",), {"metavar": "KBPS", "type": _number, "help": "bandwidth out, kB/s"}),
    "description": (("--description",), {"metavar": "TEXT", "help": "what the key is for"}),
    "kms_key_id": (("kms_key_id",), {"metavar": "KEY_ID", "help": "the key's id (or ARN)"}),
}

# fmt: off
VERBS = [
    Verb("user", "create", "create a user and its first key pair", ("email", "system"),
         lambda a: ("PUT", [USERS, ("emailAddress", a.email), *_flag("system", a.system)]),
         _show_keys),
    Verb("user", "list", "list the users", (), lambda a: ("GET", [USERS]), _show_users),
    Verb("user", "show", "a user, its accounts and key pairs", ("who",),
         lambda a: ("GET", [USERS, _who(a.who)]), _show_user),
    Verb("user", "disable", "disable a user (or one of its accounts)", ("email", "account"),
         lambda a: ("POST", [USERS, _who(a.email), ("disable", None),
                             *_opt("accountName", a.account)]),
         _done("disabled")),
    Verb("user", "enable", "enable a user (or one of its accounts)", ("email", "account"),
         lambda a: ("POST", [USERS, _who(a.email), ("enable", None),
                             *_opt("accountName", a.account)]),
         _done("enabled")),
    Verb("user", "delete", "delete a user and its accounts", ("who",),
         lambda a: ("DELETE", [USERS, _who(a.who)]), "deleted {who}"),
    Verb("key", "create", "a new key pair of a user (or account); prints all its pairs",
         ("email", "account"),
         lambda a: ("POST", [USERS, _who(a.email), ("genKey", None),
                             *_opt("accountName", a.account)]),
         _show_keys),
    Verb("key", "revoke", "revoke a key pair", ("email", "revoke_key", "account"),
         lambda a: ("POST", [USERS, _who(a.email), ("revokeKey", a.revoke_key),
                             *_opt("accountName", a.account)]),
         "revoked {revoke_key}"),
    Verb("account", "create", "create an account under a user", ("email", "name"),
         lambda a: ("POST", [ACCOUNTS, _who(a.email), ("accountName", a.name)]), _show_keys),
    Verb("account", "delete", "delete an account", ("email", "name"),
         lambda a: ("DELETE", [ACCOUNTS, _who(a.email), ("accountName", a.name)]),
         "deleted account {name} of {email}"),
    Verb("limits", "get", "the ops and bandwidth limits of a user or bucket", ("target",),
         lambda a: ("GET", [LIMITS, *_target(a)]), _show_limits),
    Verb("limits", "set", "set ops limits (per minute) or the bandwidth limit (--out)",
         ("target", "ops", "out"), _limits_set, "limits set"),
    Verb("limits", "clear", "remove the ops or the bandwidth limits", ("target", "kind"),
         lambda a: ("DELETE", [LIMITS, *_target(a), (a.kind, None)]), "limits cleared"),
    Verb("quota", "get", "the storage quota of a user or bucket (or the default)",
         ("quota_target",), lambda a: ("GET", [QUOTAS, *_target(a)]), _show_quota),
    Verb("quota", "set", "set a storage quota", ("quota_target", "size"),
         lambda a: ("PUT", [QUOTAS, *_target(a), ("quota-size", a.size)]), "quota set"),
    Verb("quota", "clear", "remove a storage quota (unlimited)", ("quota_target",),
         lambda a: ("DELETE", [QUOTAS, *_target(a)]), "quota cleared"),
    Verb("usage", "list", "the usage objects", (), lambda a: ("GET", [USAGE]), _show_usage_list),
    Verb("usage", "show", "the counters of a usage object", ("obj",),
         lambda a: ("GET", [USAGE, ("obj", a.obj)]), _show_usage),
    Verb("usage", "delete", "delete a usage object", ("obj",),
         lambda a: ("DELETE", [USAGE, ("obj", a.obj)]), "deleted {obj}"),
    Verb("kms key", "create", "create a KMS key (SSE-KMS)", ("description",),
         lambda a: ("PUT", [KMS_KEYS, *_opt("description", a.description)]), _show_kms_key),
    Verb("kms key", "list", "the KMS keys", (), lambda a: ("GET", [KMS_KEYS]), _show_kms_keys),
    Verb("kms key", "rotate", "give a KMS key a new current version (older objects keep theirs)",
         ("kms_key_id",),
         lambda a: ("POST", [KMS_KEYS, ("keyId", a.kms_key_id), ("rotate", None)]),
         _show_kms_key),
    Verb("buckets", "", "the buckets (of a user)", ("owner",),
         lambda a: ("GET", [("ostor-buckets", None), *_target(a)]), _show_buckets),
]
# fmt: on


# ---- the parser ------------------------------------------------------------------------------


def _connection_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """Given before the verbs (`default` None) or after them (SUPPRESS: a value given there
    replaces the one before, an absent one keeps it)."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--endpoint", default=default, help="the server (OXSTORE_ENDPOINT; http://127.0.0.1:9000)"
    )
    group.add_argument(
        "--access-key", default=default, help="OXSTORE_ACCESS_KEY, else OXSTORE_ROOT_USER"
    )
    group.add_argument(
        "--secret-key", default=default, help="OXSTORE_SECRET_KEY, else OXSTORE_ROOT_PASSWORD"
    )
    group.add_argument(
        "--data-dir",
        default=default,
        metavar="DIR",
        help="sign as the root user with the key kept in this data directory (the server's "
        "first drive), at the address the server last started on (OXSTORE_DATA_DIR)",
    )
    group.add_argument("--region", default=default, help="OXSTORE_REGION; us-east-1")
    group.add_argument("--ca-file", default=default, help="PEM CA bundle to verify https")
    group.add_argument(
        "--insecure",
        action="store_true",
        default=default,
        help="skip https certificate checks (OXSTORE_INSECURE=1)",
    )
    group.add_argument(
        "--json", action="store_true", default=default, help="print the server's JSON"
    )


def _add_arguments(parser: argparse.ArgumentParser, keys: Sequence[str]) -> None:
    for key in keys:
        if key in ("target", "quota_target", "owner"):
            who = parser.add_mutually_exclusive_group(required=key != "owner")
            who.add_argument("--user", metavar="EMAIL")
            who.add_argument("--user-id", metavar="ID")
            if key != "owner":
                who.add_argument("--bucket", metavar="BUCKET")
            if key == "quota_target":
                who.add_argument("--default", dest="quota_default", choices=("user", "bucket"))
        elif key == "ops":
            for name in OPS:
                what = "operations" if name == "default" else f"{name} operations"
                parser.add_argument(
                    f"--{name}",
                    dest=f"ops_{name}",
                    type=_number,
                    metavar="N",
                    help=f"{what} per minute",
                )
        elif key == "kind":
            kind = parser.add_mutually_exclusive_group(required=True)
            kind.add_argument("--ops", dest="kind", action="store_const", const="ops")
            kind.add_argument("--bandwidth", dest="kind", action="store_const", const="bandwidth")
        else:
            flags, options = ARGUMENTS[key]
            parser.add_argument(*flags, **options)


def add_parser(commands: Subparsers) -> None:
    """Adds `admin` and its verbs to the subparsers of the `oxstore` command."""
    admin = commands.add_parser(
        "admin",
        help="manage users, keys, limits, quotas, usage (the ostor admin API) and KMS keys",
    )
    _connection_options(admin, None)
    groups = admin.add_subparsers(dest="admin_group", metavar="GROUP", required=True)
    verbs: dict[str, Subparsers] = {"": groups}
    for verb in VERBS:
        if verb.name:
            leaf = _verbs_of(verbs, verb.group).add_parser(
                verb.name, help=verb.help, description=verb.help
            )
        else:
            leaf = groups.add_parser(verb.group, help=verb.help, description=verb.help)
        _add_arguments(leaf, verb.args)
        _connection_options(leaf, argparse.SUPPRESS)
        leaf.set_defaults(admin_spec=verb, admin_parser=leaf)


GROUP_HELPS = {
    "user": "users",
    "key": "key pairs",
    "account": "accounts",
    "limits": "ops and bandwidth limits",
    "quota": "storage quotas",
    "usage": "usage statistics",
    "kms": "the KMS keyring (SSE-KMS)",
    "kms key": "KMS keys",
}


def _verbs_of(verbs: dict[str, Subparsers], group: str) -> Subparsers:
    """The subparsers of a group's verbs (group: words, "kms key"), each level made once."""
    if group not in verbs:
        outer, _, name = group.rpartition(" ")
        parser = _verbs_of(verbs, outer).add_parser(name, help=GROUP_HELPS[group])
        verbs[group] = parser.add_subparsers(dest="admin_verb", metavar="VERB", required=True)
    return verbs[group]


# ---- running ---------------------------------------------------------------------------------


def _setting(value: str | None, *names: str) -> str | None:
    """The option's value, else the first of the environment variables set."""
    return value or next((os.environ[n] for n in names if os.environ.get(n)), None)


def _client(args: Namespace) -> AdminClient:
    """ValueError: a setting that is missing or wrong."""
    data_dir = _setting(args.data_dir, "OXSTORE_DATA_DIR")
    endpoint = _setting(args.endpoint, "OXSTORE_ENDPOINT")
    if data_dir:  # the root user of that directory, unless a key is given as well
        access, secret = args.access_key, args.secret_key
        if not (access and secret):
            meta = os.environ.get("OXSTORE_META", "")
            access, secret = local_root.root_credentials(Path(data_dir), meta)
        endpoint = endpoint or local_root.last_endpoint(Path(data_dir))
    else:
        access = _setting(args.access_key, "OXSTORE_ACCESS_KEY", "OXSTORE_ROOT_USER")
        secret = _setting(args.secret_key, "OXSTORE_SECRET_KEY", "OXSTORE_ROOT_PASSWORD")
    if not access:
        raise ValueError(
            "no access key: give --access-key or set OXSTORE_ACCESS_KEY (or OXSTORE_ROOT_USER), "
            "or --data-dir DIR to sign as the root user of the server's data directory"
        )
    if not secret:
        raise ValueError(
            "no secret key: give --secret-key or set OXSTORE_SECRET_KEY (or OXSTORE_ROOT_PASSWORD)"
        )
    insecure = args.insecure or os.environ.get("OXSTORE_INSECURE", "") in ("1", "true", "yes")
    return AdminClient(
        endpoint=endpoint or "http://127.0.0.1:9000",
        access_key=access,
        secret_key=secret,
        region=_setting(args.region, "OXSTORE_REGION") or "us-east-1",
        insecure=insecure,
        ca_file=_setting(args.ca_file, "OXSTORE_CA_FILE"),
    )


def run(args: Namespace) -> int:
    verb: Verb = args.admin_spec
    parser: argparse.ArgumentParser = args.admin_parser
    try:
        method, params = verb.request(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    try:
        client = _client(args)
    except ValueError as exc:
        print(f"oxstore: {exc}", file=sys.stderr)
        return 2
    try:
        _, body = client.call(method, params)
    except AdminError as exc:
        print(f"oxstore: {exc}", file=sys.stderr)  # Code: Message
        return 1
    except ConnectionRefusedError:
        print(f"oxstore: cannot connect to {client.endpoint}: connection refused", file=sys.stderr)
        return 1
    except (OSError, http.client.HTTPException) as exc:
        print(f"oxstore: cannot reach {client.endpoint}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        text = body.decode("utf-8", "replace")
        if text:
            print(text, end="" if text.endswith("\n") else "\n")
        return 0
    if isinstance(verb.show, str):
        print(verb.show.format(**vars(args)))
        return 0
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        print("oxstore: the server's answer is not JSON (try --json)", file=sys.stderr)
        return 1
    try:
        verb.show(args, data)
    except (KeyError, TypeError, AttributeError):  # JSON of another shape
        print("oxstore: unexpected answer from the server (try --json)", file=sys.stderr)
        return 1
    return 0
