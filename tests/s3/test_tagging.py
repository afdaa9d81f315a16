"""Object and bucket tagging with boto3 and the AWS CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

from tests.conftest import Tool, require_binary
from tests.s3.helpers import expect_error, minio_client
from tests.s3.signing import error_code, send, sign


def _tags(tag_set: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_set}


def test_object_tagging(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="team=blue&empty=")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {
        "team": "blue",
        "empty": "",
    }
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2
    tag_set = [{"Key": f"k{i}", "Value": "v" * 256} for i in range(10)]
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tag_set})
    assert (
        s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"][
            "x-amz-tagging-count"
        ]
        == "10"
    )
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="k")
    expect_error(
        "NoSuchKey", 404, s3.put_object_tagging, Bucket=bucket, Key="nope", Tagging={"TagSet": []}
    )


def test_tag_sets_come_back_sorted_by_key(server, s3, bucket: str) -> None:
    tag_set = [{"Key": k, "Value": v} for k, v in [("zz", "1"), ("aa", "2"), ("mm", "3")]]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tag_set})
    got = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert [t["Key"] for t in got] == ["aa", "mm", "zz"]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_set})
    assert [t["Key"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]] == ["aa", "mm", "zz"]
    # a pair without "=" in x-amz-tagging is a tag with an empty value
    s3.put_object(Bucket=bucket, Key="h", Body=b"x", Tagging="foo=bar&bar")
    assert s3.get_object_tagging(Bucket=bucket, Key="h")["TagSet"] == [
        {"Key": "bar", "Value": ""},
        {"Key": "foo", "Value": "bar"},
    ]
    tags = minio_client(server).get_object_tags(bucket, "k")
    assert list(tags.items()) == [("aa", "2"), ("mm", "3"), ("zz", "1")]


@pytest.mark.parametrize(
    "tag_set",
    [
        [{"Key": f"k{i}", "Value": "v"} for i in range(11)],  # too many
        [{"Key": "k" * 129, "Value": "v"}],  # key too long
        [{"Key": "k", "Value": "v" * 257}],  # value too long
        [{"Key": "k", "Value": "a"}, {"Key": "k", "Value": "b"}],  # duplicate
        [{"Key": "aws:reserved", "Value": "v"}],
        [{"Key": "foo#bar", "Value": "v"}],  # characters beyond S3's tag alphabet
        [{"Key": "k", "Value": "a*b"}],
    ],
)
def test_invalid_tags(s3, bucket: str, tag_set: list[dict[str, str]]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="keep=me")
    expect_error(
        "InvalidTag",
        400,
        s3.put_object_tagging,
        Bucket=bucket,
        Key="k",
        Tagging={"TagSet": tag_set},
    )
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"keep": "me"}


def test_tag_alphabet_and_the_tagging_header(s3, bucket: str) -> None:
    """Letters (any script), digits, spaces and + - = . _ : / @ make tags; an x-amz-tagging
    header that names a key twice or breaks an escape is InvalidArgument, as S3 answers."""
    tag_set = [{"Key": "Zoë 1+1=2", "Value": "a.b_c:d/e@f-g"}]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tag_set})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == tag_set
    for header in ("a=1&a=2", "a=%ZZ", "a=%4"):
        response = expect_error(
            "InvalidArgument",
            400,
            s3.put_object,
            Bucket=bucket,
            Key="k2",
            Body=b"x",
            Tagging=header,
        )
        assert response["Error"]["ArgumentName"] == "x-amz-tagging"
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="k2")
    s3.put_object(Bucket=bucket, Key="k3", Body=b"x", Tagging="note=a%20b%2Bc")
    assert s3.get_object_tagging(Bucket=bucket, Key="k3")["TagSet"] == [
        {"Key": "note", "Value": "a b+c"}
    ]


def test_tags_on_copies_uploads_and_versions(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="origin=src")
    s3.copy_object(Bucket=bucket, Key="same", CopySource={"Bucket": bucket, "Key": "src"})
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="same")["TagSet"]) == {"origin": "src"}
    s3.copy_object(
        Bucket=bucket,
        Key="new",
        CopySource={"Bucket": bucket, "Key": "src"},
        TaggingDirective="REPLACE",
        Tagging="origin=copy",
    )
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="new")["TagSet"]) == {"origin": "copy"}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="kind=multipart")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p"
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="mp")["TagSet"]) == {"kind": "multipart"}
    # per version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"1", Tagging="n=1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="v", Body=b"2", Tagging="n=2")["VersionId"]
    s3.put_object_tagging(
        Bucket=bucket, Key="v", VersionId=first, Tagging={"TagSet": [{"Key": "n", "Value": "one"}]}
    )
    old = s3.get_object_tagging(Bucket=bucket, Key="v", VersionId=first)
    assert old["VersionId"] == first and _tags(old["TagSet"]) == {"n": "one"}
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="v")["TagSet"]) == {"n": "2"}
    for version in (first, second):
        s3.delete_object(Bucket=bucket, Key="v", VersionId=version)


def test_bucket_tagging(s3, bucket: str) -> None:
    expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=bucket)
    s3.put_bucket_tagging(
        Bucket=bucket,
        Tagging={"TagSet": [{"Key": "cost", "Value": "42"}, {"Key": "env", "Value": "ci"}]},
    )
    assert _tags(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == {"cost": "42", "env": "ci"}
    s3.delete_bucket_tagging(Bucket=bucket)
    expect_error("NoSuchTagSet", 404, s3.get_bucket_tagging, Bucket=bucket)


def test_aws_cli_put_object_tagging(server, tool: Tool, s3, bucket: str) -> None:
    aws = require_binary("aws")
    Path(tool.env["AWS_CONFIG_FILE"]).write_text("[default]\nregion = us-east-1\n")
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    tool.run(
        aws,
        "--endpoint-url",
        server.endpoint,
        "s3api",
        "put-object-tagging",
        "--bucket",
        bucket,
        "--key",
        "doc",
        "--tagging",
        "TagSet=[{Key=project,Value=oxstore}]",
    )
    out = tool.run(
        aws,
        "--endpoint-url",
        server.endpoint,
        "--output",
        "json",
        "s3api",
        "get-object-tagging",
        "--bucket",
        bucket,
        "--key",
        "doc",
    ).stdout
    assert _tags(json.loads(out)["TagSet"]) == {"project": "oxstore"}


def test_a_configuration_body_is_the_one_signed(server, s3, bucket: str) -> None:
    """A document sent with another body than the x-amz-content-sha256 it was signed with (a
    captured request replayed with a body of the sender's choice) changes nothing."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    def tagging(value: str) -> bytes:
        return (
            f"<Tagging><TagSet><Tag><Key>class</Key><Value>{value}</Value></Tag></TagSet></Tagging>"
        ).encode()

    def put(signed_body: bytes, sent_body: bytes) -> requests.Response:
        digest = hashlib.sha256(signed_body).hexdigest()
        request = sign(server, "PUT", f"/{bucket}/k?tagging", {"x-amz-content-sha256": digest})
        request.data = sent_body
        return send(request)

    swapped = put(tagging("harmless"), tagging("swapped"))
    assert (swapped.status_code, error_code(swapped)) == (400, "XAmzContentSHA256Mismatch")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert put(tagging("signed"), tagging("signed")).status_code == 200
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]) == {"class": "signed"}
