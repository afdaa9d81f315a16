"""ListObjectsV2 and ListObjects (v1) against a brute-force model of S3's listing."""

from __future__ import annotations

import random
from urllib.parse import quote, unquote

import pytest
import requests

from tests.listing_model import SAMPLE_KEYS, model
from tests.s3.helpers import expect_error, minio_client
from tests.s3.signing import error_code, send, sign

KEYS = sorted([*SAMPLE_KEYS, "plus+key"], key=lambda k: k.encode())


@pytest.fixture(scope="module")
def listed(server):  # type: ignore[no-untyped-def]
    client = server.client()
    name = "listing-fixture"
    client.create_bucket(Bucket=name)
    for key in KEYS:
        client.put_object(Bucket=name, Key=key, Body=key.encode())
    yield name
    for key in KEYS:
        client.delete_object(Bucket=name, Key=key)
    client.delete_bucket(Bucket=name)


def names(prefix: str, delimiter: str, after: str, keys: list[str] = KEYS) -> list[str]:
    return [entry for entry, _ in model(keys, prefix, delimiter, after)]


def walk_v2(s3, bucket: str, page_size: int, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    entries: list[str] = []
    token = None
    while True:
        args = dict(Bucket=bucket, MaxKeys=page_size, **kwargs)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        got = [o["Key"] for o in page.get("Contents", [])] + [
            p["Prefix"] for p in page.get("CommonPrefixes", [])
        ]
        assert page["KeyCount"] == len(got)
        assert len(got) <= page_size
        entries += sorted(got, key=lambda k: k.encode())
        if not page["IsTruncated"]:
            return entries
        token = page["NextContinuationToken"]


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
@pytest.mark.parametrize(
    ("prefix", "delimiter"),
    [
        ("", ""),
        ("", "/"),
        ("a", "/"),
        ("a/", "/"),
        ("photos/", "/"),
        ("photos/2024/", ""),
        ("é", "/"),
        ("", "b"),
        ("nothing", "/"),
        ("a/b", "/c"),
    ],
)
def test_v2_pages_match_the_model(s3, listed: str, page_size: int, prefix: str, delimiter: str):
    got = walk_v2(s3, listed, page_size, Prefix=prefix, Delimiter=delimiter)
    assert got == names(prefix, delimiter, "")


@pytest.mark.parametrize("after", ["", "a/b", "b", "photos/2024/", "zzz", "é/one"])
def test_v2_start_after(s3, listed: str, after: str) -> None:
    page = s3.list_objects_v2(Bucket=listed, StartAfter=after, Delimiter="/")
    got = [o["Key"] for o in page.get("Contents", [])] + [
        p["Prefix"] for p in page.get("CommonPrefixes", [])
    ]
    assert sorted(got, key=lambda k: k.encode()) == names("", "/", after)
    if after:
        assert page["StartAfter"] == after


def test_v1_marker_paging(s3, listed: str) -> None:
    entries: list[str] = []
    marker = ""
    while True:
        page = s3.list_objects(Bucket=listed, Marker=marker, MaxKeys=2, Delimiter="/")
        batch = [o["Key"] for o in page.get("Contents", [])] + [
            p["Prefix"] for p in page.get("CommonPrefixes", [])
        ]
        entries += sorted(batch, key=lambda k: k.encode())
        assert all("Owner" in o for o in page.get("Contents", []))
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert entries == names("", "/", "")


def test_encoding_type_url(server, s3, listed: str) -> None:
    url = s3.generate_presigned_url(
        "list_objects_v2", Params={"Bucket": listed, "Prefix": "space", "EncodingType": "url"}
    )
    text = requests.get(url, timeout=10).text
    assert "<Key>space%20key%2Fx</Key>" not in text  # '/' stays readable
    assert "<Key>space%20key/x</Key>" in text  # a space is %20, never "+"
    assert "<EncodingType>url</EncodingType>" in text
    page = s3.list_objects_v2(Bucket=listed, EncodingType="url")  # asked for: not decoded
    keys = [o["Key"] for o in page["Contents"]]
    assert keys == [quote(k, safe="/") for k in KEYS]
    assert "plus%2Bkey" in keys
    assert [unquote(k) for k in keys] == KEYS
    auto = s3.list_objects_v2(Bucket=listed)  # botocore asks for url encoding and decodes
    assert [o["Key"] for o in auto["Contents"]] == KEYS


def test_fetch_owner_and_bad_arguments(server, s3, listed: str) -> None:
    page = s3.list_objects_v2(Bucket=listed, FetchOwner=True, MaxKeys=1)
    assert page["Contents"][0]["Owner"]["ID"] == server.owner_id
    assert "Owner" not in s3.list_objects_v2(Bucket=listed, MaxKeys=1)["Contents"][0]
    expect_error("InvalidArgument", 400, s3.list_objects_v2, Bucket=listed, ContinuationToken="@@")
    expect_error("InvalidArgument", 400, s3.list_objects_v2, Bucket=listed, EncodingType="base64")


def test_encoding_type_url_in_every_element(s3, bucket: str) -> None:
    """Key, CommonPrefixes, Delimiter, Prefix, StartAfter and the markers, in v1, v2,
    ListObjectVersions and ListMultipartUploads (keys from s3-tests' encoding case)."""
    for key in ["foo+1/bar", "foo/bar/xyzzy", "quux ab/thud", "asdf+b"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    s3.create_multipart_upload(Bucket=bucket, Key="up load")
    v2 = s3.list_objects_v2(
        Bucket=bucket, Delimiter="/", EncodingType="url", StartAfter="a b", MaxKeys=2
    )
    assert v2["StartAfter"] == "a%20b"
    assert [o["Key"] for o in v2["Contents"]] == ["asdf%2Bb"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["foo%2B1/"]
    rest = s3.list_objects_v2(
        Bucket=bucket,
        Delimiter="/",
        EncodingType="url",
        ContinuationToken=v2["NextContinuationToken"],
    )
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["foo/", "quux%20ab/"]
    v1 = s3.list_objects(Bucket=bucket, Delimiter=" ", EncodingType="url", Marker="a b")
    assert (v1["Delimiter"], v1["Marker"]) == ("%20", "a%20b")
    assert [p["Prefix"] for p in v1["CommonPrefixes"]] == ["quux%20"]
    page = s3.list_objects(Bucket=bucket, Prefix="quux ab", EncodingType="url", MaxKeys=1)
    assert page["Prefix"] == "quux%20ab"
    versions = s3.list_object_versions(
        Bucket=bucket, Prefix="quux ", EncodingType="url", KeyMarker="a b"
    )
    assert (versions["Prefix"], versions["KeyMarker"]) == ("quux%20", "a%20b")
    assert [v["Key"] for v in versions["Versions"]] == ["quux%20ab/thud"]
    uploads = s3.list_multipart_uploads(Bucket=bucket, EncodingType="url", Prefix="up ")
    assert uploads["Prefix"] == "up%20"
    assert [u["Key"] for u in uploads["Uploads"]] == ["up%20load"]
    s3.abort_multipart_upload(
        Bucket=bucket, Key="up load", UploadId=uploads["Uploads"][0]["UploadId"]
    )


def test_max_keys_zero(s3, listed: str) -> None:
    """An empty page that is not truncated, in every listing (clients would loop otherwise)."""
    page = s3.list_objects_v2(Bucket=listed, MaxKeys=0)
    assert (page["KeyCount"], page["IsTruncated"]) == (0, False)
    assert "Contents" not in page
    assert "NextContinuationToken" not in page
    v1 = s3.list_objects(Bucket=listed, MaxKeys=0, Delimiter="/")
    assert (v1["IsTruncated"], "NextMarker" in v1, "Contents" in v1) == (False, False, False)
    versions = s3.list_object_versions(Bucket=listed, MaxKeys=0)
    assert (versions["IsTruncated"], "Versions" in versions) == (False, False)


@pytest.mark.parametrize("value", ["2147483648", "abc", "-1"])
def test_max_keys_beyond_an_int32(server, listed: str, value: str) -> None:
    response = send(sign(server, "GET", f"/{listed}?list-type=2&max-keys={value}", {}))
    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")
    assert "<ArgumentName>maxKeys</ArgumentName>" in response.text
    assert f"<ArgumentValue>{value}</ArgumentValue>" in response.text


def test_max_uploads_and_parts_zero(s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    uploads = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=0)
    assert (uploads["IsTruncated"], "Uploads" in uploads) == (False, False)
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload, MaxParts=0)
    assert (parts["IsTruncated"], "Parts" in parts) == (False, False)
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)


def test_continuation_token_wins_over_start_after(s3, bucket: str) -> None:
    """minio-py sends start-after (its copy of the last token) beside continuation-token on
    every page after the first; the token decides where the page starts."""
    keys = [f"{n:04d}" for n in range(7)]  # sort below their tokens' base64 text
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, StartAfter="0000")
    token = first["NextContinuationToken"]
    second = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, StartAfter=token, ContinuationToken=token)
    assert [o["Key"] for o in second["Contents"]] == ["0003", "0004"]
    behind = s3.list_objects_v2(Bucket=bucket, StartAfter="0005", ContinuationToken=token)
    assert [o["Key"] for o in behind["Contents"]] == keys[3:]


def test_minio_py_pages_after_start_after(server, s3, bucket: str) -> None:
    keys = [f"{n:04d}" for n in range(7)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    client = minio_client(server)
    # _list_objects is what the public list_objects runs, with a page size small enough to
    # need several pages; every page after the first carries start-after too
    listed = client._list_objects(bucket, max_keys=2, start_after="0001", delimiter=None)
    assert [o.object_name for o in listed] == keys[2:]
    assert [o.object_name for o in client.list_objects(bucket, start_after="0001")] == keys[2:]


def test_empty_continuation_token_is_absent(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    url = s3.generate_presigned_url(
        "list_objects_v2", Params={"Bucket": bucket, "ContinuationToken": ""}
    )
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert "<Key>k</Key>" in response.text
    assert "<ContinuationToken>" not in response.text


def test_random_keys_against_the_model(s3, bucket: str) -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", "/", "-", "é", "z"]
    keys = sorted(
        {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(60)}
    )
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    for prefix, delimiter in [("", "/"), ("a", "/"), ("", "-"), ("b/", "/"), ("", "")]:
        expected = names(prefix, delimiter, "", keys)
        assert walk_v2(s3, bucket, 4, Prefix=prefix, Delimiter=delimiter) == expected
