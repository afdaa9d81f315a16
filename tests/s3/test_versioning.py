"""Versioning with boto3, the AWS CLI and the provider's plain-body API."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, Tool, free_port, require_binary
from tests.s3.helpers import expect_error
from tests.s3.signing import error_code, send, sign


@pytest.fixture
def versioned(s3, bucket: str) -> str:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def _versions(s3, bucket: str, **args) -> list[tuple[str, str, bool, bool]]:  # type: ignore[no-untyped-def]
    """(key, version id, is latest, is delete marker) in S3's order."""
    page = s3.list_object_versions(Bucket=bucket, **args)
    items = [(v, False) for v in page.get("Versions", [])]
    items += [(m, True) for m in page.get("DeleteMarkers", [])]
    order = {
        id(v): i for i, v in enumerate(page.get("Versions", []) + page.get("DeleteMarkers", []))
    }
    items.sort(
        key=lambda pair: (pair[0]["Key"], -pair[0]["LastModified"].timestamp(), order[id(pair[0])])
    )
    return [(v["Key"], v["VersionId"], v["IsLatest"], marker) for v, marker in items]


def test_versioning_state(s3, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_never_back_to_unversioned_and_plain_bodies(server, s3, bucket: str) -> None:
    response = send(sign(server, "PUT", f"/{bucket}?versioning", {}, b"Enabled"))
    assert response.status_code == 200, response.text  # the provider's plain-body form
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    for body in (
        b"Disabled",
        b"<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>",
    ):
        refused = send(sign(server, "PUT", f"/{bucket}?versioning", {}, body))
        assert refused.status_code == 400
        assert error_code(refused) == "IllegalVersioningConfigurationException"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_every_version_is_kept_byte_exact(s3, versioned: str) -> None:
    bodies = [os.urandom(n) for n in (10, 100_000, 0)]
    ids = [s3.put_object(Bucket=versioned, Key="k", Body=b)["VersionId"] for b in bodies]
    assert len(set(ids)) == 3 and "null" not in ids
    got = s3.get_object(Bucket=versioned, Key="k")
    assert got["Body"].read() == bodies[2] and got["VersionId"] == ids[2]
    for version_id, body in zip(ids, bodies, strict=True):
        one = s3.get_object(Bucket=versioned, Key="k", VersionId=version_id)
        assert one["Body"].read() == body and one["VersionId"] == version_id
        head = s3.head_object(Bucket=versioned, Key="k", VersionId=version_id)
        assert head["ContentLength"] == len(body)
    listed = s3.list_object_versions(Bucket=versioned)["Versions"]
    assert [(v["VersionId"], v["IsLatest"], v["Size"]) for v in listed] == [
        (ids[2], True, 0),
        (ids[1], False, 100_000),
        (ids[0], False, 10),
    ]
    expect_error("NoSuchVersion", 404, s3.get_object, Bucket=versioned, Key="k", VersionId="0" * 32)
    expect_error("InvalidArgument", 400, s3.get_object, Bucket=versioned, Key="k", VersionId="x")


def test_delete_markers(s3, versioned: str) -> None:
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["VersionId"]
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=versioned, Key="k")
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=versioned, Key="k", VersionId=marker)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert info.value.response["Error"]["ResourceType"] == "DeleteMarker"
    assert "last-modified" in info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)
    listed = s3.list_object_versions(Bucket=versioned)["DeleteMarkers"][0]["Owner"]
    assert listed["ID"] == s3.list_buckets()["Owner"]["ID"]  # the marker's, who deleted
    assert _versions(s3, versioned) == [
        ("k", marker, True, True),
        ("k", second, False, False),
        ("k", first, False, False),
    ]
    # deleting the marker brings the object back
    removed = s3.delete_object(Bucket=versioned, Key="k", VersionId=marker)
    assert removed["DeleteMarker"] is True and removed["VersionId"] == marker
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"two"
    # deleting the current version makes the previous one current
    s3.delete_object(Bucket=versioned, Key="k", VersionId=second)
    got = s3.get_object(Bucket=versioned, Key="k")
    assert got["Body"].read() == b"one" and got["VersionId"] == first
    assert s3.list_objects_v2(Bucket=versioned)["KeyCount"] == 1


def test_copying_an_old_version_over_its_key_restores_it(s3, versioned: str) -> None:
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"two")
    source = {"Bucket": versioned, "Key": "k", "VersionId": first}
    restored = s3.copy_object(Bucket=versioned, Key="k", CopySource=source)
    assert restored["CopySourceVersionId"] == first
    got = s3.get_object(Bucket=versioned, Key="k")
    assert got["Body"].read() == b"one" and got["VersionId"] == restored["VersionId"]
    assert len(s3.list_object_versions(Bucket=versioned)["Versions"]) == 3
    # without a version the same copy changes nothing, and is refused
    itself = {"Bucket": versioned, "Key": "k"}
    expect_error(
        "InvalidRequest", 400, s3.copy_object, Bucket=versioned, Key="k", CopySource=itself
    )


def test_suspended_writes_the_null_version(s3, versioned: str) -> None:
    kept = s3.put_object(Bucket=versioned, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=versioned, Key="k", Body=b"null one")
    s3.put_object(Bucket=versioned, Key="k", Body=b"null two")  # replaces the null version
    got = s3.get_object(Bucket=versioned, Key="k")
    assert got["Body"].read() == b"null two" and got["VersionId"] == "null"
    assert [(v[1], v[2]) for v in _versions(s3, versioned)] == [("null", True), (kept, False)]
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"
    assert [(v[1], v[3]) for v in _versions(s3, versioned)] == [("null", True), (kept, False)]
    old = s3.get_object(Bucket=versioned, Key="k", VersionId=kept)
    assert old["Body"].read() == b"versioned"


def test_copy_delete_objects_and_multipart_versions(s3, versioned: str) -> None:
    first = s3.put_object(Bucket=versioned, Key="src", Body=b"first")["VersionId"]
    s3.put_object(Bucket=versioned, Key="src", Body=b"second")
    copied = s3.copy_object(
        Bucket=versioned,
        Key="dst",
        CopySource={"Bucket": versioned, "Key": "src", "VersionId": first},
    )
    assert copied["CopySourceVersionId"] == first and copied["VersionId"] not in ("null", first)
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"first"
    upload = s3.create_multipart_upload(Bucket=versioned, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=versioned, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")
    done = s3.complete_multipart_upload(
        Bucket=versioned,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert done["VersionId"] not in ("", "null")
    result = s3.delete_objects(
        Bucket=versioned,
        Delete={"Objects": [{"Key": "src", "VersionId": first}, {"Key": "mp"}]},
    )
    by_key = {d["Key"]: d for d in result["Deleted"]}
    assert by_key["src"]["VersionId"] == first
    assert by_key["mp"]["DeleteMarker"] is True and by_key["mp"]["DeleteMarkerVersionId"]
    assert [v[1] for v in _versions(s3, versioned, Prefix="src")] != [] and first not in [
        v[1] for v in _versions(s3, versioned, Prefix="src")
    ]
    expect_error("BucketNotEmpty", 409, s3.delete_bucket, Bucket=versioned)


def test_list_object_versions_pages_and_prefixes(s3, versioned: str) -> None:
    ids: dict[str, list[str]] = {}
    for key in ("a/1", "a/2", "b", "b", "c"):
        ids.setdefault(key, []).insert(
            0, s3.put_object(Bucket=versioned, Key=key, Body=b"x")["VersionId"]
        )
    expected = [(k, v) for k in sorted(ids) for v in ids[k]]
    walked = []
    for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=versioned, PaginationConfig={"PageSize": 2}
    ):
        walked += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
    assert walked == expected
    rolled = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/"]
    assert [v["Key"] for v in rolled["Versions"]] == ["b", "b", "c"]
    page = s3.list_object_versions(Bucket=versioned, KeyMarker="b", VersionIdMarker=ids["b"][0])
    assert [(v["Key"], v["VersionId"]) for v in page["Versions"]] == [
        ("b", ids["b"][1]),
        ("c", ids["c"][0]),
    ]
    assert page["Versions"][0]["IsLatest"] is False


def test_version_id_marker_of_a_deleted_version(s3, versioned: str) -> None:
    """A page goes on from where the marker's version stood, though it was deleted since."""
    ids: dict[str, list[str]] = {}
    for key in ("a", "a", "a", "b", "b", "c"):
        ids.setdefault(key, []).insert(
            0, s3.put_object(Bucket=versioned, Key=key, Body=b"x")["VersionId"]
        )
    first = s3.list_object_versions(Bucket=versioned, MaxKeys=2)
    assert (first["NextKeyMarker"], first["NextVersionIdMarker"]) == ("a", ids["a"][1])
    s3.delete_object(Bucket=versioned, Key="a", VersionId=ids["a"][1])
    after = _versions(s3, versioned, KeyMarker="a", VersionIdMarker=ids["a"][1], MaxKeys=2)
    assert after == [("a", ids["a"][2], False, False), ("b", ids["b"][0], True, False)]
    # the marker named the current version; once it is gone the one below it is current
    s3.delete_object(Bucket=versioned, Key="b", VersionId=ids["b"][0])
    after = _versions(s3, versioned, KeyMarker="b", VersionIdMarker=ids["b"][0])
    assert after == [("b", ids["b"][1], True, False), ("c", ids["c"][0], True, False)]
    # an id that never named a version here (older servers made uuid4 ids): the next key
    after = _versions(s3, versioned, KeyMarker="a", VersionIdMarker=uuid.uuid4().hex)
    assert [k for k, *_ in after] == ["b", "c"]


def test_emptying_a_bucket_while_paging_its_versions(s3, versioned: str) -> None:
    """What cleanup tools do: delete each page's versions before asking for the next."""
    for n in range(7):
        s3.put_object(Bucket=versioned, Key=f"k{n % 3}", Body=b"x")
        if n % 4 == 3:
            s3.delete_object(Bucket=versioned, Key=f"k{n % 3}")
    seen = 0
    for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=versioned, PaginationConfig={"PageSize": 2}
    ):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=versioned, Key=item["Key"], VersionId=item["VersionId"])
            seen += 1
    assert seen == 8
    listed = s3.list_object_versions(Bucket=versioned)
    assert "Versions" not in listed and "DeleteMarkers" not in listed


@pytest.fixture(scope="module")
def collecting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("versions-gc")
    srv = Server(root / "data", free_port(), ["--gc-grace", "0", "--gc-interval", "0.1"]).start()
    yield srv
    srv.stop()


def _data_files(server: Server) -> int:
    objects = Path(server.data_dir) / ".oxstore" / "objects"
    return sum(1 for fan in objects.iterdir() for _ in fan.iterdir())


def test_deleting_a_version_frees_its_data(collecting: Server) -> None:
    s3 = collecting.client(s3={"addressing_style": "path"})
    s3.create_bucket(Bucket="gc-versions")
    s3.put_bucket_versioning(Bucket="gc-versions", VersioningConfiguration={"Status": "Enabled"})
    big = [os.urandom(100_000) for _ in range(3)]  # above the inline threshold: data files
    ids = [s3.put_object(Bucket="gc-versions", Key="k", Body=b)["VersionId"] for b in big]
    s3.copy_object(
        Bucket="gc-versions",
        Key="copy",
        CopySource={"Bucket": "gc-versions", "Key": "k", "VersionId": ids[0]},
    )
    time.sleep(0.5)
    assert _data_files(collecting) == 3  # overwrites keep every version; the copy shares
    s3.delete_object(Bucket="gc-versions", Key="k", VersionId=ids[1])
    s3.delete_object(Bucket="gc-versions", Key="k", VersionId=ids[0])  # the copy still needs it
    deadline = time.monotonic() + 10
    while _data_files(collecting) != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _data_files(collecting) == 2
    assert s3.get_object(Bucket="gc-versions", Key="copy")["Body"].read() == big[0]
    assert s3.get_object(Bucket="gc-versions", Key="k")["Body"].read() == big[2]


def test_aws_cli_versioning(server, tool: Tool, s3, bucket: str) -> None:
    aws = require_binary("aws")
    Path(tool.env["AWS_CONFIG_FILE"]).write_text("[default]\nregion = us-east-1\n")

    def run(*args: str) -> str:
        return tool.run(aws, "--endpoint-url", server.endpoint, "--output", "json", *args).stdout

    run(
        "s3api",
        "put-bucket-versioning",
        "--bucket",
        bucket,
        "--versioning-configuration",
        "Status=Enabled",
    )
    assert (
        json.loads(run("s3api", "get-bucket-versioning", "--bucket", bucket))["Status"] == "Enabled"
    )
    body = tool.home / "v.txt"
    for text in ("one", "two"):
        body.write_text(text)
        run("s3api", "put-object", "--bucket", bucket, "--key", "doc", "--body", str(body))
    listed = json.loads(run("s3api", "list-object-versions", "--bucket", bucket))
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False]


@pytest.mark.parametrize("state", ["", "Enabled", "Suspended"])
def test_metadata_changes_keep_their_data_through_collection(
    collecting: Server, state: str
) -> None:
    """A copy onto itself (s3cmd modify) shares the data of the version it replaces."""
    s3 = collecting.client(s3={"addressing_style": "path"})
    name = f"gc-modify-{state.lower() or 'plain'}"
    s3.create_bucket(Bucket=name)
    if state:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": state})
    data = os.urandom(200_000)
    s3.put_object(Bucket=name, Key="k", Body=data)
    s3.copy_object(
        Bucket=name,
        Key="k",
        CopySource={"Bucket": name, "Key": "k"},
        MetadataDirective="REPLACE",
        Metadata={"changed": "yes"},
    )
    time.sleep(0.5)  # several collector passes
    got = s3.get_object(Bucket=name, Key="k")
    assert got["Body"].read() == data and got["Metadata"] == {"changed": "yes"}
