"""SSE-C and SSE-KMS beside SSE-S3, end to end with boto3: objects of every size read back
whole, by ranges and with HEAD; what each mode answers; the 400s of SSE-C reads (no key, a
wrong key, a key for an object that has none); encrypted multipart uploads of 5 MiB and
5 MiB + 1 parts read whole, by ranges across package and part boundaries and by partNumber;
every copy combination of source and destination encryption; bucket default encryption."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.conftest import Server
from tests.s3.helpers import MARKER, expect_error, files_under, holds, payload
from tests.s3.sse_args import (
    KEY,
    OTHER_KEY,
    check_said,
    create_kms_key,
    read_args,
    source_args,
    write_args,
)

KiB, MiB = 1024, 1024 * 1024
PACKAGE = 64 * KiB
SIZES = [0, 1, 13, KiB, MiB, 8 * MiB]
MODES = ["none", "SSE-S3", "SSE-C", "SSE-KMS"]


@pytest.fixture(scope="module")
def kms_key(server: Server) -> str:
    return create_kms_key(server)


@pytest.mark.parametrize("mode", ["SSE-C", "SSE-KMS"])
def test_objects_of_every_size(server: Server, s3: Any, bucket: str, kms_key: str, mode: str):
    for size in SIZES:
        body, key = payload(size), f"o{size}"
        put = s3.put_object(Bucket=bucket, Key=key, Body=body, **write_args(mode, kms_key))
        check_said(put, mode, kms_key)
        # S3's ETag of an SSE-C or SSE-KMS object is not the MD5 of its bytes
        assert put["ETag"].strip('"') != hashlib.md5(body).hexdigest()
        got = s3.get_object(Bucket=bucket, Key=key, **read_args(mode))
        check_said(got, mode, kms_key)
        assert got["Body"].read() == body and got["ETag"] == put["ETag"], size
        head = s3.head_object(Bucket=bucket, Key=key, **read_args(mode))
        assert head["ContentLength"] == size
        check_said(head, mode, kms_key)
        for start, end in [(0, 0), (PACKAGE - 1, PACKAGE), (size // 3, size - 1)]:
            if 0 <= start <= end < size:
                ranged = s3.get_object(
                    Bucket=bucket, Key=key, Range=f"bytes={start}-{end}", **read_args(mode)
                )
                assert ranged["Body"].read() == body[start : end + 1], (size, start, end)
    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {f"o{size}": size for size in SIZES}


def test_sse_c_reads_need_the_objects_key(s3: Any, bucket: str) -> None:
    body = payload(3 * PACKAGE)
    s3.put_object(Bucket=bucket, Key="c", Body=body, **write_args("SSE-C"))
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    s3.put_object(Bucket=bucket, Key="s3", Body=b"s3", ServerSideEncryption="AES256")
    for read in (s3.get_object, s3.head_object):
        code = "400" if read == s3.head_object else "InvalidRequest"
        for key in ("plain", "s3"):  # a key for an object that has none
            expect_error(code, 400, read, Bucket=bucket, Key=key, **read_args("SSE-C"))
        if read == s3.head_object:  # a HEAD's answer has no body: boto3 knows the status only
            expect_error("400", 400, read, Bucket=bucket, Key="c")
            expect_error("400", 400, read, Bucket=bucket, Key="c", **read_args("SSE-C", OTHER_KEY))
            continue
        expect_error("InvalidRequest", 400, read, Bucket=bucket, Key="c")
        expect_error(
            "InvalidArgument", 400, read, Bucket=bucket, Key="c", **read_args("SSE-C", OTHER_KEY)
        )
    # a range or a conditional read without the key is refused just the same
    expect_error("InvalidRequest", 400, s3.get_object, Bucket=bucket, Key="c", Range="bytes=0-0")
    got = s3.get_object(Bucket=bucket, Key="c", **read_args("SSE-C"))
    assert got["Body"].read() == body
    attributes = {"Bucket": bucket, "Key": "c", "ObjectAttributes": ["ObjectSize"]}
    expect_error("InvalidRequest", 400, s3.get_object_attributes, **attributes)
    encoded = {  # (boto3 encodes the key for GetObject, not for GetObjectAttributes)
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": base64.b64encode(KEY).decode(),
        "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(KEY).digest()).decode(),
    }
    sized = s3.get_object_attributes(**attributes, **encoded)
    assert sized["ObjectSize"] == len(body)  # sizes are the plaintext's


def _parts(total: int) -> list[int]:
    """Part sizes adding up to total: 5 MiB and 5 MiB + 1 by turns, the rest last."""
    sizes: list[int] = []
    while total > 0:
        size = min(total, 5 * MiB + len(sizes) % 2)
        sizes.append(size)
        total -= size
    return sizes


@pytest.mark.parametrize("mode", ["SSE-S3", "SSE-C", "SSE-KMS"])
def test_encrypted_multipart_uploads(s3: Any, bucket: str, kms_key: str, mode: str) -> None:
    body = payload(30 * MiB)
    created = s3.create_multipart_upload(Bucket=bucket, Key="mp", **write_args(mode, kms_key))
    check_said(created, mode, kms_key)
    upload, parts, offset = created["UploadId"], [], 0
    for number, size in enumerate(_parts(len(body)), 1):
        if mode == "SSE-C":  # a part without the upload's key, or with another: 400
            for wrong in ({}, read_args(mode, OTHER_KEY)):
                expect_error(
                    "InvalidRequest" if not wrong else "InvalidArgument",
                    400,
                    s3.upload_part,
                    Bucket=bucket,
                    Key="mp",
                    UploadId=upload,
                    PartNumber=number,
                    Body=b"x",
                    **wrong,
                )
        part = s3.upload_part(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            PartNumber=number,
            Body=body[offset : offset + size],
            **read_args(mode),
        )
        check_said(part, mode, kms_key)
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
        offset += size
    listed = {"Parts": parts}
    if mode == "SSE-C":
        expect_error(
            "InvalidRequest",
            400,
            s3.complete_multipart_upload,
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            MultipartUpload=listed,
        )
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload=listed, **read_args(mode)
    )
    if mode != "SSE-C":  # (S3's answer to Complete has no SSE-C fields)
        check_said(done, mode, kms_key)
    got = s3.get_object(Bucket=bucket, Key="mp", **read_args(mode))
    assert got["ContentLength"] == len(body) and got["Body"].read() == body
    # ranges stepping across package and part boundaries
    boundary = 5 * MiB
    for start, end in [
        (boundary - 1, boundary),
        (boundary - PACKAGE - 3, boundary + PACKAGE + 3),
        (2 * boundary, 2 * boundary + 1),
        (len(body) - 1, len(body) - 1),
        (PACKAGE * 7 + 5, 3 * boundary + 9),
    ]:
        ranged = s3.get_object(
            Bucket=bucket, Key="mp", Range=f"bytes={start}-{end}", **read_args(mode)
        )
        assert ranged["Body"].read() == body[start : end + 1], (start, end)
    offset = 0
    for number, size in enumerate(_parts(len(body)), 1):
        part = s3.get_object(Bucket=bucket, Key="mp", PartNumber=number, **read_args(mode))
        assert part["Body"].read() == body[offset : offset + size], number
        offset += size


def test_a_part_of_a_plain_upload_cannot_carry_a_key(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="p")["UploadId"]
    expect_error(
        "InvalidRequest",
        400,
        s3.upload_part,
        Bucket=bucket,
        Key="p",
        UploadId=upload,
        PartNumber=1,
        Body=b"x",
        **read_args("SSE-C"),
    )
    s3.abort_multipart_upload(Bucket=bucket, Key="p", UploadId=upload)


@pytest.fixture(scope="module")
def sources(server: Server, kms_key: str) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A bucket with one source object per mode, in one piece and in two parts."""
    s3 = server.client()
    name = "copy-matrix"
    s3.create_bucket(Bucket=name)
    bodies: dict[str, bytes] = {}
    for mode in MODES:
        bodies[mode] = payload(PACKAGE * 3 + 5)
        s3.put_object(Bucket=name, Key=mode, Body=bodies[mode], **write_args(mode, kms_key))
        key = f"{mode}-mp"
        upload = s3.create_multipart_upload(Bucket=name, Key=key, **write_args(mode, kms_key))
        bodies[key] = payload(5 * MiB + 7)
        etags = []
        for number, chunk in enumerate([bodies[key][: 5 * MiB], bodies[key][5 * MiB :]], 1):
            etags.append(
                s3.upload_part(
                    Bucket=name,
                    Key=key,
                    UploadId=upload["UploadId"],
                    PartNumber=number,
                    Body=chunk,
                    **read_args(mode),
                )["ETag"]
            )
        s3.complete_multipart_upload(
            Bucket=name,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={
                "Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]
            },
            **read_args(mode),
        )
    yield name, bodies


@pytest.mark.parametrize("source", MODES)
@pytest.mark.parametrize("target", MODES)
@pytest.mark.parametrize("parts", [False, True])
def test_every_copy_combination(
    s3: Any,
    sources: tuple[str, dict[str, bytes]],
    kms_key: str,
    source: str,
    target: str,
    parts: bool,
) -> None:
    name, bodies = sources
    key = f"{source}-mp" if parts else source
    copy = f"copy-{key}-to-{target}"
    answer = s3.copy_object(
        Bucket=name,
        Key=copy,
        CopySource={"Bucket": name, "Key": key},
        **source_args(source),
        **write_args(target, kms_key),
    )
    # a copy that asks for nothing of an encrypted source is encrypted by SSE-S3, as S3 does
    said = "SSE-S3" if target == "none" and source != "none" else target
    check_said(answer, said, kms_key)
    # a plain or SSE-S3 object's ETag is its MD5 (a multipart source's is kept where its data
    # is shared); a keyed ETag of an SSE-C or SSE-KMS source is not carried over
    etag = answer["CopyObjectResult"]["ETag"].strip('"')
    if said in ("none", "SSE-S3") and (not parts or source in ("SSE-C", "SSE-KMS")):
        assert etag == hashlib.md5(bodies[key]).hexdigest()
    got = s3.get_object(Bucket=name, Key=copy, **read_args(said))
    check_said(got, said, kms_key)
    assert got["Body"].read() == bodies[key]
    ranged = s3.get_object(Bucket=name, Key=copy, Range="bytes=65535-65537", **read_args(said))
    assert ranged["Body"].read() == bodies[key][65535:65538]
    # the source reads as before
    again = s3.get_object(Bucket=name, Key=key, **read_args(source))
    assert again["Body"].read() == bodies[key]


def test_copies_need_the_sources_key(s3: Any, sources: tuple[str, dict[str, bytes]]) -> None:
    name, _ = sources
    source = {"Bucket": name, "Key": "SSE-C"}
    expect_error("InvalidRequest", 400, s3.copy_object, Bucket=name, Key="x", CopySource=source)
    expect_error(
        "InvalidArgument",
        400,
        s3.copy_object,
        Bucket=name,
        Key="x",
        CopySource=source,
        **source_args("SSE-C", OTHER_KEY),
    )
    expect_error(
        "InvalidRequest",
        400,
        s3.copy_object,
        Bucket=name,
        Key="x",
        CopySource={"Bucket": name, "Key": "none"},
        **source_args("SSE-C"),
    )
    # re-keying an SSE-C object to another customer key in place
    rekeyed = s3.copy_object(
        Bucket=name,
        Key="rekeyed",
        CopySource=source,
        **source_args("SSE-C"),
        **write_args("SSE-C", key=OTHER_KEY),
    )
    assert rekeyed["SSECustomerAlgorithm"] == "AES256"
    expect_error(
        "InvalidArgument", 400, s3.get_object, Bucket=name, Key="rekeyed", **read_args("SSE-C")
    )
    s3.get_object(Bucket=name, Key="rekeyed", **read_args("SSE-C", OTHER_KEY))["Body"].read()


def test_upload_part_copy_between_encryptions(
    s3: Any, sources: tuple[str, dict[str, bytes]], kms_key: str
) -> None:
    name, bodies = sources
    upload = s3.create_multipart_upload(Bucket=name, Key="assembled", **write_args("SSE-C"))
    etags = []
    for number, source in enumerate(["SSE-KMS-mp", "SSE-C"], 1):
        mode = source.removesuffix("-mp")
        copied = s3.upload_part_copy(
            Bucket=name,
            Key="assembled",
            UploadId=upload["UploadId"],
            PartNumber=number,
            CopySource={"Bucket": name, "Key": source},
            **source_args(mode),
            **read_args("SSE-C"),
        )
        etags.append(copied["CopyPartResult"]["ETag"])
    s3.complete_multipart_upload(
        Bucket=name,
        Key="assembled",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]},
        **read_args("SSE-C"),
    )
    got = s3.get_object(Bucket=name, Key="assembled", **read_args("SSE-C"))
    assert got["Body"].read() == bodies["SSE-KMS-mp"] + bodies["SSE-C"]


def test_sse_c_and_kms_leave_no_plaintext_on_disk(
    tmp_path: Any, server_factory: Callable[..., Server]
) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    s3 = server.client()
    s3.create_bucket(Bucket="disk")
    kms_key = create_kms_key(server)
    for mode in ("SSE-C", "SSE-KMS"):
        for size in (100, 2 * MiB):
            s3.put_object(
                Bucket="disk", Key=f"{mode}{size}", Body=payload(size), **write_args(mode, kms_key)
            )
    assert holds(files_under(server.data_dir), MARKER * 3) == []


@pytest.mark.parametrize("mode", ["SSE-S3", "SSE-C", "SSE-KMS"])
def test_post_uploads_encrypted(s3: Any, bucket: str, kms_key: str, mode: str) -> None:
    """A browser form's encryption fields, named like the headers, signed by its policy."""
    fields = {
        "SSE-S3": {"x-amz-server-side-encryption": "AES256"},
        "SSE-KMS": {
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": kms_key,
        },
        "SSE-C": {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY).decode(),
            "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(
                hashlib.md5(KEY).digest()
            ).decode(),
        },
    }[mode]
    conditions = [{name: value} for name, value in fields.items()]
    form = s3.generate_presigned_post(bucket, "posted", Fields=fields, Conditions=conditions)
    body = payload(PACKAGE + 9)
    answer = requests.post(form["url"], data=form["fields"], files={"file": body}, timeout=30)
    assert answer.status_code == 204, answer.text
    got = s3.get_object(Bucket=bucket, Key="posted", **read_args(mode))
    check_said(got, mode, kms_key)
    assert got["Body"].read() == body


def test_sse_kms_needs_signature_v4(server: Server, s3: Any, bucket: str, kms_key: str) -> None:
    """As in S3: SSE-KMS objects are written and read by SigV4-signed requests only."""
    v2 = server.client(signature_version="s3", s3={"addressing_style": "path"})
    kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
    refused = expect_error(
        "InvalidArgument", 400, v2.put_object, Bucket=bucket, Key="v2", Body=b"x", **kms
    )
    assert "Signature Version 4" in refused["Error"]["Message"]
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="v2")
    s3.put_object(Bucket=bucket, Key="v4", Body=b"sealed", **kms)
    expect_error("InvalidArgument", 400, v2.get_object, Bucket=bucket, Key="v4")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v4"})
    assert requests.get(url, timeout=10).status_code == 400
    assert s3.get_object(Bucket=bucket, Key="v4")["Body"].read() == b"sealed"
    v2.put_object(Bucket=bucket, Key="v2-plain", Body=b"x")  # other objects: SigV2 as before
