"""`?ostor-buckets` sizes counted with every write, and `?ostor-quotas` enforced exactly: before
a body is read when it cannot fit, and in the write's transaction when two race for the last
bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.admin.helpers import User, admin, create_user, delete_user
from tests.conftest import Server, empty_bucket, temp_files
from tests.s3.helpers import expect_error
from tests.s3.signing import start_put

GB = 1024**3


def sizes(server: Server, bucket: str) -> dict[str, int]:
    listed = admin(server, "GET", "ostor-buckets").json()["Buckets"]
    (entry,) = [b for b in listed if b["name"] == bucket]
    return dict(entry["size"], objects=entry["objects"])


def set_quota(server: Server, size_gb: str, **target: str) -> None:
    answer = admin(server, "PUT", "ostor-quotas", **target, **{"quota-size": size_gb})
    assert answer.status_code == 200, answer.text


@pytest.fixture
def quota_user(server: Server) -> Iterator[User]:
    user = create_user(server, "quota@example.com")
    yield user
    s3 = user.client(server)
    for bucket in s3.list_buckets()["Buckets"]:
        empty_bucket(s3, bucket["Name"])
        s3.delete_bucket(Bucket=bucket["Name"])
    admin(server, "DELETE", "ostor-quotas", emailAddress=user.email)
    delete_user(server, user.email)


def test_bucket_sizes_follow_every_write(server: Server, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    assert sizes(server, bucket)["current"] == 0
    s3.put_object(Bucket=bucket, Key="a", Body=b"a" * 1000)
    s3.put_object(Bucket=bucket, Key="b", Body=b"b" * 40_000)  # a data file, not inline
    assert sizes(server, bucket)["current"] == 41_000
    s3.put_object(Bucket=bucket, Key="a", Body=b"a" * 300)  # replaced
    s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/b")
    assert sizes(server, bucket)["current"] == 80_300 and sizes(server, bucket)["objects"] == 3
    s3.delete_object(Bucket=bucket, Key="a")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"m" * 700)
    assert sizes(server, bucket)["current"] == 80_700  # a part in progress holds its bytes
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="m",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    abandoned = s3.create_multipart_upload(Bucket=bucket, Key="x")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="x", UploadId=abandoned, PartNumber=1, Body=b"x" * 50)
    s3.abort_multipart_upload(Bucket=bucket, Key="x", UploadId=abandoned)
    counted = sizes(server, bucket)
    assert counted["current"] == 80_700 and counted["objects"] == 3
    assert counted["hmax"] >= 80_700 and counted["last_ts"] == int(time.time() // 3600)
    # versions hold their bytes until they are deleted for good
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="b", Body=b"v" * 10)
    s3.delete_object(Bucket=bucket, Key="c")  # a delete marker: nothing freed
    assert sizes(server, bucket)["current"] == 80_710
    listed = admin(server, "GET", "ostor-buckets", id=server.owner_id).json()["Buckets"]
    entry = [b for b in listed if b["name"] == bucket][0]
    assert entry["owner_id"] == server.owner_id and entry["epoch"] == 0
    assert entry["creation_date"].endswith("Z") and "." in entry["creation_date"]


def test_quotas_are_set_read_and_cleared(server: Server, quota_user: User) -> None:
    quota_user.client(server).create_bucket(Bucket="quota-read")
    set_quota(server, "2", emailAddress=quota_user.email)
    shown = admin(server, "GET", "ostor-quotas", emailAddress=quota_user.email).json()
    assert shown == {"version": "1", "type": "0", "size": str(2 * GB)}
    set_quota(server, "3", bucket="quota-read")
    assert admin(server, "GET", "ostor-quotas", bucket="quota-read").json() == {
        "version": "1",
        "type": "1",
        "size": str(3 * GB),
    }
    set_quota(server, "1", default="bucket")
    try:
        assert admin(server, "GET", "ostor-quotas", default="bucket").json()["size"] == str(GB)
        assert admin(server, "DELETE", "ostor-quotas", bucket="quota-read").status_code == 204
        assert admin(server, "GET", "ostor-quotas", bucket="quota-read").json()["size"] == "0"
    finally:
        admin(server, "DELETE", "ostor-quotas", default="bucket")
    both = admin(server, "GET", "ostor-quotas", bucket="quota-read", default="user")
    assert both.status_code == 400
    for bad_size in ("-1", "1e3", "1e400", "99999999999999999999", "", "0x10"):
        bad = admin(server, "PUT", "ostor-quotas", bucket="quota-read", **{"quota-size": bad_size})
        assert bad.status_code == 400, bad_size
    # a quota below a byte is one byte, never 0 (unlimited)
    set_quota(server, "0.0000000001", bucket="quota-read")
    assert admin(server, "GET", "ostor-quotas", bucket="quota-read").json()["size"] == "1"
    missing = admin(server, "GET", "ostor-quotas", bucket="no-such-bucket-here")
    assert missing.status_code == 404


def test_two_uploads_racing_for_the_last_bytes_cannot_both_fit(
    server: Server, quota_user: User
) -> None:
    s3 = quota_user.client(server)
    s3.create_bucket(Bucket="quota-race")
    set_quota(server, "0.005", bucket="quota-race")  # 5,368,709 bytes
    # both pass the early check (the bucket is empty), then both finish
    size = 3_000_000
    keys = (quota_user.access_key, quota_user.secret_key)
    one = start_put(server, "/quota-race/one", size, b"1" * 2_500_000, *keys)
    two = start_put(server, "/quota-race/two", size, b"2" * 2_500_000, *keys)
    deadline = time.monotonic() + 10  # past the core's first buffer: both in temp files
    while len(temp_files(server.data_dir)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(temp_files(server.data_dir)) == 2, "the uploads did not reach the server"
    one.send(b"1" * 500_000)
    two.send(b"2" * 500_000)
    answers = sorted([one.getresponse().status, two.getresponse().status])
    assert answers == [200, 403]
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="quota-race").get("Contents", [])]
    assert len(listed) == 1
    assert sizes(server, "quota-race")["current"] == size
    assert temp_files(server.data_dir) == []
    # a body that cannot fit is refused before it is read, and a smaller one still fits
    expect_error(
        "QuotaExceeded", 403, s3.put_object, Bucket="quota-race", Key="big", Body=b"b" * 3_000_000
    )
    s3.put_object(Bucket="quota-race", Key="small", Body=b"s" * 2_000_000)
    # so are parts and copies past the quota
    upload = s3.create_multipart_upload(Bucket="quota-race", Key="parts")["UploadId"]
    expect_error(
        "QuotaExceeded",
        403,
        s3.upload_part,
        Bucket="quota-race",
        Key="parts",
        UploadId=upload,
        PartNumber=1,
        Body=b"p" * 400_000,
    )
    s3.abort_multipart_upload(Bucket="quota-race", Key="parts", UploadId=upload)
    expect_error(
        "QuotaExceeded",
        403,
        s3.copy_object,
        Bucket="quota-race",
        Key="c",
        CopySource=f"quota-race/{listed[0]}",
    )
    # so is a browser's form upload
    form = s3.generate_presigned_post("quota-race", "form.bin")
    posted = requests.post(
        form["url"], data=form["fields"], files={"file": ("f", b"f" * 1_000_000)}, timeout=30
    )
    assert posted.status_code == 403 and "<Code>QuotaExceeded</Code>" in posted.text
    # deleting always works, and frees room
    s3.delete_object(Bucket="quota-race", Key=listed[0])
    s3.put_object(Bucket="quota-race", Key="after", Body=b"a" * 3_000_000)
    assert temp_files(server.data_dir) == []


def test_a_users_quota_spans_its_buckets(server: Server, quota_user: User) -> None:
    s3 = quota_user.client(server)
    s3.create_bucket(Bucket="quota-user-a")
    s3.create_bucket(Bucket="quota-user-b")
    s3.put_object(Bucket="quota-user-a", Key="k", Body=b"a" * 60_000)
    set_quota(server, "0.0001", emailAddress=quota_user.email)
    expect_error(
        "QuotaExceeded", 403, s3.put_object, Bucket="quota-user-b", Key="k", Body=b"b" * 60_000
    )
    s3.put_object(Bucket="quota-user-b", Key="k", Body=b"b" * 40_000)
    # the root user's buckets are not the user's
    root = server.client()
    root.create_bucket(Bucket="quota-root-own")
    try:
        root.put_object(Bucket="quota-root-own", Key="k", Body=b"r" * 60_000)
    finally:
        empty_bucket(root, "quota-root-own")
        root.delete_bucket(Bucket="quota-root-own")


def test_an_overwrite_that_ends_within_the_quota_is_taken(server: Server, quota_user: User) -> None:
    """The bytes a write replaces (the object it overwrites, the part it uploads again) are
    not counted against it: only what the bucket will hold."""
    s3 = quota_user.client(server)
    s3.create_bucket(Bucket="quota-over")
    set_quota(server, "0.0001", bucket="quota-over")  # 107,374.18 bytes: 107,375
    s3.put_object(Bucket="quota-over", Key="k", Body=b"a" * 60_000)
    s3.put_object(Bucket="quota-over", Key="k", Body=b"b" * 60_000)
    s3.put_object(Bucket="quota-over", Key="k", Body=b"c" * 107_375)  # exactly full
    expect_error("QuotaExceeded", 403, s3.put_object, Bucket="quota-over", Key="j", Body=b"x")
    assert s3.get_object(Bucket="quota-over", Key="k")["Body"].read() == b"c" * 107_375
    s3.delete_object(Bucket="quota-over", Key="k")
    upload = s3.create_multipart_upload(Bucket="quota-over", Key="mp")["UploadId"]
    part = {"Bucket": "quota-over", "Key": "mp", "UploadId": upload, "PartNumber": 1}
    s3.upload_part(**part, Body=b"p" * 60_000)
    s3.upload_part(**part, Body=b"q" * 60_000)  # the same part again: it replaces the first
    expect_error(
        "QuotaExceeded", 403, s3.upload_part, **{**part, "PartNumber": 2}, Body=b"r" * 60_000
    )
    s3.abort_multipart_upload(Bucket="quota-over", Key="mp", UploadId=upload)
    admin(server, "DELETE", "ostor-quotas", bucket="quota-over")


def test_a_bucket_made_again_starts_without_the_old_ones_quota_or_limits(
    server: Server,
    s3,  # type: ignore[no-untyped-def]
) -> None:
    s3.create_bucket(Bucket="quota-reborn")
    set_quota(server, "1", bucket="quota-reborn")
    assert admin(server, "PUT", "ostor-limits", bucket="quota-reborn", ops=None, get="60").ok
    s3.delete_bucket(Bucket="quota-reborn")
    s3.create_bucket(Bucket="quota-reborn")
    try:
        assert admin(server, "GET", "ostor-quotas", bucket="quota-reborn").json()["size"] == "0"
        assert admin(server, "GET", "ostor-limits", bucket="quota-reborn").status_code == 404
    finally:
        s3.delete_bucket(Bucket="quota-reborn")
