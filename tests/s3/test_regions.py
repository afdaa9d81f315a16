"""Regions, storage policies and storage classes of a server started with a topology file
(the provider's regions and policy table), with boto3, s3cmd and requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Server, Tool, free_port, make_client, require_binary, s3cmd_config
from tests.s3.helpers import expect_error
from tests.s3.signing import error_code, send, sign

EU_DEFAULT = "af465a16f7aac15f6283316b0113057e"
EU_UK_ONLY = "d06b2c336f4e77ce1e01da4819b77476"
CH_DEFAULT = "6d37797515208e3926609d8a7f590220"
CH_OTHER = "65cfca43dfbc3314ee2fa9f8b879e6b8"

TOPOLOGY = f"""
default_region = "eu"
storage_classes = ["STANDARD", "COLD"]

[[regions]]
name = "eu"
endpoint = "s3-eu.localhost"

[[regions]]
name = "de"

[[regions]]
name = "ch"
endpoint = "s3-ch.localhost"

[[policies]]
id = "{EU_DEFAULT}"
region = "eu"
placement = "1+1+1"
default = true
description = "London, Slough, Amsterdam"

[[policies]]
id = "{EU_UK_ONLY}"
region = "eu"
placement = "2+1"
description = "London (2), Slough (1)"

[[policies]]
id = "0a4b800afcaaf87ad2aebf8e057eb9ce"
region = "de"
placement = "2+1"
default = true

[[policies]]
id = "{CH_DEFAULT}"
region = "ch"
placement = "2+1"
default = true

[[policies]]
id = "{CH_OTHER}"
region = "ch"
placement = "2+1"
"""


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("regions")
    topology = root / "topology.toml"
    topology.write_text(TOPOLOGY)
    args = ["--topology", str(topology), "--max-buckets", "8"]
    drives = [root / "drive-2", root / "drive-3"]  # three: each policy keeps three copies
    srv = Server(root / "data", free_port(), args, drives=drives)
    srv.start()
    yield srv
    srv.stop()


def _client(server: Server, region: str = "us-east-1", policy: str | None = None):  # type: ignore[no-untyped-def]
    client = make_client(server.endpoint, server.access_key, server.secret_key, region=region)
    if policy is not None:

        def add_policy(request, **_: object) -> None:  # type: ignore[no-untyped-def]
            request.headers["x-gmt-policyid"] = policy

        client.meta.events.register("before-sign.s3.CreateBucket", add_policy)
    return client


def _headers(response: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return response["ResponseMetadata"]["HTTPHeaders"]


def test_default_region_and_policy(provider: Server) -> None:
    s3 = _client(provider)
    s3.create_bucket(Bucket="eu-plain")
    assert s3.get_bucket_location(Bucket="eu-plain")["LocationConstraint"] is None
    head = _headers(s3.head_bucket(Bucket="eu-plain"))
    assert head["x-amz-bucket-region"] == "eu" and head["x-gmt-policyid"] == EU_DEFAULT
    listing = _headers(s3.list_objects_v2(Bucket="eu-plain"))
    assert listing["x-gmt-policyid"] == EU_DEFAULT and listing["x-amz-bucket-region"] == "eu"
    for named in ("eu", "mars"):  # the default region named explicitly, an unknown one
        expect_error(
            "InvalidLocationConstraint",
            400,
            s3.create_bucket,
            Bucket=f"eu-named-{named}",
            CreateBucketConfiguration={"LocationConstraint": named},
        )


def test_buckets_in_other_regions(provider: Server) -> None:
    s3 = _client(provider, region="ch")  # signed for the region, as clients of its endpoint do
    s3.create_bucket(Bucket="ch-plain", CreateBucketConfiguration={"LocationConstraint": "ch"})
    assert s3.get_bucket_location(Bucket="ch-plain")["LocationConstraint"] == "ch"
    head = _headers(s3.head_bucket(Bucket="ch-plain"))
    assert head["x-amz-bucket-region"] == "ch" and head["x-gmt-policyid"] == CH_DEFAULT
    # the provider's own API sends the bare region name as the body
    response = send(sign(provider, "PUT", "/de-bare", {}, b"de"))
    assert response.status_code == 200, response.text
    assert _headers(s3.head_bucket(Bucket="de-bare"))["x-amz-bucket-region"] == "de"
    expect_error("AuthorizationHeaderMalformed", 400, _client(provider, "mars").list_buckets)
    # a client of another region learns which one to sign for from a HEAD's refusal too (it
    # has no body): boto3 signs again and goes on, as with a GET's <Region>
    s3.put_object(Bucket="ch-plain", Key="k", Body=b"x")
    mars = _client(provider, "mars")
    assert mars.head_object(Bucket="ch-plain", Key="k")["ContentLength"] == 1
    assert _headers(mars.head_bucket(Bucket="ch-plain"))["x-amz-bucket-region"] == "ch"


def test_storage_policies(provider: Server) -> None:
    _client(provider, policy=EU_UK_ONLY).create_bucket(Bucket="eu-uk")
    head = _headers(_client(provider).head_bucket(Bucket="eu-uk"))
    assert head["x-gmt-policyid"] == EU_UK_ONLY
    _client(provider, "ch", policy=CH_OTHER).create_bucket(
        Bucket="ch-other", CreateBucketConfiguration={"LocationConstraint": "ch"}
    )
    assert _headers(_client(provider).head_bucket(Bucket="ch-other"))["x-gmt-policyid"] == CH_OTHER
    expect_error(
        "InvalidArgument", 400, _client(provider, policy="nope").create_bucket, Bucket="bad-pol"
    )
    expect_error(  # a policy of another region
        "InvalidLocationConstraint",
        400,
        _client(provider, policy=CH_DEFAULT).create_bucket,
        Bucket="eu-with-ch-policy",
    )


def test_storage_classes(provider: Server) -> None:
    s3 = _client(provider)
    s3.create_bucket(Bucket="classes")
    s3.put_object(Bucket="classes", Key="cold", Body=b"brr", StorageClass="COLD")
    assert s3.head_object(Bucket="classes", Key="cold")["StorageClass"] == "COLD"
    listed = s3.list_objects_v2(Bucket="classes")["Contents"]
    assert [o["StorageClass"] for o in listed] == ["COLD"]
    expect_error(
        "InvalidStorageClass",
        400,
        s3.put_object,
        Bucket="classes",
        Key="k",
        Body=b"x",
        StorageClass="GLACIER",
    )
    # changing the class of an object is a copy onto itself
    s3.copy_object(
        Bucket="classes",
        Key="cold",
        CopySource={"Bucket": "classes", "Key": "cold"},
        StorageClass="STANDARD",
    )
    assert "StorageClass" not in s3.head_object(Bucket="classes", Key="cold")
    upload = s3.create_multipart_upload(Bucket="classes", Key="mp", StorageClass="COLD")
    parts = s3.list_multipart_uploads(Bucket="classes")["Uploads"]
    assert parts[0]["StorageClass"] == "COLD"
    s3.abort_multipart_upload(Bucket="classes", Key="mp", UploadId=upload["UploadId"])


def test_too_many_buckets(provider: Server) -> None:
    s3 = _client(provider)
    owned = len(s3.list_buckets()["Buckets"])
    names = [f"many-{i}" for i in range(8 - owned)]
    for name in names:
        s3.create_bucket(Bucket=name)
    expect_error("TooManyBuckets", 400, s3.create_bucket, Bucket="one-too-many")
    for name in names:
        s3.delete_bucket(Bucket=name)


def test_s3cmd_mb_with_regions(provider: Server, tool: Tool) -> None:
    config = s3cmd_config(tool, provider, ".s3cfg-provider")
    s3cmd = require_binary("s3cmd")
    tool.run(s3cmd, "-c", str(config), "mb", "s3://s3cmd-ch", "--region=ch")
    s3 = _client(provider)
    assert s3.get_bucket_location(Bucket="s3cmd-ch")["LocationConstraint"] == "ch"
    refused = tool.run(s3cmd, "-c", str(config), "mb", "s3://s3cmd-eu", "--region=eu", check=False)
    assert refused.returncode != 0 and "InvalidLocationConstraint" in refused.stderr
    info = tool.run(s3cmd, "-c", str(config), "info", "s3://s3cmd-ch", "--region=ch").stdout
    assert "Location:  ch" in info


def test_signature_region_in_requests(provider: Server) -> None:
    response = send(sign(provider, "GET", "/", {}, region="de"))
    assert response.status_code == 200, error_code(response)
