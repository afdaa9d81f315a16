"""What a write carries, as clients send it: plain chunked bodies, content encodings,
conditions, checksums, and the version headers of its answer."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import empty_bucket, temp_files
from tests.s3.helpers import expect_error, minio_client
from tests.s3.signing import aws_chunked_put, error_code, send, sign


def _plain_chunked_put(server, path: str, parts: list[bytes], headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A signed PUT whose body goes out with `Transfer-Encoding: chunked` and no length."""
    signed = sign(server, "PUT", path, headers)
    sent = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}

    def body() -> Iterator[bytes]:
        yield from parts

    return requests.put(server.endpoint + path, headers=sent, data=body(), timeout=30)


def _md5_of(parts: list[bytes]) -> dict[str, str]:
    """An unsigned payload's headers, with the Content-MD5 that lets a chunked body be taken."""
    md5 = base64.b64encode(hashlib.md5(b"".join(parts)).digest()).decode()
    return {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-md5": md5}


def _tmp_files(server) -> list[Path]:  # type: ignore[no-untyped-def]
    return temp_files(server.data_dir)


@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024 + 5])
def test_plain_chunked_transfer_encoding(server, s3, bucket: str, size: int) -> None:
    payload = os.urandom(size)
    parts = [payload[i : i + 65536] for i in range(0, size, 65536)]
    md5 = base64.b64encode(hashlib.md5(payload).digest()).decode()
    response = _plain_chunked_put(
        server,
        f"/{bucket}/chunked",
        parts,
        {"x-amz-content-sha256": hashlib.sha256(payload).hexdigest(), "content-md5": md5},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["ContentLength"] == size and got["Body"].read() == payload


def test_plain_chunked_digests_are_checked_at_the_end(server, s3, bucket: str) -> None:
    declared = hashlib.sha256(b"something else").hexdigest()
    response = _plain_chunked_put(
        server, f"/{bucket}/bad", [b"abc", b"def"], {"x-amz-content-sha256": declared}
    )
    assert (response.status_code, error_code(response)) == (400, "XAmzContentSHA256Mismatch")
    md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = _plain_chunked_put(
        server,
        f"/{bucket}/bad",
        [b"abc", b"def"],
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "content-md5": md5},
    )
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="bad")
    assert _tmp_files(server) == []


def test_plain_chunked_needs_a_digest(server, s3, bucket: str) -> None:
    """Without a length, only a digest tells a whole chunked body from one cut off by a broken
    connection (the HTTP server ends both alike): an unsigned one with neither is refused,
    and one cut off never replaces the object."""
    s3.put_object(Bucket=bucket, Key="kept", Body=b"k" * 1000)
    unsigned = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    refused = _plain_chunked_put(server, f"/{bucket}/kept", [b"abc"], unsigned)
    assert (refused.status_code, error_code(refused)) == (411, "MissingContentLength")
    # a chunked body cut off (no last chunk) with its Content-MD5: BadDigest, nothing changes
    whole = b"w" * 8192
    md5 = base64.b64encode(hashlib.md5(whole).digest()).decode()
    prepared = sign(server, "PUT", f"/{bucket}/kept", {**unsigned, "content-md5": md5}).prepare()
    lines = [f"PUT /{bucket}/kept HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines.append("Transfer-Encoding: chunked")
    lines += [f"{k}: {v}" for k, v in prepared.headers.items() if k.lower() != "content-length"]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"1000\r\n" + whole[:4096])
        sock.sendall(b"\r\n")
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"<Code>BadDigest</Code>" in answer, answer
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"k" * 1000
    assert _tmp_files(server) == []


def test_plain_chunked_size_limit_while_streaming(server_factory) -> None:
    srv = server_factory(extra_args=["--max-object-size", "100000"])
    client = srv.client(s3={"addressing_style": "path"})
    client.create_bucket(Bucket="limited")
    parts = [b"x" * 60000, b"y" * 60000]
    response = _plain_chunked_put(srv, "/limited/big", parts, _md5_of(parts))
    assert (response.status_code, error_code(response)) == (400, "EntityTooLarge")
    assert "Contents" not in client.list_objects_v2(Bucket="limited")
    assert _tmp_files(srv) == []
    fitting = [b"x" * 50000, b"y" * 50000]
    ok = _plain_chunked_put(srv, "/limited/fits", fitting, _md5_of(fitting))
    assert ok.status_code == 200, ok.text
    assert client.head_object(Bucket="limited", Key="fits")["ContentLength"] == 100000


@pytest.mark.parametrize(
    ("sent", "stored"), [("gzip, aws-chunked", "gzip"), ("aws-chunked", None), ("gzip", "gzip")]
)
def test_aws_chunked_is_no_content_encoding(server, s3, bucket: str, sent, stored) -> None:
    payload = os.urandom(20_000)
    trailer = ("x-amz-checksum-crc32", base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")))
    response = aws_chunked_put(
        server,
        bucket,
        "enc",
        payload,
        "unsigned-trailer",
        (trailer[0], trailer[1].decode()),
        extra={"content-encoding": sent},
    )
    assert response.status_code == 200, response.text
    head = s3.head_object(Bucket=bucket, Key="enc")
    assert head.get("ContentEncoding") == stored
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "enc"})
    with requests.get(url, timeout=10, stream=True) as got:  # the payload is no real gzip
        assert got.headers.get("content-encoding") == stored


def test_multipart_and_copy_keep_no_aws_chunked(s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="mp", ContentEncoding="gzip,aws-chunked"
    )["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]},
    )
    assert s3.head_object(Bucket=bucket, Key="mp")["ContentEncoding"] == "gzip"
    s3.copy_object(
        Bucket=bucket,
        Key="copy",
        CopySource=f"{bucket}/mp",
        MetadataDirective="REPLACE",
        ContentEncoding="aws-chunked, br",
    )
    assert s3.head_object(Bucket=bucket, Key="copy")["ContentEncoding"] == "br"


def test_writes_into_a_never_versioned_bucket_carry_no_version_id(server, s3, bucket: str):
    source = f"{bucket}-src"
    s3.create_bucket(Bucket=source)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=source, Key="s", Body=b"versioned source")
    answers = {
        "put": s3.put_object(Bucket=bucket, Key="k", Body=b"x"),
        "copy": s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/k"),
        "copy from a versioned bucket": s3.copy_object(
            Bucket=bucket, Key="v", CopySource=f"{source}/s"
        ),
    }
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    answers["complete"] = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    for name, answer in answers.items():
        assert "x-amz-version-id" not in answer["ResponseMetadata"]["HTTPHeaders"], name
        assert "VersionId" not in answer, name
    assert answers["copy from a versioned bucket"]["CopySourceVersionId"]
    assert "CopySourceVersionId" not in answers["copy"]
    for name, call in {
        "head": lambda: s3.head_object(Bucket=bucket, Key="k"),
        "get": lambda: s3.get_object(Bucket=bucket, Key="v"),
        "delete": lambda: s3.delete_object(Bucket=bucket, Key="c"),
    }.items():
        assert "x-amz-version-id" not in call()["ResponseMetadata"]["HTTPHeaders"], name
    written = minio_client(server).put_object(bucket, "m", io.BytesIO(b"m"), 1)
    assert written.version_id is None
    empty_bucket(s3, source)
    s3.delete_bucket(Bucket=source)


def _complete(s3, bucket: str, key: str, **conditions):  # type: ignore[no-untyped-def]
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"mp")
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload=parts, **conditions
    )


@pytest.mark.parametrize("write", ["put", "complete", "copy"])
def test_conditional_writes_with_etags_and_stars(s3, bucket: str, write: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")

    def attempt(key: str, **conditions):  # type: ignore[no-untyped-def]
        if write == "put":
            return s3.put_object(Bucket=bucket, Key=key, Body=b"new", **conditions)
        if write == "complete":
            return _complete(s3, bucket, key, **conditions)
        return s3.copy_object(Bucket=bucket, Key=key, CopySource=f"{bucket}/src", **conditions)

    current = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
    other = '"0123456789abcdef0123456789abcdef"'
    expect_error("PreconditionFailed", 412, attempt, "k", IfNoneMatch=current)
    expect_error("PreconditionFailed", 412, attempt, "k", IfNoneMatch="*")
    expect_error("PreconditionFailed", 412, attempt, "k", IfMatch=other)
    expect_error("NoSuchKey", 404, attempt, "absent", IfMatch="*")
    expect_error("NoSuchKey", 404, attempt, "absent", IfMatch=current)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="absent")
    written = attempt("k", IfNoneMatch=other)["ETag"] if write != "copy" else None
    written = written or attempt("k", IfNoneMatch=other)["CopyObjectResult"]["ETag"]
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == written
    attempt("k", IfMatch="*")
    attempt("fresh", IfNoneMatch=current)  # no object: an ETag cannot match


def test_conditional_deletes(s3, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ETag"]
    other = '"0123456789abcdef0123456789abcdef"'
    expect_error("PreconditionFailed", 412, s3.delete_object, Bucket=bucket, Key="k", IfMatch=other)
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == etag
    expect_error("NoSuchKey", 404, s3.delete_object, Bucket=bucket, Key="absent", IfMatch="*")
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "k", "ETag": other}, {"Key": "j"}]}
    )
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("k", "PreconditionFailed")]
    assert [d["Key"] for d in answer["Deleted"]] == ["j"]
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag)
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="k")
    expect_error("NotImplemented", 501, s3.delete_object, Bucket=bucket, Key="k", IfMatchSize=1)


WRONG = {
    "crc32": b"\x00\x00\x00\x01",
    "crc32c": b"\x00\x00\x00\x01",
    "crc64nvme": b"\x00" * 7 + b"\x01",
    "sha1": hashlib.sha1(b"other").digest(),
    "sha256": hashlib.sha256(b"other").digest(),
}


@pytest.mark.parametrize("algorithm", sorted(WRONG))
@pytest.mark.parametrize("payload", ["signed", "UNSIGNED-PAYLOAD"])
def test_a_wrong_checksum_value_is_bad_digest(server, s3, bucket, algorithm, payload) -> None:
    body = b"hello checksums"
    declared = hashlib.sha256(body).hexdigest() if payload == "signed" else payload
    headers = {
        "x-amz-content-sha256": declared,
        f"x-amz-checksum-{algorithm}": base64.b64encode(WRONG[algorithm]).decode(),
    }
    response = send(sign(server, "PUT", f"/{bucket}/k", headers, body))
    assert (response.status_code, error_code(response)) == (400, "BadDigest"), response.text
    assert algorithm.upper() in response.text
    # a value that is no checksum at all (bad base64, wrong length): S3's InvalidRequest
    headers[f"x-amz-checksum-{algorithm}"] = "bm90IGEgY2hlY2tzdW0"
    response = send(sign(server, "PUT", f"/{bucket}/k", headers, body))
    assert (response.status_code, error_code(response)) == (400, "InvalidRequest")
    assert f"x-amz-checksum-{algorithm}" in response.text
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_sdk_algorithm_naming_another_checksum_is_bad_digest(server, s3, bucket) -> None:
    """S3's documented answer when x-amz-sdk-checksum-algorithm and the value header differ."""
    body = b"abc"
    headers = {
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }
    response = send(sign(server, "PUT", f"/{bucket}/k", headers, body))
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def _put_with_raw_header(server, path: str, name: str, raw: bytes, signed: bool):  # type: ignore[no-untyped-def]
    """A PUT carrying a header of raw UTF-8 bytes, as Go's and Java's SDKs send non-ASCII
    metadata; signed: the header is among the signed ones."""
    import http.client

    headers = {"x-amz-content-sha256": hashlib.sha256(b"x").hexdigest()}
    if signed:
        headers[name] = "placeholder"
    request = sign(server, "PUT", path, headers, b"x")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("PUT", path, skip_accept_encoding=True)
    for header, value in request.headers.items():
        if header.lower() != name:
            connection.putheader(header, value)
    connection.putheader(name, raw)
    connection.putheader("Content-Length", "1")
    connection.endheaders(b"x")
    response = connection.getresponse()
    return response.status, response.read().decode()


@pytest.mark.parametrize("signed", [True, False])
def test_non_ascii_header_values_are_refused_by_name(server, s3, bucket: str, signed) -> None:
    """granian hands no header value beyond visible ASCII to the application: such values are
    refused, naming the header, instead of being dropped silently (unsigned) or failing the
    signature for no visible reason (signed). boto3 and minio-py refuse such metadata
    themselves; Go's and Java's SDKs send it."""
    for raw in ("café ☕".encode(), "café".encode("latin-1")):
        status, body = _put_with_raw_header(server, f"/{bucket}/k", "x-amz-meta-note", raw, signed)
        assert status == 400 and "<Code>InvalidArgument</Code>" in body, body
        assert "<ArgumentName>x-amz-meta-note</ArgumentName>" in body
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_rfc2047_encoded_metadata_round_trips(server, s3, bucket: str) -> None:
    """S3's way to carry non-ASCII metadata in headers: an RFC 2047 encoded word, ASCII on the
    wire, returned byte for byte."""
    encoded = "=?UTF-8?B?" + base64.b64encode("café ☕".encode()).decode() + "?="
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"note": encoded})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"note": encoded}
    client = minio_client(server)
    client.put_object(bucket, "m", io.BytesIO(b"m"), 1, metadata={"x-amz-meta-note": encoded})
    assert client.stat_object(bucket, "m").metadata["x-amz-meta-note"] == encoded


def test_answers_and_listings_name_the_checksum_type(s3, bucket: str) -> None:
    crc = base64.b64encode(zlib.crc32(b"hello").to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=bucket, Key="o", Body=b"hello", ChecksumCRC32=crc)
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == (crc, "FULL_OBJECT")
    copy = s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/o")["CopyObjectResult"]
    assert (copy["ChecksumCRC32"], copy["ChecksumType"]) == (crc, "FULL_OBJECT")
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["ChecksumAlgorithm"], o["ChecksumType"]) for o in listed] == [
        (["CRC32"], "FULL_OBJECT")
    ] * 2
    version = s3.list_object_versions(Bucket=bucket)["Versions"][0]
    assert (version["ChecksumAlgorithm"], version["ChecksumType"]) == (["CRC32"], "FULL_OBJECT")
    plain = s3.put_object(Bucket=bucket, Key="p", Body=b"x", ChecksumAlgorithm="CRC32")
    assert plain["ChecksumType"] == "FULL_OBJECT"
