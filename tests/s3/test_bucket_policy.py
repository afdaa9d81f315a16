"""Bucket policies end to end: Put/Get/Delete/GetBucketPolicyStatus with boto3 and the AWS CLI,
and the Allow/Deny matrix over the bucket's owner, another user and anonymous requesters, by
action, resource and condition (s3:prefix, aws:SourceIp, aws:SecureTransport,
s3:x-amz-server-side-encryption, s3:ExistingObjectTag), for reads, writes, listings,
DeleteObjects key by key and a copy's source."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.admin.helpers import User
from tests.conftest import Server, Tool, empty_bucket, require_binary
from tests.s3.helpers import expect_error


@pytest.fixture
def shared(s3: Any) -> Iterator[str]:
    """A bucket of the root user with objects under public/, private/, tmp/ and keep/."""
    name = f"policy-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for key in ("public/a", "private/a", "tmp/a", "keep/a", "shared/a"):
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    yield name
    s3.delete_bucket_policy(Bucket=name)
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def statement(
    action: str | list[str], resource: str | list[str], principal: Any = "*", **extra: Any
) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
        **extra,
    }


def put_policy(s3: Any, bucket: str, *statements: dict[str, Any]) -> str:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    return text


def test_put_get_delete_and_status(s3: Any, shared: str, stranger: User) -> None:
    expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=shared)
    expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy_status, Bucket=shared)
    text = put_policy(
        s3, shared, statement("s3:GetObject", f"arn:aws:s3:::{shared}/public/*", Sid="read")
    )
    assert s3.get_bucket_policy(Bucket=shared)["Policy"] == text  # as sent
    assert s3.get_bucket_policy_status(Bucket=shared)["PolicyStatus"]["IsPublic"] is True
    put_policy(
        s3,
        shared,
        statement("s3:GetObject", f"arn:aws:s3:::{shared}/*", {"AWS": stranger.id}),
    )
    assert s3.get_bucket_policy_status(Bucket=shared)["PolicyStatus"]["IsPublic"] is False
    answer = s3.delete_bucket_policy(Bucket=shared)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=shared)
    assert s3.delete_bucket_policy(Bucket=shared)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_documents_s3_refuses(s3: Any, shared: str) -> None:
    for bad in (
        "{not json",
        json.dumps({"Statement": [statement("s3:Fly", f"arn:aws:s3:::{shared}/*")]}),
        json.dumps({"Statement": [statement("s3:GetObject", "arn:aws:s3:::elsewhere/*")]}),
        json.dumps(
            {
                "Statement": [
                    statement("s3:GetObject", f"arn:aws:s3:::{shared}/*", {"AWS": "0" * 16})
                ]
            }
        ),
    ):
        expect_error("MalformedPolicy", 400, s3.put_bucket_policy, Bucket=shared, Policy=bad)
    expect_error("NoSuchBucketPolicy", 404, s3.get_bucket_policy, Bucket=shared)


def test_anyone_may_read_what_the_policy_opens(
    s3: Any, anonymous: Any, stranger_s3: Any, shared: str
):
    for client in (anonymous, stranger_s3):
        expect_error("AccessDenied", 403, client.get_object, Bucket=shared, Key="public/a")
    put_policy(s3, shared, statement("s3:GetObject", f"arn:aws:s3:::{shared}/public/*"))
    for client in (anonymous, stranger_s3):
        assert client.get_object(Bucket=shared, Key="public/a")["Body"].read() == b"public/a"
        client.head_object(Bucket=shared, Key="public/a")
        expect_error("AccessDenied", 403, client.get_object, Bucket=shared, Key="private/a")
        expect_error("AccessDenied", 403, client.put_object, Bucket=shared, Key="public/b")
        expect_error("AccessDenied", 403, client.list_objects_v2, Bucket=shared)
    url = f"{s3.meta.endpoint_url}/{shared}/public/a"
    assert requests.get(url, timeout=10).content == b"public/a"  # a plain browser fetch


def test_a_user_allowed_to_write_a_prefix(
    s3: Any, stranger_s3: Any, anonymous: Any, stranger: User, shared: str
) -> None:
    put_policy(
        s3,
        shared,
        statement("s3:PutObject", f"arn:aws:s3:::{shared}/uploads/*", {"AWS": stranger.id}),
        statement(
            "s3:ListBucket",
            f"arn:aws:s3:::{shared}",
            {"AWS": f"arn:aws:iam::{stranger.id}:root"},
            Condition={"StringLike": {"s3:prefix": "shared/*"}},
        ),
    )
    stranger_s3.put_object(Bucket=shared, Key="uploads/x", Body=b"x")
    assert s3.get_object(Bucket=shared, Key="uploads/x")["Body"].read() == b"x"
    expect_error(
        "AccessDenied", 403, stranger_s3.put_object, Bucket=shared, Key="elsewhere", Body=b""
    )
    expect_error(
        "AccessDenied", 403, anonymous.put_object, Bucket=shared, Key="uploads/y", Body=b""
    )
    # a multipart upload into the prefix is a PutObject too
    upload = stranger_s3.create_multipart_upload(Bucket=shared, Key="uploads/big")["UploadId"]
    part = stranger_s3.upload_part(
        Bucket=shared, Key="uploads/big", UploadId=upload, PartNumber=1, Body=b"p"
    )
    stranger_s3.complete_multipart_upload(
        Bucket=shared,
        Key="uploads/big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    listed = stranger_s3.list_objects_v2(Bucket=shared, Prefix="shared/")
    assert [o["Key"] for o in listed["Contents"]] == ["shared/a"]
    expect_error("AccessDenied", 403, stranger_s3.list_objects_v2, Bucket=shared)
    expect_error("AccessDenied", 403, stranger_s3.list_objects_v2, Bucket=shared, Prefix="private/")


def test_an_explicit_deny_binds_the_owner_too(s3: Any, shared: str) -> None:
    put_policy(
        s3,
        shared,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{shared}/keep/*",
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{shared}/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
        },
    )
    expect_error("AccessDenied", 403, s3.delete_object, Bucket=shared, Key="keep/a")
    expect_error("AccessDenied", 403, s3.put_object, Bucket=shared, Key="plain", Body=b"x")
    s3.put_object(Bucket=shared, Key="sealed", Body=b"x", ServerSideEncryption="AES256")
    # DeleteObjects: key by key
    answer = s3.delete_objects(
        Bucket=shared, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/a"}]}
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("keep/a", "AccessDenied")]
    # the owner keeps the policy itself in hand, whatever it says
    put_policy(
        s3,
        shared,
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{shared}", f"arn:aws:s3:::{shared}/*"],
        },
    )
    expect_error("AccessDenied", 403, s3.get_object, Bucket=shared, Key="keep/a")
    assert s3.get_bucket_policy(Bucket=shared)["Policy"]
    s3.delete_bucket_policy(Bucket=shared)
    s3.get_object(Bucket=shared, Key="keep/a")


def test_conditions_on_where_and_how(s3: Any, anonymous: Any, shared: str) -> None:
    resource = f"arn:aws:s3:::{shared}/public/*"
    put_policy(
        s3,
        shared,
        statement(
            "s3:GetObject", resource, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
        ),
    )
    expect_error("AccessDenied", 403, anonymous.get_object, Bucket=shared, Key="public/a")
    put_policy(
        s3,
        shared,
        statement(
            "s3:GetObject", resource, Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
        ),
    )
    anonymous.get_object(Bucket=shared, Key="public/a")
    put_policy(
        s3,
        shared,
        statement("s3:GetObject", resource),
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": f"arn:aws:s3:::{shared}/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    expect_error("AccessDenied", 403, anonymous.get_object, Bucket=shared, Key="public/a")
    expect_error("AccessDenied", 403, s3.get_object, Bucket=shared, Key="public/a")


def test_existing_object_tags_and_versions(s3: Any, anonymous: Any, shared: str) -> None:
    s3.put_object_tagging(
        Bucket=shared, Key="private/a", Tagging={"TagSet": [{"Key": "public", "Value": "yes"}]}
    )
    put_policy(
        s3,
        shared,
        statement(
            "s3:GetObject",
            f"arn:aws:s3:::{shared}/*",
            Condition={"StringEquals": {"s3:ExistingObjectTag/public": "yes"}},
        ),
    )
    anonymous.get_object(Bucket=shared, Key="private/a")
    expect_error("AccessDenied", 403, anonymous.get_object, Bucket=shared, Key="keep/a")
    # a named version is s3:GetObjectVersion, which the policy does not allow
    expect_error(
        "AccessDenied", 403, anonymous.get_object, Bucket=shared, Key="private/a", VersionId="null"
    )


def test_copies_need_the_sources_policy(
    s3: Any, stranger_s3: Any, stranger: User, shared: str
) -> None:
    target = f"mine-{uuid.uuid4().hex[:12]}"
    stranger_s3.create_bucket(Bucket=target)
    try:
        source = {"Bucket": shared, "Key": "public/a"}
        expect_error(
            "AccessDenied", 403, stranger_s3.copy_object, Bucket=target, Key="c", CopySource=source
        )
        put_policy(
            s3,
            shared,
            statement("s3:GetObject", f"arn:aws:s3:::{shared}/public/*", {"AWS": stranger.id}),
        )
        stranger_s3.copy_object(Bucket=target, Key="c", CopySource=source)
        assert stranger_s3.get_object(Bucket=target, Key="c")["Body"].read() == b"public/a"
    finally:
        empty_bucket(stranger_s3, target)
        stranger_s3.delete_bucket(Bucket=target)


def test_deleting_keys_a_policy_allows(s3: Any, stranger_s3: Any, stranger: User, shared: str):
    put_policy(
        s3,
        shared,
        statement("s3:DeleteObject", f"arn:aws:s3:::{shared}/tmp/*", {"AWS": stranger.id}),
    )
    answer = stranger_s3.delete_objects(
        Bucket=shared, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/a"}]}
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("keep/a", "AccessDenied")]
    s3.head_object(Bucket=shared, Key="keep/a")


def test_aws_cli_put_bucket_policy(server: Server, tool: Tool, shared: str, tmp_path: Path):
    document = {
        "Version": "2012-10-17",
        "Statement": [statement("s3:GetObject", f"arn:aws:s3:::{shared}/public/*")],
    }
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    aws = [require_binary("aws"), "--endpoint-url", server.endpoint, "s3api"]
    tool.run(*aws, "put-bucket-policy", "--bucket", shared, "--policy", f"file://{path}")
    got = json.loads(tool.run(*aws, "get-bucket-policy", "--bucket", shared).stdout)
    assert json.loads(got["Policy"]) == document
    url = f"{server.endpoint}/{shared}/public/a"
    assert requests.get(url, timeout=10).status_code == 200


def test_browser_uploads_by_policy(server: Server, s3: Any, shared: str) -> None:
    """An unsigned form POST: the policy decides as for a PUT of its key."""
    url = f"{server.endpoint}/{shared}"

    def post(key: str) -> int:
        return requests.post(
            url, data={"key": key}, files={"file": b"form"}, timeout=10
        ).status_code

    assert post("uploads/a") == 403
    put_policy(s3, shared, statement("s3:PutObject", f"arn:aws:s3:::{shared}/uploads/*"))
    assert post("uploads/a") == 204
    assert s3.get_object(Bucket=shared, Key="uploads/a")["Body"].read() == b"form"
    assert post("elsewhere") == 403


def test_a_posts_condition_keys_are_its_form_fields(server: Server, s3: Any, shared: str) -> None:
    """The ACL, encryption and tags of a form POST are in its fields, not in HTTP headers: a
    policy's conditions on them decide for the form as for a PUT's headers."""
    url = f"{server.endpoint}/{shared}"
    uploads = statement("s3:PutObject", f"arn:aws:s3:::{shared}/uploads/*")

    def deny(condition: dict[str, Any]) -> dict[str, Any]:
        return {
            **statement("s3:PutObject", f"arn:aws:s3:::{shared}/*"),
            "Effect": "Deny",
            "Condition": condition,
        }

    def post(key: str, **fields: str) -> int:
        data = {"key": key, **fields}
        return requests.post(url, data=data, files={"file": b"form"}, timeout=10).status_code

    def stored(key: str) -> bool:
        return key in [o["Key"] for o in s3.list_objects_v2(Bucket=shared).get("Contents", [])]

    put_policy(s3, shared, uploads, deny({"StringEquals": {"s3:x-amz-acl": "public-read"}}))
    assert post("uploads/public", acl="public-read") == 403
    assert not stored("uploads/public")
    assert post("uploads/private", acl="private") == 204

    put_policy(s3, shared, uploads, deny({"Null": {"s3:x-amz-server-side-encryption": "true"}}))
    assert post("uploads/plain") == 403
    assert post("uploads/sealed", **{"x-amz-server-side-encryption": "AES256"}) == 204
    head = s3.head_object(Bucket=shared, Key="uploads/sealed")
    assert head["ServerSideEncryption"] == "AES256"

    put_policy(s3, shared, uploads, deny({"StringEquals": {"s3:RequestObjectTag/class": "secret"}}))
    tagging = "<Tagging><TagSet><Tag><Key>class</Key><Value>{}</Value></Tag></TagSet></Tagging>"
    assert post("uploads/secret", tagging=tagging.format("secret")) == 403
    assert not stored("uploads/secret")
    assert post("uploads/open", tagging=tagging.format("open")) == 204
    tags = s3.get_object_tagging(Bucket=shared, Key="uploads/open")["TagSet"]
    assert tags == [{"Key": "class", "Value": "open"}]


def _policy_and_controls_calls(client: Any, bucket: str) -> list[tuple[str, Any]]:
    """Every bucket policy, public access block and ownership controls call, on the bucket."""
    text = json.dumps(
        {"Statement": [statement("s3:GetObject", f"arn:aws:s3:::{bucket}/*", Sid="theirs")]}
    )
    deny_all = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ]
        }
    )
    ownership = {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    return [
        ("get policy", lambda: client.get_bucket_policy(Bucket=bucket)),
        ("get policy status", lambda: client.get_bucket_policy_status(Bucket=bucket)),
        ("put policy", lambda: client.put_bucket_policy(Bucket=bucket, Policy=text)),
        ("put deny-all", lambda: client.put_bucket_policy(Bucket=bucket, Policy=deny_all)),
        ("delete policy", lambda: client.delete_bucket_policy(Bucket=bucket)),
        ("get block", lambda: client.get_public_access_block(Bucket=bucket)),
        (
            "put block",
            lambda: client.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": False}
            ),
        ),
        ("delete block", lambda: client.delete_public_access_block(Bucket=bucket)),
        ("get ownership", lambda: client.get_bucket_ownership_controls(Bucket=bucket)),
        (
            "put ownership",
            lambda: client.put_bucket_ownership_controls(
                Bucket=bucket, OwnershipControls=ownership
            ),
        ),
        ("delete ownership", lambda: client.delete_bucket_ownership_controls(Bucket=bucket)),
    ]


def _refused(call: Any) -> tuple[str, int]:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]
    return "", 200


def test_only_the_owner_manages_policy_block_and_ownership(
    s3: Any, stranger_s3: Any, anonymous: Any, stranger: User, shared: str
) -> None:
    """S3: a non-owner the policy allows these calls gets 405 MethodNotAllowed, anyone else
    403; the owner's settings stay as they were."""
    block = {"BlockPublicAcls": True, "IgnorePublicAcls": True}
    s3.put_public_access_block(Bucket=shared, PublicAccessBlockConfiguration=block)
    s3.put_bucket_ownership_controls(
        Bucket=shared, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    try:
        resources = [f"arn:aws:s3:::{shared}", f"arn:aws:s3:::{shared}/*"]
        text = put_policy(
            s3,
            shared,
            statement("s3:*", resources, {"AWS": stranger.id}),
            statement("s3:*", resources),
        )
        for client in (stranger_s3, anonymous):
            for what, call in _policy_and_controls_calls(client, shared):
                assert _refused(call) == ("MethodNotAllowed", 405), what
        # allowed nothing of them: 403
        put_policy(s3, shared, statement("s3:GetObject", f"arn:aws:s3:::{shared}/public/*"))
        for client in (stranger_s3, anonymous):
            for what, call in _policy_and_controls_calls(client, shared):
                assert _refused(call) == ("AccessDenied", 403), what
        assert s3.get_bucket_policy(Bucket=shared)["Policy"] != text
        got = s3.get_public_access_block(Bucket=shared)["PublicAccessBlockConfiguration"]
        assert got["BlockPublicAcls"] and got["IgnorePublicAcls"]
        rules = s3.get_bucket_ownership_controls(Bucket=shared)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": "BucketOwnerPreferred"}]
        s3.list_objects_v2(Bucket=shared)  # no one locked the owner out
    finally:
        s3.delete_public_access_block(Bucket=shared)
        s3.delete_bucket_ownership_controls(Bucket=shared)


def test_an_account_is_not_its_users_bucket_owner(
    server: Server, stranger_s3: Any, stranger: User
) -> None:
    """An account under a user is an owner of its own: neither manages the other's bucket's
    policy, whatever the policy allows it."""
    from tests.admin.helpers import admin

    name = f"acct-{uuid.uuid4().hex[:8]}"
    made = admin(server, "POST", "ostor-accounts", id=stranger.id, accountName=name)
    assert made.status_code == 200, made.text
    (pair,) = made.json()["AWSAccessKeys"]
    account_s3 = User(stranger.email, "", pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])
    account = account_s3.client(server)
    bucket = f"acct-{uuid.uuid4().hex[:12]}"
    stranger_s3.create_bucket(Bucket=bucket)
    try:
        resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
        put_policy(
            stranger_s3,
            bucket,
            statement("s3:*", resources, {"AWS": f"arn:aws:iam::{stranger.id}:user/{name}"}),
        )
        account.list_objects_v2(Bucket=bucket)  # the policy allows it what it names
        for what, call in _policy_and_controls_calls(account, bucket):
            assert _refused(call) == ("MethodNotAllowed", 405), what
        stranger_s3.delete_bucket_policy(Bucket=bucket)
        for what, call in _policy_and_controls_calls(account, bucket):
            assert _refused(call) == ("AccessDenied", 403), what
    finally:
        stranger_s3.delete_bucket_policy(Bucket=bucket)
        stranger_s3.delete_bucket(Bucket=bucket)
        admin(server, "DELETE", "ostor-accounts", id=stranger.id, accountName=name)


def test_object_attributes_need_get_object_too(
    s3: Any, stranger_s3: Any, stranger: User, shared: str
) -> None:
    """GetObjectAttributes needs s3:GetObject as well as s3:GetObjectAttributes: a Deny of
    GetObject refuses it, an Allow of the attributes alone does not grant it."""
    s3.put_object(Bucket=shared, Key="denied/a", Body=b"secret")
    everything = f"arn:aws:s3:::{shared}/*"
    attributes = ["ETag", "ObjectSize"]

    def refused(client: Any, key: str, **version: str) -> None:
        kwargs = {"Bucket": shared, "Key": key, "ObjectAttributes": attributes, **version}
        expect_error("AccessDenied", 403, client.get_object_attributes, **kwargs)

    put_policy(
        s3,
        shared,
        statement(["s3:GetObject", "s3:GetObjectAttributes"], everything, {"AWS": stranger.id}),
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{shared}/denied/*",
        },
    )
    got = stranger_s3.get_object_attributes(
        Bucket=shared, Key="public/a", ObjectAttributes=attributes
    )
    assert got["ObjectSize"] == len(b"public/a")
    refused(stranger_s3, "denied/a")
    # the owner too: an explicit Deny binds it
    refused(s3, "denied/a")
    put_policy(s3, shared, statement("s3:GetObjectAttributes", everything, {"AWS": stranger.id}))
    refused(stranger_s3, "public/a")
    # a named version: s3:GetObjectVersion and s3:GetObjectVersionAttributes
    put_policy(
        s3,
        shared,
        statement(
            ["s3:GetObjectVersionAttributes", "s3:GetObject", "s3:GetObjectAttributes"],
            everything,
            {"AWS": stranger.id},
        ),
    )
    refused(stranger_s3, "public/a", VersionId="null")
    put_policy(
        s3,
        shared,
        statement(
            ["s3:GetObjectVersionAttributes", "s3:GetObjectVersion"],
            everything,
            {"AWS": stranger.id},
        ),
    )
    got = stranger_s3.get_object_attributes(
        Bucket=shared, Key="public/a", VersionId="null", ObjectAttributes=attributes
    )
    assert got["ObjectSize"] == len(b"public/a")
