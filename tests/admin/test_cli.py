"""`oxstore admin`: each verb one signed call of the admin API, tables for people, --json for
scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import Server


def oxstore_admin(
    server: Server, *args: str, key: str = "", secret: str = ""
) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        OXSTORE_ENDPOINT=server.endpoint,
        OXSTORE_ACCESS_KEY=key or server.access_key,
        OXSTORE_SECRET_KEY=secret or server.secret_key,
    )
    return subprocess.run(
        [sys.executable, "-m", "oxstore", "admin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_users_keys_and_accounts_from_the_command_line(server: Server) -> None:
    made = oxstore_admin(server, "--json", "user", "create", "cli@example.com")
    assert made.returncode == 0, made.stderr
    user = json.loads(made.stdout)
    user_id = user["UserId"]
    (pair,) = user["AWSAccessKeys"]
    try:
        listed = oxstore_admin(server, "user", "list")
        assert listed.returncode == 0
        header, *rows = listed.stdout.splitlines()
        assert header.split() == ["EMAIL", "ID", "STATE", "FLAGS"]
        assert any(row.split()[:3] == ["cli@example.com", user_id, "enabled"] for row in rows)
        more = oxstore_admin(server, "--json", "key", "create", "cli@example.com")
        assert len(json.loads(more.stdout)["AWSAccessKeys"]) == 2
        third = oxstore_admin(server, "key", "create", "cli@example.com")
        assert third.returncode == 1 and "TooManyAccessKeys" in third.stderr
        revoked = oxstore_admin(server, "key", "revoke", "cli@example.com", pair["AWSAccessKeyId"])
        assert revoked.returncode == 0, revoked.stderr
        assert (
            oxstore_admin(server, "account", "create", "cli@example.com", "tools").returncode == 0
        )
        shown = oxstore_admin(server, "user", "show", user_id)
        assert "tools" in shown.stdout and pair["AWSAccessKeyId"] not in shown.stdout
        assert oxstore_admin(server, "user", "disable", "cli@example.com").returncode == 0
        state = json.loads(oxstore_admin(server, "--json", "user", "show", user_id).stdout)
        assert state["State"] == "disabled"
        assert oxstore_admin(server, "user", "enable", "cli@example.com").returncode == 0
        # a user who is not a system user is refused, and says so
        refused = oxstore_admin(
            server, "user", "list", key=more_key(more.stdout), secret=more_secret(more.stdout)
        )
        assert refused.returncode == 1 and "AccessDenied" in refused.stderr
        assert (
            oxstore_admin(server, "account", "delete", "cli@example.com", "tools").returncode == 0
        )
    finally:
        deleted = oxstore_admin(server, "user", "delete", "cli@example.com")
        assert deleted.returncode == 0, deleted.stderr
    gone = oxstore_admin(server, "user", "show", "cli@example.com")
    assert gone.returncode == 1 and "NoSuchUser" in gone.stderr


def more_key(answer: str) -> str:
    return str(json.loads(answer)["AWSAccessKeys"][-1]["AWSAccessKeyId"])


def more_secret(answer: str) -> str:
    return str(json.loads(answer)["AWSAccessKeys"][-1]["AWSSecretAccessKey"])


def test_missing_keys_and_a_server_that_is_not_there() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OXSTORE_")}
    command = [sys.executable, "-m", "oxstore", "admin", "user", "list"]
    missing = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "key" in missing.stderr.lower()
    env.update(OXSTORE_ACCESS_KEY="k" * 20, OXSTORE_SECRET_KEY="s" * 40)
    env["OXSTORE_ENDPOINT"] = "http://127.0.0.1:9"
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "cannot connect" in refused.stderr


def test_quotas_and_the_bucket_inventory_from_the_command_line(server: Server, s3) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket="cli-inventory")
    try:
        s3.put_object(Bucket="cli-inventory", Key="k", Body=b"x" * 1234)
        listed = oxstore_admin(server, "buckets", "--user-id", server.owner_id)
        assert listed.returncode == 0, listed.stderr
        row = [r for r in listed.stdout.splitlines() if r.startswith("cli-inventory ")]
        assert row and "1234" in row[0].split()
        assert (
            oxstore_admin(server, "quota", "set", "--bucket", "cli-inventory", "0.5").returncode
            == 0
        )
        shown = json.loads(
            oxstore_admin(server, "--json", "quota", "get", "--bucket", "cli-inventory").stdout
        )
        assert shown == {"version": "1", "type": "1", "size": str(1024**3 // 2)}
        assert oxstore_admin(server, "quota", "clear", "--bucket", "cli-inventory").returncode == 0
        table = oxstore_admin(server, "quota", "get", "--bucket", "cli-inventory").stdout
        assert "unlimited" in table
    finally:
        s3.delete_object(Bucket="cli-inventory", Key="k")
        s3.delete_bucket(Bucket="cli-inventory")


def test_limits_from_the_command_line(server: Server, s3) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket="cli-limits")
    try:
        made = oxstore_admin(server, "limits", "set", "--bucket", "cli-limits", "--default", "120")
        assert made.returncode == 0, made.stderr
        shown = oxstore_admin(server, "limits", "get", "--bucket", "cli-limits")
        assert "ops:get" in shown.stdout and "2.00" in shown.stdout and "ops/s" in shown.stdout
        both = oxstore_admin(
            server, "limits", "set", "--bucket", "cli-limits", "--get", "1", "--out", "5"
        )
        assert both.returncode == 2
        cleared = oxstore_admin(server, "limits", "clear", "--bucket", "cli-limits", "--ops")
        assert cleared.returncode == 0, cleared.stderr
        gone = oxstore_admin(server, "limits", "get", "--bucket", "cli-limits")
        assert gone.returncode == 1 and "NoSuchLimits" in gone.stderr
    finally:
        s3.delete_bucket(Bucket="cli-limits")


def test_usage_objects_from_the_command_line(tmp_path, meta_args) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import free_port

    data_dir = tmp_path / "data"
    args = ["--usage", "--usage-period", "1", "--usage-cache-timeout", "0.3", *meta_args(data_dir)]
    srv = Server(data_dir, free_port(), args).start()
    try:
        srv.client().create_bucket(Bucket="cli-usage")
        deadline = time.monotonic() + 20
        names: list[str] = []
        while not names and time.monotonic() < deadline:
            time.sleep(0.5)
            names = json.loads(oxstore_admin(srv, "--json", "usage", "list").stdout)["items"]
        assert names, "no statistics object appeared"
        assert names[0] in oxstore_admin(srv, "usage", "list").stdout
        shown = oxstore_admin(srv, "usage", "show", names[0])
        assert shown.returncode == 0 and "cli-usage" in shown.stdout, shown.stdout
        assert oxstore_admin(srv, "usage", "delete", names[0]).returncode == 0
        assert oxstore_admin(srv, "usage", "show", names[0]).returncode == 1
    finally:
        srv.stop()


def test_the_root_user_of_a_data_directory(server: Server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """--data-dir: no key to give, nor an endpoint: both come from the data directory; `oxstore
    user list DIR` is its short spelling."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OXSTORE_")}
    if server.meta_flag:  # a cluster's store: the directory holds the master key, not the store
        env["OXSTORE_META"] = server.meta_flag[1]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "oxstore", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    empty = tmp_path / "not-data"
    empty.mkdir()
    for data_dir, *spelling in (
        (server.data_dir, "admin", "--data-dir", "{}", "--json", "user", "list"),
        (server.data_dir, "user", "list", "--json", "{}"),
        (empty, "admin", "--data-dir", "{}", "user", "list"),
        (empty, "user", "list", "{}"),
    ):
        done = run(*(word.format(data_dir) for word in spelling))
        if data_dir == empty:
            assert done.returncode == 2 and "is not an oxstore data directory" in done.stderr
            assert "Traceback" not in done.stderr and list(empty.iterdir()) == []
        else:
            assert done.returncode == 0, done.stderr
            users = json.loads(done.stdout)["Users"]
            assert "root@localhost" in [u["UserEmail"] for u in users]
