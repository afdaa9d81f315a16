"""A second user, added through the admin API while the server runs: bucket names are unique
across users and a bucket's owner decides what others may do."""

from __future__ import annotations

import pytest
import requests

from tests.admin.helpers import User, create_user, delete_user
from tests.conftest import Server
from tests.s3.helpers import expect_error


@pytest.fixture(scope="module")
def other_user(server: Server) -> User:
    user = create_user(server, "other@example.com")
    yield user  # type: ignore[misc]
    delete_user(server, user.email)


@pytest.fixture(scope="module")
def other(server: Server, other_user: User):  # type: ignore[no-untyped-def]
    return other_user.client(server, s3={"addressing_style": "path"})


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


def test_grants_to_authenticated_users_and_owners_rights(
    other_user, server, s3, other, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="private", Body=b"p")
    s3.put_object(Bucket=bucket, Key="members", Body=b"m", ACL="authenticated-read")
    expect_error("AccessDenied", 403, other.get_object, Bucket=bucket, Key="private")
    assert other.get_object(Bucket=bucket, Key="members")["Body"].read() == b"m"
    assert requests.get(f"{server.endpoint}/{bucket}/members", timeout=10).status_code == 403
    expect_error("AccessDenied", 403, other.list_objects_v2, Bucket=bucket)
    expect_error("AccessDenied", 403, other.put_bucket_acl, Bucket=bucket, ACL="public-read")
    expect_error("AccessDenied", 403, other.delete_bucket, Bucket=bucket)
    s3.put_bucket_acl(
        Bucket=bucket, GrantWrite=f'id="{other_user.id}"', GrantRead=f'id="{other_user.id}"'
    )
    other.put_object(Bucket=bucket, Key="from-other", Body=b"o")
    listed = [o["Key"] for o in other.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "from-other" in listed
    # the writer owns its object; the bucket's owner keeps full control of everything in
    # its bucket (S3's "bucket owner enforced" object ownership)
    acl = other.get_object_acl(Bucket=bucket, Key="from-other")
    assert acl["Owner"]["ID"] == other_user.id
    assert s3.get_object(Bucket=bucket, Key="from-other")["Body"].read() == b"o"


def _grantees(acl: dict) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    """(ID or URI, DisplayName, permission) of every grant."""
    return sorted(
        (
            g["Grantee"].get("ID") or g["Grantee"].get("URI", ""),
            g["Grantee"].get("DisplayName", ""),
            g["Permission"],
        )
        for g in acl["Grants"]
    )


def test_acls_name_every_canonical_grantee(other_user, server, s3, other, bucket: str) -> None:
    """ID and DisplayName for each CanonicalUser; bucket-owner-* name the bucket's owner, on
    writes and on PUT ?acl."""
    s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{other_user.id}"')
    root = server.owner_id
    for canned, permission in (
        ("bucket-owner-read", "READ"),
        ("bucket-owner-full-control", "FULL_CONTROL"),
    ):
        other.put_object(Bucket=bucket, Key=canned, Body=b"x", ACL=canned)
        expected = [(other_user.id, other_user.id, "FULL_CONTROL"), (root, root, permission)]
        assert _grantees(other.get_object_acl(Bucket=bucket, Key=canned)) == sorted(expected)
        other.put_object(Bucket=bucket, Key=f"{canned}-later", Body=b"x")
        other.put_object_acl(Bucket=bucket, Key=f"{canned}-later", ACL=canned)
        got = other.get_object_acl(Bucket=bucket, Key=f"{canned}-later")
        assert _grantees(got) == sorted(expected)
    bucket_acl = s3.get_bucket_acl(Bucket=bucket)
    assert _grantees(bucket_acl) == sorted(
        [(root, root, "FULL_CONTROL"), (other_user.id, other_user.id, "WRITE")]
    )
    assert bucket_acl["Owner"] == {"ID": root, "DisplayName": root}


def test_grants_to_unknown_users_are_refused(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    def refused(code: str, call, **args):  # type: ignore[no-untyped-def]
        return expect_error(code, 400, call, Bucket=bucket, **args)

    nobody = {"GrantRead": 'id="nobody"'}
    response = refused("InvalidArgument", s3.put_object_acl, Key="k", **nobody)
    assert response["Error"]["ArgumentValue"] == "nobody"
    refused("InvalidArgument", s3.put_object, Key="n", Body=b"x", **nobody)
    refused("InvalidArgument", s3.put_bucket_acl, **nobody)
    # no user has these e-mail addresses
    by_header = {"GrantRead": 'emailAddress="someone@example.com"'}
    refused("UnresolvableGrantByEmailAddress", s3.put_object_acl, Key="k", **by_header)
    grantee = {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@example.com"}
    by_email = {
        "Owner": {"ID": server.owner_id, "DisplayName": server.owner_id},
        "Grants": [{"Grantee": grantee, "Permission": "READ"}],
    }
    refused(
        "UnresolvableGrantByEmailAddress", s3.put_object_acl, Key="k", AccessControlPolicy=by_email
    )
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="n")
    assert len(s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]) == 1  # unchanged


def test_grants_by_email_address_name_the_user(other_user, s3, other, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="for-other", Body=b"o", GrantRead=f'emailAddress="{other_user.email}"'
    )
    assert other.get_object(Bucket=bucket, Key="for-other")["Body"].read() == b"o"
    grants = s3.get_object_acl(Bucket=bucket, Key="for-other")["Grants"]
    assert {"ID": other_user.id, "DisplayName": other_user.id, "Type": "CanonicalUser"} in [
        g["Grantee"] for g in grants
    ]
    grantee = {"Type": "AmazonCustomerByEmail", "EmailAddress": other_user.email.upper()}
    owner = s3.get_object_acl(Bucket=bucket, Key="for-other")["Owner"]
    s3.put_bucket_acl(
        Bucket=bucket,
        AccessControlPolicy={
            "Owner": owner,
            "Grants": [{"Grantee": grantee, "Permission": "READ"}],
        },
    )
    assert "for-other" in [o["Key"] for o in other.list_objects_v2(Bucket=bucket)["Contents"]]


def test_an_acl_without_grants_leaves_none(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner = {"ID": server.owner_id, "DisplayName": server.owner_id}
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy={"Owner": owner, "Grants": []})
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert acl.get("Grants", []) == [] and acl["Owner"] == owner
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": owner, "Grants": []})
    assert s3.get_bucket_acl(Bucket=bucket).get("Grants", []) == []
    # the owner keeps what owning means: the bucket's owner everything
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    assert len(s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]) == 1


def test_read_grants_let_others_copy(other_user, s3, other, bucket: str) -> None:
    mine = f"{bucket}-other"
    other.create_bucket(Bucket=mine)
    try:
        s3.put_object(Bucket=bucket, Key="private", Body=b"p")
        s3.put_object(
            Bucket=bucket,
            Key="shared",
            Body=b"shared bytes" * 1000,
            GrantRead=f'id="{other_user.id}"',
        )
        other.copy_object(Bucket=mine, Key="copy", CopySource=f"{bucket}/shared")
        assert other.get_object(Bucket=mine, Key="copy")["Body"].read() == b"shared bytes" * 1000
        for refused in ("private", "absent"):  # no grant; no hint that it is missing
            source = f"{bucket}/{refused}"
            expect_error(
                "AccessDenied", 403, other.copy_object, Bucket=mine, Key="no", CopySource=source
            )
        upload = other.create_multipart_upload(Bucket=mine, Key="parts")["UploadId"]
        part = other.upload_part_copy(
            Bucket=mine,
            Key="parts",
            UploadId=upload,
            PartNumber=1,
            CopySource=f"{bucket}/shared",
            CopySourceRange="bytes=0-11",
        )
        expect_error(
            "AccessDenied",
            403,
            other.upload_part_copy,
            Bucket=mine,
            Key="parts",
            UploadId=upload,
            PartNumber=2,
            CopySource=f"{bucket}/private",
        )
        other.complete_multipart_upload(
            Bucket=mine,
            Key="parts",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
        )
        assert other.get_object(Bucket=mine, Key="parts")["Body"].read() == b"shared bytes"
    finally:
        for key in ("copy", "parts"):
            other.delete_object(Bucket=mine, Key=key)
        other.delete_bucket(Bucket=mine)


def test_write_grants_allow_multipart_uploads(other_user, server, s3, other, bucket: str) -> None:
    s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{other_user.id}"')
    upload = other.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    part = other.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"1")
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["Initiator"], u["Owner"]) for u in listed] == [
        (
            "big",
            {"ID": other_user.id, "DisplayName": other_user.id},
            {"ID": other_user.id, "DisplayName": other_user.id},
        )
    ]
    assert [
        p["PartNumber"]
        for p in other.list_parts(Bucket=bucket, Key="big", UploadId=upload)["Parts"]
    ] == [1]
    # the bucket's owner may list and abort any upload; another grantee's is not yours
    s3_upload = s3.create_multipart_upload(Bucket=bucket, Key="owners")["UploadId"]
    expect_error(
        "AccessDenied",
        403,
        other.upload_part,
        Bucket=bucket,
        Key="owners",
        UploadId=s3_upload,
        PartNumber=1,
        Body=b"x",
    )
    expect_error(
        "AccessDenied",
        403,
        other.abort_multipart_upload,
        Bucket=bucket,
        Key="owners",
        UploadId=s3_upload,
    )
    s3.abort_multipart_upload(Bucket=bucket, Key="owners", UploadId=s3_upload)
    expect_error(
        "AccessDenied", 403, other.list_multipart_uploads, Bucket=bucket
    )  # READ is not granted
    other.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == b"1"
    assert s3.get_object_acl(Bucket=bucket, Key="big")["Owner"]["ID"] == other_user.id
