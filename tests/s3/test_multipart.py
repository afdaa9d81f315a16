"""Multipart uploads with boto3: every operation, its errors, checksums and part reads."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from oxstore import _native
from tests.conftest import Server, empty_bucket, free_port
from tests.s3.helpers import expect_error

MiB = 1024 * 1024
MAX_MULTIPART = 1_000_000  # the small-parts server's largest multipart object


def _md5_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def _upload(s3, bucket: str, key: str, parts: list[bytes], **create) -> dict:  # type: ignore[no-untyped-def]
    """Uploads parts 1..N and completes; returns Complete's answer."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    listed = []
    for number, data in enumerate(parts, start=1):
        extra = (
            {"ChecksumAlgorithm": create["ChecksumAlgorithm"]}
            if create.get("ChecksumAlgorithm")
            else {}
        )
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **extra
        )
        entry = {"PartNumber": number, "ETag": answer["ETag"]}
        entry.update({k: v for k, v in answer.items() if k.startswith("Checksum")})
        listed.append(entry)
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
    )


@pytest.fixture(scope="module")
def small_parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that accepts tiny parts and collects garbage at once."""
    root = tmp_path_factory.mktemp("small-parts")
    args = ["--min-part-size", "1", "--gc-grace", "0", "--gc-interval", "0.1"]
    args += ["--max-multipart-size", str(MAX_MULTIPART)]
    srv = Server(root / "data", free_port(), args).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def small(small_parts: Server):  # type: ignore[no-untyped-def]
    client = small_parts.client(s3={"addressing_style": "path"})
    client.create_bucket(Bucket="mpu")
    return client


def test_upload_complete_and_read_back(s3, bucket: str) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1000)]
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="big", ContentType="text/x-big", Metadata={"who": "me"}
    )["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=n, Body=p)["ETag"]
        for n, p in enumerate(parts, start=1)
    ]
    assert etags == [f'"{hashlib.md5(p).hexdigest()}"' for p in parts]
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [
        (n, len(p), e) for n, (p, e) in enumerate(zip(parts, etags, strict=True), start=1)
    ]
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="big")  # not yet
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]
        },
    )
    assert done["ETag"] == _md5_etag(parts)
    whole = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == whole
    assert got["ETag"] == _md5_etag(parts)
    assert got["ContentType"] == "text/x-big" and got["Metadata"] == {"who": "me"}
    # a range across the boundary of parts 1 and 2, and one inside part 3
    edge = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={5 * MiB - 10}-{5 * MiB + 9}")
    assert edge["Body"].read() == whole[5 * MiB - 10 : 5 * MiB + 10]
    tail = s3.get_object(Bucket=bucket, Key="big", Range="bytes=-500")
    assert tail["Body"].read() == whole[-500:]
    # parts by number
    head = s3.head_object(Bucket=bucket, Key="big", PartNumber=2)
    assert head["PartsCount"] == 3 and head["ContentLength"] == 5 * MiB
    assert head["ContentRange"] == f"bytes {5 * MiB}-{10 * MiB - 1}/{len(whole)}"
    third = s3.get_object(Bucket=bucket, Key="big", PartNumber=3)
    assert third["Body"].read() == parts[2]
    assert third["ResponseMetadata"]["HTTPStatusCode"] == 206
    expect_error("InvalidPartNumber", 416, s3.get_object, Bucket=bucket, Key="big", PartNumber=4)
    expect_error(
        "InvalidRequest",
        400,
        s3.get_object,
        Bucket=bucket,
        Key="big",
        PartNumber=1,
        Range="bytes=0-1",
    )
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_part_one_of_a_plain_object_is_the_whole_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert got["Body"].read() == b"0123456789" and "PartsCount" not in got
    assert got["ContentRange"] == "bytes 0-9/10"
    expect_error("InvalidPartNumber", 416, s3.get_object, Bucket=bucket, Key="plain", PartNumber=2)
    # an empty object's part 1 is empty: no byte range to name (bytes 0--1/0 is none)
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    empty = s3.get_object(Bucket=bucket, Key="empty", PartNumber=1)
    assert empty["Body"].read() == b"" and "ContentRange" not in empty


def test_complete_checks_what_s3_checks(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    last = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"y")

    def complete(parts: list[dict]) -> None:  # type: ignore[type-arg]
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    one = {"PartNumber": 1, "ETag": small["ETag"]}
    two = {"PartNumber": 2, "ETag": last["ETag"]}
    expect_error("EntityTooSmall", 400, complete, [one, two])
    expect_error("InvalidPartOrder", 400, complete, [two, one])
    expect_error("InvalidPartOrder", 400, complete, [one, one])
    expect_error("InvalidPart", 400, complete, [{"PartNumber": 1, "ETag": last["ETag"]}])
    expect_error("InvalidPart", 400, complete, [{"PartNumber": 3, "ETag": last["ETag"]}])
    expect_error("MalformedXML", 400, complete, [])
    # nothing changed: no object, the upload and its parts are still there
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="k")
    assert len(s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]) == 2
    complete([two])  # a single (last) part may be small
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"y"
    expect_error("NoSuchUpload", 404, s3.list_parts, Bucket=bucket, Key="k", UploadId=upload_id)


def test_part_numbers_and_unknown_uploads(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]

    def put(key: str = "k", upload: str = upload_id, number: int = 1) -> None:
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=b"x")

    expect_error("InvalidArgument", 400, put, number=0)
    expect_error("InvalidArgument", 400, put, number=10_001)
    expect_error("NoSuchUpload", 404, put, upload="nope")
    expect_error("NoSuchUpload", 404, put, key="other-key")
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    expect_error(
        "NoSuchUpload", 404, s3.abort_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id
    )
    expect_error(
        "NoSuchUpload",
        404,
        s3.complete_multipart_upload,
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00"'}]},
    )


def test_a_part_uploaded_twice_replaces_the_first(s3, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"first")
    again = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"2nd")
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["ETag"], p["Size"]) for p in parts] == [(again["ETag"], 3)]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": again["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"2nd"


def test_list_parts_pages(small) -> None:
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="paged")["UploadId"]
    for n in (1, 2, 3, 5, 8):
        small.upload_part(Bucket="mpu", Key="paged", UploadId=upload_id, PartNumber=n, Body=b"p")
    first = small.list_parts(Bucket="mpu", Key="paged", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    assert first["IsTruncated"] and first["NextPartNumberMarker"] == 2
    rest = small.list_parts(
        Bucket="mpu", Key="paged", UploadId=upload_id, PartNumberMarker=2, MaxParts=10
    )
    assert [p["PartNumber"] for p in rest["Parts"]] == [3, 5, 8] and not rest["IsTruncated"]
    paginated = [
        p["PartNumber"]
        for page in small.get_paginator("list_parts").paginate(
            Bucket="mpu", Key="paged", UploadId=upload_id, PaginationConfig={"PageSize": 2}
        )
        for p in page["Parts"]
    ]
    assert paginated == [1, 2, 3, 5, 8]
    small.abort_multipart_upload(Bucket="mpu", Key="paged", UploadId=upload_id)


def test_list_multipart_uploads(s3, bucket: str) -> None:
    keys = ["a/1", "a/2", "b", "b", "c/d/e", "z"]
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in keys]
    everything = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in everything["Uploads"]] == list(
        zip(keys, ids, strict=True)
    )
    assert everything["Uploads"][0]["Initiator"]["ID"] == everything["Uploads"][0]["Owner"]["ID"]
    rolled = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in rolled["Uploads"]] == ["b", "b", "z"]
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "c/"]
    under = s3.list_multipart_uploads(Bucket=bucket, Prefix="c/", Delimiter="/")
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["c/d/"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=3)
    assert page["IsTruncated"] and [u["Key"] for u in page["Uploads"]] == ["a/1", "a/2", "b"]
    assert (page["NextKeyMarker"], page["NextUploadIdMarker"]) == ("b", ids[2])
    after = s3.list_multipart_uploads(
        Bucket=bucket, KeyMarker="b", UploadIdMarker=ids[2], MaxUploads=10
    )
    assert [u["UploadId"] for u in after["Uploads"]] == ids[3:]
    past_key = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="b")
    assert [u["Key"] for u in past_key["Uploads"]] == ["c/d/e", "z"]
    walked = [
        (u["Key"], u["UploadId"])
        for p in s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}
        )
        for u in p.get("Uploads", [])
    ]
    assert walked == [("b", ids[2]), ("b", ids[3]), ("z", ids[5])]
    for key, upload_id in zip(keys, ids, strict=True):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_upload_part_copy(small) -> None:
    source = os.urandom(100_000)
    small.put_object(Bucket="mpu", Key="source", Body=source)
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="copied")["UploadId"]
    copy = {"Bucket": "mpu", "Key": "source"}
    first = small.upload_part_copy(
        Bucket="mpu",
        Key="copied",
        UploadId=upload_id,
        PartNumber=1,
        CopySource=copy,
        CopySourceRange="bytes=10-59999",
    )["CopyPartResult"]
    assert first["ETag"] == f'"{hashlib.md5(source[10:60000]).hexdigest()}"'
    second = small.upload_part_copy(
        Bucket="mpu", Key="copied", UploadId=upload_id, PartNumber=2, CopySource=copy
    )["CopyPartResult"]
    for bad_range in ("bytes=0-100000", "bytes=200000-200001"):  # S3: 400, not 416
        response = expect_error(
            "InvalidArgument",
            400,
            small.upload_part_copy,
            Bucket="mpu",
            Key="copied",
            UploadId=upload_id,
            PartNumber=3,
            CopySource=copy,
            CopySourceRange=bad_range,
        )
        assert "Range specified is not valid for source object of size" in str(response)
    expect_error(
        "PreconditionFailed",
        412,
        small.upload_part_copy,
        Bucket="mpu",
        Key="copied",
        UploadId=upload_id,
        PartNumber=3,
        CopySource=copy,
        CopySourceIfMatch='"not-the-etag"',
    )
    small.complete_multipart_upload(
        Bucket="mpu",
        Key="copied",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    expected = source[10:60000] + source
    assert small.get_object(Bucket="mpu", Key="copied")["Body"].read() == expected
    # a part copied out of a multipart object, across its part boundary
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="again")["UploadId"]
    part = small.upload_part_copy(
        Bucket="mpu",
        Key="again",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": "mpu", "Key": "copied"},
        CopySourceRange="bytes=49000-51000",
    )["CopyPartResult"]
    small.complete_multipart_upload(
        Bucket="mpu",
        Key="again",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert small.get_object(Bucket="mpu", Key="again")["Body"].read() == expected[49000:51001]


def test_composite_checksum_by_default(small) -> None:
    parts = [os.urandom(3000), os.urandom(2000)]
    done = _upload(small, "mpu", "crc", parts, ChecksumAlgorithm="CRC32")
    crcs = [zlib.crc32(p).to_bytes(4, "big") for p in parts]
    composite = base64.b64encode(zlib.crc32(b"".join(crcs)).to_bytes(4, "big")).decode()
    assert done["ChecksumCRC32"] == f"{composite}-2"
    head = small.head_object(Bucket="mpu", Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == f"{composite}-2" and head["ChecksumType"] == "COMPOSITE"
    part = small.get_object(Bucket="mpu", Key="crc", PartNumber=2, ChecksumMode="ENABLED")
    assert part["Body"].read() == parts[1]
    assert part["ChecksumCRC32"] == base64.b64encode(crcs[1]).decode()
    attributes = small.get_object_attributes(
        Bucket="mpu", Key="crc", ObjectAttributes=["ObjectParts", "Checksum", "ObjectSize"]
    )
    assert attributes["ObjectSize"] == 5000
    assert attributes["ObjectParts"]["TotalPartsCount"] == 2
    assert [p["Size"] for p in attributes["ObjectParts"]["Parts"]] == [3000, 2000]
    assert attributes["Checksum"]["ChecksumType"] == "COMPOSITE"


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_full_object_checksums(small, algorithm: str) -> None:
    parts = [os.urandom(4000), os.urandom(1), os.urandom(777)]
    key = f"full-{algorithm}"
    full = {"ChecksumAlgorithm": algorithm, "ChecksumType": "FULL_OBJECT"}
    done = _upload(small, "mpu", key, parts, **full)
    whole = base64.b64encode(_native.digest(algorithm.lower(), b"".join(parts))).decode()
    assert done[f"Checksum{algorithm}"] == whole and done["ChecksumType"] == "FULL_OBJECT"
    got = small.get_object(Bucket="mpu", Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(parts)  # botocore checks the checksum on the way
    assert got[f"Checksum{algorithm}"] == whole and got["ChecksumType"] == "FULL_OBJECT"


def test_checksum_errors(small) -> None:
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="bad", ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    target = {"Bucket": "mpu", "Key": "bad", "UploadId": upload_id}

    def sha256(data: bytes) -> str:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    def put(**checksum: str) -> dict:  # type: ignore[type-arg]
        return small.upload_part(**target, PartNumber=1, Body=b"x", **checksum)

    def complete(part_checksum: str, **extra: str) -> None:
        listed = {"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": part_checksum}
        small.complete_multipart_upload(**target, MultipartUpload={"Parts": [listed]}, **extra)

    expect_error("InvalidRequest", 400, put, ChecksumAlgorithm="CRC32")
    expect_error("BadDigest", 400, put, ChecksumSHA256=sha256(b"y"))
    part = put(ChecksumAlgorithm="SHA256")
    expect_error("InvalidPart", 400, complete, sha256(b"z"))
    expect_error(
        "InvalidRequest",
        400,
        small.create_multipart_upload,
        Bucket="mpu",
        Key="bad",
        ChecksumAlgorithm="SHA256",
        ChecksumType="FULL_OBJECT",
    )
    # the upload is COMPOSITE
    expect_error(
        "InvalidRequest", 400, complete, part["ChecksumSHA256"], ChecksumType="FULL_OBJECT"
    )
    small.abort_multipart_upload(**target)


@pytest.mark.parametrize("kind", ["COMPOSITE", "FULL_OBJECT"])
def test_part_checksums_left_out_of_complete(small, kind: str) -> None:
    """As S3: a COMPOSITE upload's Complete must list every part's checksum (it is what the
    object's checksum is made of); a FULL_OBJECT upload's need not."""
    key = f"left-out-{kind}"
    upload_id = small.create_multipart_upload(
        Bucket="mpu", Key=key, ChecksumAlgorithm="CRC32", ChecksumType=kind
    )["UploadId"]
    target = {"Bucket": "mpu", "Key": key, "UploadId": upload_id}
    part = small.upload_part(**target, PartNumber=1, Body=b"abc", ChecksumAlgorithm="CRC32")
    bare = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    crc = base64.b64encode(zlib.crc32(b"abc").to_bytes(4, "big")).decode()
    if kind == "COMPOSITE":
        response = expect_error(
            "InvalidRequest", 400, small.complete_multipart_upload, **target, MultipartUpload=bare
        )
        assert "must include the checksum for each part" in response["Error"]["Message"]
        listed = {"Parts": [{**bare["Parts"][0], "ChecksumCRC32": part["ChecksumCRC32"]}]}
        done = small.complete_multipart_upload(**target, MultipartUpload=listed)
        crc = base64.b64encode(zlib.crc32(base64.b64decode(crc)).to_bytes(4, "big")).decode()
        assert done["ChecksumCRC32"] == f"{crc}-1"
    else:
        done = small.complete_multipart_upload(**target, MultipartUpload=bare)
        assert done["ChecksumCRC32"] == crc
    assert done["ChecksumType"] == kind


def test_conditional_complete(small) -> None:
    small.put_object(Bucket="mpu", Key="cond", Body=b"exists")
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="cond")["UploadId"]
    part = small.upload_part(Bucket="mpu", Key="cond", UploadId=upload_id, PartNumber=1, Body=b"n")
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}

    def complete(**condition: str) -> dict:  # type: ignore[type-arg]
        return small.complete_multipart_upload(
            Bucket="mpu", Key="cond", UploadId=upload_id, MultipartUpload=parts, **condition
        )

    expect_error("PreconditionFailed", 412, complete, IfNoneMatch="*")
    expect_error("PreconditionFailed", 412, complete, IfMatch='"0123"')
    assert small.get_object(Bucket="mpu", Key="cond")["Body"].read() == b"exists"
    complete(IfMatch=small.head_object(Bucket="mpu", Key="cond")["ETag"])
    assert small.get_object(Bucket="mpu", Key="cond")["Body"].read() == b"n"
    assert complete()["ETag"] == _md5_etag([b"n"])  # a retried Complete answers the same
    # but only with the parts it completed (at a copy's key too, which shares its data)
    bogus = {"Parts": [{"PartNumber": 1, "ETag": '"0123"'}]}
    retry = {"Bucket": "mpu", "UploadId": upload_id, "MultipartUpload": bogus}
    expect_error("NoSuchUpload", 404, small.complete_multipart_upload, Key="cond", **retry)
    small.copy_object(Bucket="mpu", Key="cond-copy", CopySource={"Bucket": "mpu", "Key": "cond"})
    expect_error("NoSuchUpload", 404, small.complete_multipart_upload, Key="cond-copy", **retry)


def test_copies_of_multipart_objects_outlive_the_source(small) -> None:
    parts = [os.urandom(1000), os.urandom(1000)]
    _upload(small, "mpu", "mp-src", parts)
    small.copy_object(Bucket="mpu", Key="mp-copy", CopySource={"Bucket": "mpu", "Key": "mp-src"})
    small.delete_object(Bucket="mpu", Key="mp-src")
    got = small.get_object(Bucket="mpu", Key="mp-copy")
    assert got["Body"].read() == b"".join(parts) and got["ETag"] == _md5_etag(parts)


def _data_files(server: Server) -> set[str]:
    objects = Path(server.data_dir) / ".oxstore" / "objects"
    return {f.name for fan in objects.iterdir() for f in fan.iterdir()}


def _wait_for_files(server: Server, wanted: Callable[[set[str]], bool]) -> None:
    """Waits for the collector until the data files are as wanted."""
    deadline = time.monotonic() + 10
    while not wanted(_data_files(server)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wanted(_data_files(server)), _data_files(server)


def test_no_bytes_left_behind(small, small_parts: Server) -> None:
    before = _data_files(small_parts)
    # aborted
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="gone")["UploadId"]
    for n in (1, 2):
        small.upload_part(
            Bucket="mpu", Key="gone", UploadId=upload_id, PartNumber=n, Body=os.urandom(50_000)
        )
    assert len(_data_files(small_parts) - before) == 2
    small.abort_multipart_upload(Bucket="mpu", Key="gone", UploadId=upload_id)
    _wait_for_files(small_parts, lambda files: files <= before)
    # completed without one part, re-uploaded parts, then replaced by a PUT
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="gone")["UploadId"]
    kept = []
    for n in (1, 2, 2, 3):
        answer = small.upload_part(
            Bucket="mpu", Key="gone", UploadId=upload_id, PartNumber=n, Body=os.urandom(40_000)
        )
        if n != 3:
            kept.append({"PartNumber": n, "ETag": answer["ETag"]})
    small.complete_multipart_upload(
        Bucket="mpu", Key="gone", UploadId=upload_id, MultipartUpload={"Parts": kept[::2]}
    )
    # the replaced part 2 and the unused part 3 are collected
    _wait_for_files(small_parts, lambda files: len(files - before) == 2)
    small.put_object(Bucket="mpu", Key="gone", Body=b"small now")
    _wait_for_files(small_parts, lambda files: files <= before)


def test_ten_thousand_parts(small) -> None:
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="many")["UploadId"]
    from concurrent.futures import ThreadPoolExecutor

    def put(n: int) -> dict:  # type: ignore[type-arg]
        body = n.to_bytes(2, "big")
        answer = small.upload_part(
            Bucket="mpu", Key="many", UploadId=upload_id, PartNumber=n, Body=body
        )
        return {"PartNumber": n, "ETag": answer["ETag"]}

    with ThreadPoolExecutor(8) as pool:
        parts = list(pool.map(put, range(1, 10_001)))
    expect_error(
        "InvalidArgument",
        400,
        small.upload_part,
        Bucket="mpu",
        Key="many",
        UploadId=upload_id,
        PartNumber=10_001,
        Body=b"x",
    )
    done = small.complete_multipart_upload(
        Bucket="mpu", Key="many", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    expected = b"".join(n.to_bytes(2, "big") for n in range(1, 10_001))
    assert done["ETag"] == _md5_etag([n.to_bytes(2, "big") for n in range(1, 10_001)])
    assert small.get_object(Bucket="mpu", Key="many")["Body"].read() == expected
    assert small.head_object(Bucket="mpu", Key="many", PartNumber=10_000)["PartsCount"] == 10_000


def test_objects_over_the_multipart_limit_are_refused(small) -> None:
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="huge")["UploadId"]
    half = os.urandom(MAX_MULTIPART // 2 + 1)
    parts = [
        {
            "PartNumber": n,
            "ETag": small.upload_part(
                Bucket="mpu", Key="huge", UploadId=upload_id, PartNumber=n, Body=half
            )["ETag"],
        }
        for n in (1, 2)
    ]
    expect_error(
        "EntityTooLarge",
        400,
        small.complete_multipart_upload,
        Bucket="mpu",
        Key="huge",
        UploadId=upload_id,
        MultipartUpload={"Parts": parts},
    )
    expect_error("NoSuchKey", 404, small.get_object, Bucket="mpu", Key="huge")
    small.abort_multipart_upload(Bucket="mpu", Key="huge", UploadId=upload_id)


def test_deleting_a_bucket_aborts_its_uploads(s3) -> None:
    s3.create_bucket(Bucket="mpu-doomed")
    upload_id = s3.create_multipart_upload(Bucket="mpu-doomed", Key="k")["UploadId"]
    s3.upload_part(Bucket="mpu-doomed", Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.delete_bucket(Bucket="mpu-doomed")
    s3.create_bucket(Bucket="mpu-doomed")
    assert not s3.list_multipart_uploads(Bucket="mpu-doomed").get("Uploads")
    expect_error(
        "NoSuchUpload", 404, s3.list_parts, Bucket="mpu-doomed", Key="k", UploadId=upload_id
    )
    s3.delete_bucket(Bucket="mpu-doomed")


def test_answers_name_what_they_concern(small) -> None:
    """Complete's Location is a URL (the key encoded); UploadPartCopy names the source version
    it copied; a part numbered below 1 in Complete is InvalidArgument."""
    key = "dir/100% a+b.txt"
    upload_id = small.create_multipart_upload(Bucket="mpu", Key=key)["UploadId"]
    part = small.upload_part(Bucket="mpu", Key=key, UploadId=upload_id, PartNumber=1, Body=b"x")
    listed = {"Parts": [{"PartNumber": 0, "ETag": part["ETag"]}]}
    response = expect_error(
        "InvalidArgument",
        400,
        small.complete_multipart_upload,
        Bucket="mpu",
        Key=key,
        UploadId=upload_id,
        MultipartUpload=listed,
    )
    assert response["Error"]["Message"] == "PartNumber must be >= 1"
    listed["Parts"][0]["PartNumber"] = 1
    done = small.complete_multipart_upload(
        Bucket="mpu", Key=key, UploadId=upload_id, MultipartUpload=listed
    )
    assert done["Location"].endswith("/mpu/dir/100%25%20a%2Bb.txt")
    assert unquote(done["Location"].rsplit("/mpu/", 1)[1]) == key
    small.create_bucket(Bucket="mpu-versions")
    small.put_bucket_versioning(
        Bucket="mpu-versions", VersioningConfiguration={"Status": "Enabled"}
    )
    version = small.put_object(Bucket="mpu-versions", Key="src", Body=b"0123456789")["VersionId"]
    upload_id = small.create_multipart_upload(Bucket="mpu", Key="vcopy")["UploadId"]
    copied = small.upload_part_copy(
        Bucket="mpu",
        Key="vcopy",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": "mpu-versions", "Key": "src"},
    )
    assert copied["CopySourceVersionId"] == version
    small.abort_multipart_upload(Bucket="mpu", Key="vcopy", UploadId=upload_id)
    empty_bucket(small, "mpu-versions")
    small.delete_bucket(Bucket="mpu-versions")
