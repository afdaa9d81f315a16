"""Public access blocks and object ownership with boto3: their Put/Get/Delete, what each
public access setting refuses or ignores (ACL writes, public grants, public policies, what a
public policy allows), and who owns what another user writes under each object ownership
(BucketOwnerEnforced disabling ACLs, BucketOwnerPreferred, ObjectWriter), CreateBucket's
x-amz-object-ownership included."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin.helpers import User
from tests.conftest import Server, empty_bucket
from tests.s3.helpers import expect_error

ALL_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@pytest.fixture
def name(s3: Any) -> Iterator[str]:
    bucket = f"controls-{uuid.uuid4().hex[:12]}"
    yield bucket
    try:
        s3.delete_bucket_policy(Bucket=bucket)
        s3.delete_public_access_block(Bucket=bucket)
        empty_bucket(s3, bucket)
        s3.delete_bucket(Bucket=bucket)
    except s3.exceptions.NoSuchBucket:
        pass


def public_policy(bucket: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def writes_for(bucket: str, user: User) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": user.id},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def owners(s3: Any, bucket: str) -> dict[str, str]:
    listed = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    return {o["Key"]: o["Owner"]["ID"] for o in listed}


def test_public_access_block_put_get_delete(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    expect_error(
        "NoSuchPublicAccessBlockConfiguration", 404, s3.get_public_access_block, Bucket=name
    )
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    )
    got = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert got == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    assert s3.delete_public_access_block(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(
        "NoSuchPublicAccessBlockConfiguration", 404, s3.get_public_access_block, Bucket=name
    )


def test_blocked_and_ignored_public_acls(s3: Any, anonymous: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="open", Body=b"x", ACL="public-read")
    assert anonymous.get_object(Bucket=name, Key="open")["Body"].read() == b"x"
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BLOCKED)
    expect_error("AccessDenied", 403, anonymous.get_object, Bucket=name, Key="open")  # ignored
    for refused in (
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=name, Key="open", ACL="public-read-write"),
        lambda: s3.put_bucket_acl(Bucket=name, ACL="authenticated-read"),
        lambda: s3.create_multipart_upload(Bucket=name, Key="m", ACL="public-read"),
    ):
        expect_error("AccessDenied", 403, refused)
    s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="private")
    s3.delete_public_access_block(Bucket=name)
    assert anonymous.get_object(Bucket=name, Key="open")["Body"].read() == b"x"


def test_blocked_and_restricted_public_policies(s3: Any, anonymous: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    expect_error("AccessDenied", 403, s3.put_bucket_policy, Bucket=name, Policy=public_policy(name))
    s3.delete_public_access_block(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=public_policy(name))
    anonymous.get_object(Bucket=name, Key="k")
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True}
    )
    expect_error("AccessDenied", 403, anonymous.get_object, Bucket=name, Key="k")
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False
    s3.get_object(Bucket=name, Key="k")  # the owner's own access is not a public one


def test_ownership_controls_put_get_delete(s3: Any, name: str) -> None:
    s3.create_bucket(Bucket=name)
    expect_error(
        "OwnershipControlsNotFoundError", 404, s3.get_bucket_ownership_controls, Bucket=name
    )
    for ownership in ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"):
        s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
        )
        rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": ownership}]
    expect_error(
        "MalformedXML",
        400,
        s3.put_bucket_ownership_controls,
        Bucket=name,
        OwnershipControls={"Rules": [{"ObjectOwnership": "Whoever"}]},
    )
    assert (
        s3.delete_bucket_ownership_controls(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )
    expect_error(
        "OwnershipControlsNotFoundError", 404, s3.get_bucket_ownership_controls, Bucket=name
    )


def test_bucket_owner_enforced_disables_acls(
    server: Server, s3: Any, stranger_s3: Any, stranger: User, name: str
) -> None:
    expect_error(
        "InvalidBucketAclWithObjectOwnership",
        400,
        s3.create_bucket,
        Bucket=name,
        ObjectOwnership="BucketOwnerEnforced",
        ACL="public-read",
    )
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced")
    rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    s3.put_bucket_policy(Bucket=name, Policy=writes_for(name, stranger))
    stranger_s3.put_object(Bucket=name, Key="theirs", Body=b"x")
    stranger_s3.put_object(Bucket=name, Key="granted", Body=b"x", ACL="bucket-owner-full-control")
    assert owners(s3, name) == {"theirs": server.owner_id, "granted": server.owner_id}
    for refused in (
        lambda: stranger_s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read"),
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="private"),
        lambda: s3.put_bucket_acl(Bucket=name, ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=name, Key="theirs", ACL="private"),
        lambda: s3.copy_object(
            Bucket=name, Key="c", CopySource={"Bucket": name, "Key": "theirs"}, ACL="public-read"
        ),
    ):
        expect_error("AccessControlListNotSupported", 400, refused)
    acl = s3.get_object_acl(Bucket=name, Key="theirs")
    assert acl["Owner"]["ID"] == server.owner_id
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [
        (server.owner_id, "FULL_CONTROL")
    ]
    # the object's stranger has no rights of its own over it any more
    expect_error("AccessDenied", 403, stranger_s3.get_object, Bucket=name, Key="theirs")


def test_bucket_owner_preferred_and_object_writer(
    server: Server, s3: Any, stranger_s3: Any, stranger: User, name: str
) -> None:
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")
    s3.put_bucket_policy(Bucket=name, Policy=writes_for(name, stranger))
    stranger_s3.put_object(Bucket=name, Key="kept", Body=b"x")
    stranger_s3.put_object(Bucket=name, Key="given", Body=b"x", ACL="bucket-owner-full-control")
    assert owners(s3, name) == {"kept": stranger.id, "given": server.owner_id}
    s3.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    stranger_s3.put_object(Bucket=name, Key="given", Body=b"x", ACL="bucket-owner-full-control")
    assert owners(s3, name)["given"] == stranger.id
    # a multipart upload's object is owned as a PUT's is
    s3.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    upload = stranger_s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    part = stranger_s3.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")
    stranger_s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert owners(s3, name)["mp"] == server.owner_id


def _allow(bucket: str, **fields: Any) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        **fields,
    }
    if "NotPrincipal" in fields:
        del statement["Principal"]
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_what_makes_a_policy_public(
    s3: Any, anonymous: Any, stranger_s3: Any, stranger: User, name: str
) -> None:
    """S3's meaning of public: an Allow is non-public only for fixed principals, or with a
    positive condition of fixed values on who or where the requester is (a CIDR short of
    every address); a NotPrincipal Allow, Null, ForAllValues, IfExists, wildcards and
    0.0.0.0/0 narrow nothing. Public ones are refused by BlockPublicPolicy, said IsPublic,
    and allow no one but the owner under RestrictPublicBuckets."""
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    public = {
        "NotPrincipal": _allow(name, NotPrincipal={"AWS": stranger.id}),
        "Null": _allow(name, Condition={"Null": {"aws:username": "true"}}),
        "ForAllValues": _allow(
            name, Condition={"ForAllValues:StringEquals": {"aws:userid": "nobody"}}
        ),
        "every address": _allow(name, Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
        "every address, in halves": _allow(
            name, Condition={"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}}
        ),
        "StringLike *": _allow(name, Condition={"StringLike": {"aws:userid": "*"}}),
        "ArnLike *": _allow(name, Condition={"ArnLike": {"aws:PrincipalArn": "*"}}),
        "IfExists": _allow(name, Condition={"StringEqualsIfExists": {"aws:userid": stranger.id}}),
        "negated": _allow(name, Condition={"StringNotEquals": {"aws:userid": stranger.id}}),
        "not who": _allow(name, Condition={"StringEquals": {"aws:username": "x"}}),
    }
    fixed = {
        "principal": _allow(name, Principal={"AWS": stranger.id}),
        "CIDR": _allow(name, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        "userid": _allow(name, Condition={"StringEquals": {"aws:userid": stranger.id}}),
        "PrincipalArn": _allow(
            name, Condition={"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{stranger.id}:root"}}
        ),
    }
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BLOCKED)
    for what, text in public.items():
        assert _code(s3.put_bucket_policy, Bucket=name, Policy=text) == "AccessDenied", what
    for what, text in fixed.items():
        s3.put_bucket_policy(Bucket=name, Policy=text)
        assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is False, what
    for what, text in public.items():
        s3.delete_public_access_block(Bucket=name)
        s3.put_bucket_policy(Bucket=name, Policy=text)
        assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True, what
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BLOCKED)
        for client in (anonymous, stranger_s3):  # RestrictPublicBuckets: only the owner
            assert _code(client.get_object, Bucket=name, Key="k") == "AccessDenied", what
        s3.get_object(Bucket=name, Key="k")


def _code(call: Any, **args: Any) -> str:
    from botocore.exceptions import ClientError

    try:
        call(**args)
    except ClientError as err:
        return str(err.response["Error"]["Code"])
    return ""
