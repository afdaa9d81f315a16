"""ListObjectsV2 and ListObjects (v1) against a brute-force model of S3's listing."""

from __future__ import annotations

import random
from urllib.parse import quote_plus, unquote_plus

import pytest
import requests

from tests.listing_model import SAMPLE_KEYS, model
from tests.s3.helpers import expect_error

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
    assert "<Key>space+key%2Fx</Key>" not in text  # '/' stays readable
    assert "<Key>space+key/x</Key>" in text
    assert "<EncodingType>url</EncodingType>" in text
    page = s3.list_objects_v2(Bucket=listed, EncodingType="url")  # asked for: not decoded
    keys = [o["Key"] for o in page["Contents"]]
    assert keys == [quote_plus(k, safe="/") for k in KEYS]
    assert [unquote_plus(k) for k in keys] == KEYS
    auto = s3.list_objects_v2(Bucket=listed)  # botocore asks for url encoding and decodes
    assert [o["Key"] for o in auto["Contents"]] == KEYS


def test_fetch_owner_and_bad_arguments(server, s3, listed: str) -> None:
    page = s3.list_objects_v2(Bucket=listed, FetchOwner=True, MaxKeys=1)
    assert page["Contents"][0]["Owner"]["ID"] == server.access_key
    assert "Owner" not in s3.list_objects_v2(Bucket=listed, MaxKeys=1)["Contents"][0]
    expect_error("InvalidArgument", 400, s3.list_objects_v2, Bucket=listed, ContinuationToken="@@")
    expect_error("InvalidArgument", 400, s3.list_objects_v2, Bucket=listed, EncodingType="base64")


def test_max_keys_zero(s3, listed: str) -> None:
    page = s3.list_objects_v2(Bucket=listed, MaxKeys=0)
    assert page["KeyCount"] == 0
    assert "Contents" not in page


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
