"""CopyObject: directives, conditions, copies onto themselves, and independence from the source."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from datetime import UTC, datetime, timedelta

from tests.s3.helpers import expect_error
from tests.s3.signing import EMPTY_SHA256, error_code, send, sign


def _src(s3, bucket: str, data: bytes, key: str = "src") -> str:  # type: ignore[no-untyped-def]
    return s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        Metadata={"origin": "source"},
        ContentType="text/x-src",
        CacheControl="max-age=5",
    )["ETag"]


def test_copy_keeps_metadata_by_default(s3, bucket: str) -> None:
    data = os.urandom(300_000)
    etag = _src(s3, bucket, data)
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"origin": "source"}
    assert got["ContentType"] == "text/x-src" and got["CacheControl"] == "max-age=5"


def test_copy_with_replace_and_across_buckets(s3, bucket: str) -> None:
    data = b"small inline payload"
    _src(s3, bucket, data)
    other = f"{bucket}-b"
    s3.create_bucket(Bucket=other)
    try:
        s3.copy_object(
            Bucket=other,
            Key="dst",
            CopySource=f"{bucket}/src",
            MetadataDirective="REPLACE",
            Metadata={"new": "yes"},
            ContentType="application/json",
        )
        got = s3.get_object(Bucket=other, Key="dst")
        assert got["Body"].read() == data
        assert got["Metadata"] == {"new": "yes"}
        assert got["ContentType"] == "application/json" and "CacheControl" not in got
    finally:
        s3.delete_object(Bucket=other, Key="dst")
        s3.delete_bucket(Bucket=other)


def test_copy_onto_itself(s3, bucket: str) -> None:
    data = os.urandom(100_000)
    etag = _src(s3, bucket, data)
    expect_error(
        "InvalidRequest",
        400,
        s3.copy_object,
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "src"},
    )
    s3.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"changed": "1"},
    )
    got = s3.get_object(Bucket=bucket, Key="src")
    assert got["Body"].read() == data and got["ETag"] == etag
    assert got["Metadata"] == {"changed": "1"}


def test_copy_survives_the_source_being_overwritten_or_deleted(server, s3, bucket: str) -> None:
    data = os.urandom(400_000)
    _src(s3, bucket, data)
    s3.copy_object(Bucket=bucket, Key="a", CopySource={"Bucket": bucket, "Key": "src"})
    s3.copy_object(Bucket=bucket, Key="b", CopySource={"Bucket": bucket, "Key": "src"})
    s3.put_object(Bucket=bucket, Key="src", Body=b"overwritten")
    s3.delete_object(Bucket=bucket, Key="a")
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == data
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == b"overwritten"


def test_copy_source_conditions(s3, bucket: str) -> None:
    etag = _src(s3, bucket, b"conditional")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="ok", CopySource=source, CopySourceIfMatch=etag)
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    for kwargs in (
        {"CopySourceIfMatch": '"other"'},
        {"CopySourceIfNoneMatch": etag},
        {"CopySourceIfModifiedSince": future},
        {"CopySourceIfUnmodifiedSince": past},
    ):
        expect_error(
            "PreconditionFailed",
            412,
            s3.copy_object,
            Bucket=bucket,
            Key="no",
            CopySource=source,
            **kwargs,
        )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["ok", "src"]


def test_copy_errors(s3, bucket: str) -> None:
    expect_error(
        "NoSuchKey",
        404,
        s3.copy_object,
        Bucket=bucket,
        Key="d",
        CopySource={"Bucket": bucket, "Key": "missing"},
    )
    expect_error(
        "NoSuchBucket",
        404,
        s3.copy_object,
        Bucket=bucket,
        Key="d",
        CopySource={"Bucket": "no-such-bucket-here", "Key": "k"},
    )
    _src(s3, bucket, b"x")
    expect_error(
        "InvalidArgument",
        400,
        s3.copy_object,
        Bucket=bucket,
        Key="d",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="MERGE",
    )


def test_collected_source_data_is_not_lost_by_a_copy(server, s3, bucket: str) -> None:
    """The data of a deleted source waits in the garbage; a copy committed before the
    collector claims it takes it back."""
    from oxstore.meta.records import ObjectRecord
    from oxstore.meta.store import DataGoneError

    data = os.urandom(200_000)
    _src(s3, bucket, data)
    store = server.metadata()

    async def scenario() -> None:
        source = await store.get_object(bucket, "src")
        assert source is not None and source.data_id
        await store.delete_object(bucket, "src")
        copy = ObjectRecord(
            **{
                **{f: getattr(source, f) for f in source.__struct_fields__},
                "key": "rescued",
                "last_modified": time.time(),
            }
        )
        await store.put_object(copy, shares_data=True)  # taken back from the garbage
        assert s3.get_object(Bucket=bucket, Key="rescued")["Body"].read() == data
        await store.delete_object(bucket, "rescued")
        assert source.data_id in await store.claim_garbage(time.time() + 60, 100)
        try:
            await store.put_object(copy, shares_data=True)
            raise AssertionError("a claimed data file must not be shared")
        except DataGoneError:
            pass

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_a_copy_computes_the_checksum_it_asks_for(s3, bucket: str) -> None:
    """x-amz-checksum-algorithm on CopyObject: the copy has that checksum of its bytes (read
    again when the source has no such checksum), in plain and sealed copies alike."""
    data = os.urandom(300_000)
    sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    _src(s3, bucket, data)
    source = {"Bucket": bucket, "Key": "src"}
    for key, extra in (("plain", {}), ("sealed", {"ServerSideEncryption": "AES256"})):
        result = s3.copy_object(
            Bucket=bucket, Key=key, CopySource=source, ChecksumAlgorithm="SHA256", **extra
        )
        assert result["CopyObjectResult"]["ChecksumSHA256"] == sha256
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == sha256, key
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    # from a sealed source, and onto the source itself (a new checksum is a change)
    s3.copy_object(
        Bucket=bucket,
        Key="src",
        CopySource={"Bucket": bucket, "Key": "sealed"},
        ChecksumAlgorithm="CRC32C",
    )
    head = s3.head_object(Bucket=bucket, Key="src", ChecksumMode="ENABLED")
    assert "ChecksumCRC32C" in head
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == data
    s3.copy_object(Bucket=bucket, Key="src", CopySource=source, ChecksumAlgorithm="SHA256")
    assert s3.head_object(Bucket=bucket, Key="src", ChecksumMode="ENABLED")["ChecksumSHA256"]


def test_a_copy_refuses_an_unknown_checksum_algorithm(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    headers = {
        "x-amz-copy-source": f"/{bucket}/src",
        "x-amz-checksum-algorithm": "FOO",
        "x-amz-content-sha256": EMPTY_SHA256,
    }
    answer = send(sign(server, "PUT", f"/{bucket}/dst", headers))
    assert (answer.status_code, error_code(answer)) == (400, "InvalidRequest")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="dst")
