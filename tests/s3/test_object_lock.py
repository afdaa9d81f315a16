"""Object lock with boto3 and the AWS CLI: buckets made with it (versioning Enabled for good),
Put/GetObjectLockConfiguration with default retention and its errors, per-version retention
and legal hold on PUT, copy, multipart and by their own calls, the rules that guard deletes
and retention changes (GOVERNANCE bypass, COMPLIANCE never softening), DeleteObjects'
per-key errors, and a retained version surviving the collector's passes."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.admin.helpers import User
from tests.conftest import Server, Tool, require_binary
from tests.s3.helpers import expect_error

Start = Any


def later(days: float = 1) -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)


@pytest.fixture
def locked(s3: Any) -> Iterator[str]:
    """A bucket made with object lock (its versions are left: they may be retained)."""
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name


def test_buckets_with_object_lock(s3: Any, bucket: str, locked: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config["Rule"] == rule
    for bad, code in (
        ({"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}, "MalformedXML"),
        ({"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}, "InvalidRetentionPeriod"),
        # beyond 100 years: a retain-until date past year 9999 could be neither shown nor passed
        ({"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 36501}}, "InvalidRetentionPeriod"),
        ({"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 10000}}, "InvalidRetentionPeriod"),
        ({"DefaultRetention": {"Mode": "governance", "Days": 1}}, "MalformedXML"),
    ):
        expect_error(
            code,
            400,
            s3.put_object_lock_configuration,
            Bucket=locked,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": bad},
        )
    expect_error(
        "InvalidBucketState",
        409,
        s3.put_bucket_versioning,
        Bucket=locked,
        VersioningConfiguration={"Status": "Suspended"},
    )
    # a bucket without it: none to read; enabling it needs versioning Enabled
    expect_error(
        "ObjectLockConfigurationNotFoundError", 404, s3.get_object_lock_configuration, Bucket=bucket
    )
    enable = {"ObjectLockEnabled": "Enabled"}
    expect_error(
        "InvalidBucketState",
        409,
        s3.put_object_lock_configuration,
        Bucket=bucket,
        ObjectLockConfiguration=enable,
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for call in (
        lambda: s3.put_object_retention(
            Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later()}
        ),
        lambda: s3.get_object_legal_hold(Bucket=bucket, Key="k"),
        lambda: s3.put_object(
            Bucket=bucket,
            Key="k",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=later(),
        ),
    ):
        expect_error("InvalidRequest", 400, call)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=enable)
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == enable


def test_retention_guards_deletes_and_changes(s3: Any, locked: str) -> None:
    until = later()
    put = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"kept",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )
    version = put["VersionId"]
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert (
        abs(head["ObjectLockRetainUntilDate"].timestamp() - until.timestamp()) < 1
    )  # (headers carry seconds)
    retention = s3.get_object_retention(Bucket=locked, Key="k", VersionId=version)["Retention"]
    assert retention["Mode"] == "GOVERNANCE"
    expect_error("AccessDenied", 403, s3.delete_object, Bucket=locked, Key="k", VersionId=version)
    marker = s3.delete_object(Bucket=locked, Key="k")  # a delete marker is allowed
    assert marker["DeleteMarker"] is True
    assert s3.get_object(Bucket=locked, Key="k", VersionId=version)["Body"].read() == b"kept"

    def retain(mode: str, days: float, **extra: Any) -> Any:
        return s3.put_object_retention(
            Bucket=locked,
            Key="k",
            VersionId=version,
            Retention={"Mode": mode, "RetainUntilDate": later(days)},
            **extra,
        )

    retain("GOVERNANCE", 2)  # extending is always allowed
    expect_error("AccessDenied", 403, retain, "GOVERNANCE", 1)
    expect_error("AccessDenied", 403, retain, "COMPLIANCE", 3)
    retain("GOVERNANCE", 1, BypassGovernanceRetention=True)
    retain("COMPLIANCE", 1.5, BypassGovernanceRetention=True)
    for mode, days in (("COMPLIANCE", 1), ("GOVERNANCE", 5)):
        expect_error("AccessDenied", 403, retain, mode, days, BypassGovernanceRetention=True)
    retain("COMPLIANCE", 4)
    expect_error(
        "AccessDenied",
        403,
        s3.delete_object,
        Bucket=locked,
        Key="k",
        VersionId=version,
        BypassGovernanceRetention=True,
    )


def test_governance_bypass_deletes_and_legal_holds(s3: Any, locked: str) -> None:
    version = s3.put_object(
        Bucket=locked,
        Key="g",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(),
    )["VersionId"]
    s3.delete_object(Bucket=locked, Key="g", VersionId=version, BypassGovernanceRetention=True)
    expect_error("NoSuchVersion", 404, s3.get_object, Bucket=locked, Key="g", VersionId=version)
    held = s3.put_object(Bucket=locked, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    expect_error(
        "AccessDenied",
        403,
        s3.delete_object,
        Bucket=locked,
        Key="h",
        VersionId=held,
        BypassGovernanceRetention=True,
    )
    s3.put_object_legal_hold(Bucket=locked, Key="h", VersionId=held, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"]["Status"] == "OFF"
    s3.delete_object(Bucket=locked, Key="h", VersionId=held)
    # DeleteObjects: key by key
    kept = s3.put_object(Bucket=locked, Key="d1", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    free = s3.put_object(Bucket=locked, Key="d2", Body=b"x")["VersionId"]
    answer = s3.delete_objects(
        Bucket=locked,
        Delete={"Objects": [{"Key": "d1", "VersionId": kept}, {"Key": "d2", "VersionId": free}]},
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["d2"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("d1", "AccessDenied")]
    s3.put_object_legal_hold(Bucket=locked, Key="d1", VersionId=kept, LegalHold={"Status": "OFF"})


def test_default_retention_copies_and_multipart(s3: Any, locked: str) -> None:
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    s3.put_object(Bucket=locked, Key="plain", Body=b"x")
    head = s3.head_object(Bucket=locked, Key="plain")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert abs(head["ObjectLockRetainUntilDate"].timestamp() - later().timestamp()) < 60
    copied = s3.copy_object(
        Bucket=locked,
        Key="copy",
        CopySource={"Bucket": locked, "Key": "plain"},
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=later(2),
    )
    assert copied["VersionId"]
    assert s3.head_object(Bucket=locked, Key="copy")["ObjectLockMode"] == "COMPLIANCE"
    upload = s3.create_multipart_upload(Bucket=locked, Key="mp", ObjectLockLegalHoldStatus="ON")
    part = s3.upload_part(
        Bucket=locked, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p"
    )
    s3.complete_multipart_upload(
        Bucket=locked,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    head = s3.head_object(Bucket=locked, Key="mp")
    assert head["ObjectLockLegalHoldStatus"] == "ON" and head["ObjectLockMode"] == "GOVERNANCE"


def test_a_retained_upload_needs_a_digest(server: Server, locked: str) -> None:
    bare = server.client(request_checksum_calculation="when_required")
    expect_error(
        "InvalidRequest",
        400,
        bare.put_object,
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(),
    )
    bare.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(),
        ChecksumAlgorithm="CRC32",
    )


def test_a_retained_version_survives_the_collector(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(
        data_dir=tmp_path / "data", extra_args=["--gc-interval", "0.1", "--gc-grace", "0"]
    )
    s3 = server.client()
    s3.create_bucket(Bucket="kept", ObjectLockEnabledForBucket=True)
    body = b"x" * (256 * 1024)  # a data file, not inline
    version = s3.put_object(
        Bucket="kept",
        Key="k",
        Body=body,
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=later(),
    )["VersionId"]
    s3.put_object(Bucket="kept", Key="k", Body=b"newer" * 10000)
    s3.delete_object(Bucket="kept", Key="k")
    expect_error("AccessDenied", 403, s3.delete_object, Bucket="kept", Key="k", VersionId=version)
    time.sleep(1.5)  # many collector passes
    assert s3.get_object(Bucket="kept", Key="k", VersionId=version)["Body"].read() == body


def test_aws_cli_retention_and_legal_hold(server: Server, tool: Tool, locked: str) -> None:
    s3 = server.client()
    version = s3.put_object(Bucket=locked, Key="k", Body=b"x")["VersionId"]
    aws = [require_binary("aws"), "--endpoint-url", server.endpoint, "s3api"]
    until = later().strftime("%Y-%m-%dT%H:%M:%SZ")
    retention = json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": until})
    tool.run(
        *aws, "put-object-retention", "--bucket", locked, "--key", "k", "--retention", retention
    )
    tool.run(
        *aws, "put-object-legal-hold", "--bucket", locked, "--key", "k", "--legal-hold", "Status=ON"
    )
    got = json.loads(
        tool.run(*aws, "get-object-retention", "--bucket", locked, "--key", "k").stdout
    )
    assert got["Retention"]["Mode"] == "GOVERNANCE"
    head = s3.head_object(Bucket=locked, Key="k", VersionId=version)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})


def test_policies_see_the_retention_asked(s3: Any, locked: str) -> None:
    deny_short = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{locked}/*",
        "Condition": {"NumericLessThan": {"s3:object-lock-remaining-retention-days": "2"}},
    }
    s3.put_bucket_policy(
        Bucket=locked, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_short]})
    )
    try:
        expect_error(
            "AccessDenied",
            403,
            s3.put_object,
            Bucket=locked,
            Key="short",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=later(1),
        )
        s3.put_object(
            Bucket=locked,
            Key="long",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=later(3),
        )
    finally:
        s3.delete_bucket_policy(Bucket=locked)


def test_lock_headers_need_the_lock_permissions(
    server: Server, s3: Any, anonymous: Any, stranger_s3: Any, stranger: User, locked: str
) -> None:
    """Write access alone (a public-read-write bucket, an ACL's WRITE) sets no retention nor
    legal hold: those headers need s3:PutObjectRetention / s3:PutObjectLegalHold, which only
    the bucket's owner has unless its policy allows them. A default retention still applies
    to anyone's plain write."""
    s3.put_bucket_acl(Bucket=locked, ACL="public-read-write")
    retain = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": later(1)}
    hold = {"ObjectLockLegalHoldStatus": "ON"}
    stranger_s3.put_object(Bucket=locked, Key="src", Body=b"x")
    for client in (anonymous, stranger_s3):
        for asked in (retain, hold, {**retain, **hold}):
            expect_error(
                "AccessDenied",
                403,
                client.put_object,
                Bucket=locked,
                Key="k",
                Body=b"x",
                ChecksumAlgorithm="CRC32",
                **asked,
            )
    for asked in (retain, hold):
        expect_error(
            "AccessDenied",
            403,
            stranger_s3.create_multipart_upload,
            Bucket=locked,
            Key="mp",
            **asked,
        )
        expect_error(
            "AccessDenied",
            403,
            stranger_s3.copy_object,
            Bucket=locked,
            Key="copy",
            CopySource={"Bucket": locked, "Key": "src"},
            **asked,
        )
    url = f"{server.endpoint}/{locked}"
    for fields in (
        {
            "x-amz-object-lock-mode": "COMPLIANCE",
            "x-amz-object-lock-retain-until-date": later(1).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "content-md5": base64.b64encode(hashlib.md5(b"form").digest()).decode(),
        },
        {"x-amz-object-lock-legal-hold": "ON"},
    ):
        posted = requests.post(
            url, data={"key": "form", **fields}, files={"file": b"form"}, timeout=10
        )
        assert posted.status_code == 403, posted.text
    listed = s3.list_object_versions(Bucket=locked)
    assert [v["Key"] for v in listed.get("Versions", [])] == ["src"]  # nothing else stored
    assert not stranger_s3.list_multipart_uploads(Bucket=locked).get("Uploads")
    # a default retention applies to a plain write of anyone's
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    anonymous.put_object(Bucket=locked, Key="plain", Body=b"x")
    assert s3.head_object(Bucket=locked, Key="plain")["ObjectLockMode"] == "GOVERNANCE"
    # the policy may allow them
    allowed = {
        "Effect": "Allow",
        "Principal": {"AWS": stranger.id},
        "Action": ["s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold"],
        "Resource": f"arn:aws:s3:::{locked}/*",
    }
    s3.put_bucket_policy(
        Bucket=locked, Policy=json.dumps({"Version": "2012-10-17", "Statement": [allowed]})
    )
    try:
        governance = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": later(1)}
        stranger_s3.put_object(
            Bucket=locked, Key="theirs", Body=b"x", ChecksumAlgorithm="CRC32", **governance
        )
        head = s3.head_object(Bucket=locked, Key="theirs")
        assert head["ObjectLockMode"] == "GOVERNANCE"
        expect_error(
            "AccessDenied",
            403,
            anonymous.put_object,
            Bucket=locked,
            Key="k",
            Body=b"x",
            ChecksumAlgorithm="CRC32",
            **governance,
        )
        stranger_s3.put_object(Bucket=locked, Key="held", Body=b"x", **hold)
        assert s3.head_object(Bucket=locked, Key="held")["ObjectLockLegalHoldStatus"] == "ON"
        s3.put_object_legal_hold(Bucket=locked, Key="held", LegalHold={"Status": "OFF"})
    finally:
        s3.delete_bucket_policy(Bucket=locked)
