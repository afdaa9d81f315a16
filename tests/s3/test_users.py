"""A second user, added with `oxstore user add` while the server runs: bucket names are unique
across users and a bucket's owner decides what others may do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from tests.conftest import Server, make_client
from tests.s3.helpers import expect_error

OTHER_KEY, OTHER_SECRET = "OTHERUSERACCESSKEY01", "other-user-secret-key"


@pytest.fixture(scope="module")
def other(server: Server):  # type: ignore[no-untyped-def]
    env = dict(
        os.environ, OXSTORE_ROOT_USER=server.access_key, OXSTORE_ROOT_PASSWORD=server.secret_key
    )
    listed = subprocess.run(
        [sys.executable, "-m", "oxstore", "user", "list", str(server.data_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if OTHER_KEY not in listed:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "oxstore",
                "user",
                "add",
                str(server.data_dir),
                "--access-key",
                OTHER_KEY,
                "--secret-key",
                OTHER_SECRET,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return make_client(server.endpoint, OTHER_KEY, OTHER_SECRET, s3={"addressing_style": "path"})


def test_bucket_names_are_unique_across_users(s3, other, bucket: str) -> None:
    expect_error("BucketAlreadyExists", 409, other.create_bucket, Bucket=bucket)
    expect_error("BucketAlreadyOwnedByYou", 409, s3.create_bucket, Bucket=bucket)
    other.create_bucket(Bucket="others-own-bucket")
    try:
        assert [b["Name"] for b in other.list_buckets()["Buckets"]] == ["others-own-bucket"]
        assert "others-own-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        expect_error("AccessDenied", 403, s3.list_objects_v2, Bucket="others-own-bucket")
    finally:
        other.delete_bucket(Bucket="others-own-bucket")


def test_grants_to_authenticated_users_and_owners_rights(server, s3, other, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="private", Body=b"p")
    s3.put_object(Bucket=bucket, Key="members", Body=b"m", ACL="authenticated-read")
    expect_error("AccessDenied", 403, other.get_object, Bucket=bucket, Key="private")
    assert other.get_object(Bucket=bucket, Key="members")["Body"].read() == b"m"
    assert requests.get(f"{server.endpoint}/{bucket}/members", timeout=10).status_code == 403
    expect_error("AccessDenied", 403, other.list_objects_v2, Bucket=bucket)
    expect_error("AccessDenied", 403, other.put_bucket_acl, Bucket=bucket, ACL="public-read")
    expect_error("AccessDenied", 403, other.delete_bucket, Bucket=bucket)
    s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{OTHER_KEY}"', GrantRead=f'id="{OTHER_KEY}"')
    other.put_object(Bucket=bucket, Key="from-other", Body=b"o")
    listed = [o["Key"] for o in other.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "from-other" in listed
    # the writer owns its object; the bucket's owner keeps full control of everything in
    # its bucket (S3's "bucket owner enforced" object ownership)
    acl = other.get_object_acl(Bucket=bucket, Key="from-other")
    assert acl["Owner"]["ID"] == OTHER_KEY
    assert s3.get_object(Bucket=bucket, Key="from-other")["Body"].read() == b"o"
