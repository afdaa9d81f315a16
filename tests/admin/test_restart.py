"""Across restarts: a new OXSTORE_ROOT_USER joins the root user (its buckets stay reachable),
and users, accounts, keys, quotas, limits and bucket sizes stay as they were."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.admin.helpers import admin, create_user
from tests.conftest import Server, free_port


def test_a_new_root_key_keeps_the_root_users_buckets(
    tmp_path: Path, meta_args: Callable[[Path], list[str]]
) -> None:
    data_dir = tmp_path / "data"
    first = Server(data_dir, free_port(), meta_args(data_dir), "FIRSTROOTKEY", "first-secret-1")
    first.start()
    try:
        first.client().create_bucket(Bucket="roots-bucket")
        owner = first.owner_id
        alice = create_user(first, "alice@example.com")
        made = admin(first, "POST", "ostor-accounts", id=alice.id, accountName="app")
        assert made.status_code == 200
        first.client().put_object(Bucket="roots-bucket", Key="k", Body=b"k" * 1234)
        admin(first, "PUT", "ostor-quotas", bucket="roots-bucket", **{"quota-size": "2"})
        admin(first, "PUT", "ostor-limits", id=alice.id, ops=None, default="6000")
    finally:
        first.stop()
    second = Server(data_dir, free_port(), meta_args(data_dir), "SECONDROOTKEY", "second-secret")
    second.start()
    try:
        assert "added the access key SECONDROOTKEY" in second.log()
        s3 = second.client()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["roots-bucket"]
        assert s3.list_buckets()["Owner"]["ID"] == owner
        old_key = Server(data_dir, second.port, [], "FIRSTROOTKEY", "first-secret-1")
        assert old_key.client().list_buckets()["Owner"]["ID"] == owner  # two pairs: both work
        shown = admin(second, "GET", "ostor-users", id=alice.id).json()
        assert shown["AWSAccessKeys"][0]["AWSAccessKeyId"] == alice.access_key
        assert [a["Name"] for a in shown["Accounts"]] == ["app"]
        assert alice.client(second).list_buckets()["Owner"]["ID"] == alice.id
        quota = admin(second, "GET", "ostor-quotas", bucket="roots-bucket").json()
        assert quota["size"] == str(2 * 1024**3)
        assert admin(second, "GET", "ostor-limits", id=alice.id).json()["ops:get"] == "100.00"
        listed = admin(second, "GET", "ostor-buckets", id=owner).json()["Buckets"]
        assert listed[0]["size"]["current"] == 1234
        s3.delete_object(Bucket="roots-bucket", Key="k")
        s3.delete_bucket(Bucket="roots-bucket")
    finally:
        second.stop()
