"""Object operations with boto3 (default checksum behaviour)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from boto3.s3.transfer import TransferConfig

from tests.s3.helpers import expect_error, sha256
from tests.s3.signing import error_code, send, sign

SINGLE_PUT = TransferConfig(multipart_threshold=1 << 40)


def test_put_get_head_delete(s3, bucket: str) -> None:
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="a/b.bin", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="a/b.bin")
    assert got["Body"].read() == data
    assert got["ContentLength"] == len(data)
    assert got["ETag"] == put["ETag"]
    assert got["ContentType"] == "binary/octet-stream"
    head = s3.head_object(Bucket=bucket, Key="a/b.bin")
    assert head["ContentLength"] == len(data)
    assert head["AcceptRanges"] == "bytes"
    s3.delete_object(Bucket=bucket, Key="a/b.bin")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="a/b.bin")
    expect_error("404", 404, s3.head_object, Bucket=bucket, Key="a/b.bin")
    s3.delete_object(Bucket=bucket, Key="never-existed")  # S3 answers 204 anyway


def test_overwrite_replaces_content(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"first version")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_empty_object(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


@pytest.mark.parametrize(
    "key",
    [
        "spaces in name.txt",
        "unicodé/ключ/鍵.bin",
        "plus+and%percent",
        "a//double",
        "~tilde!*'()",
        "emoji-😀",
        "trailing/",
    ],
)
def test_keys_with_any_characters(s3, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [key]


def test_metadata_and_content_headers_round_trip(s3, bucket: str) -> None:
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    s3.put_object(
        Bucket=bucket,
        Key="doc",
        Body=b"<html/>",
        Metadata={"color": "blue", "Mixed-Case": "Value With Spaces"},
        ContentType="text/html; charset=utf-8",
        ContentEncoding="identity",
        ContentDisposition='attachment; filename="doc.html"',
        ContentLanguage="en-GB",
        CacheControl="max-age=60",
        Expires=expires,
    )
    for response in (
        s3.head_object(Bucket=bucket, Key="doc"),
        s3.get_object(Bucket=bucket, Key="doc"),
    ):
        assert response["Metadata"] == {"color": "blue", "mixed-case": "Value With Spaces"}
        assert response["ContentType"] == "text/html; charset=utf-8"
        assert response["ContentEncoding"] == "identity"
        assert response["ContentDisposition"] == 'attachment; filename="doc.html"'
        assert response["ContentLanguage"] == "en-GB"
        assert response["CacheControl"] == "max-age=60"
        assert response["Expires"] == expires


def test_response_overrides(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket,
        Key="k",
        ResponseContentType="application/json",
        ResponseContentDisposition="inline",
        ResponseCacheControl="no-cache",
    )
    assert got["ContentType"] == "application/json"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-cache"


def test_ranges(s3, bucket: str) -> None:
    data = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    cases = {
        "bytes=0-0": data[:1],
        "bytes=10-19": data[10:20],
        "bytes=10000-": data[10000:],
        "bytes=-5": data[-5:],
        "bytes=100-999999": data[100:],
    }
    for header, expected in cases.items():
        got = s3.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["Body"].read() == expected, header
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        start = len(data) - len(expected)
        if header != "bytes=-5" and not header.startswith("bytes=100"):
            start = int(header.split("=")[1].split("-")[0])
        assert got["ContentRange"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    refused = expect_error(
        "InvalidRange", 416, s3.get_object, Bucket=bucket, Key="r", Range="bytes=20000-"
    )
    assert refused["ResponseMetadata"]["HTTPHeaders"]["content-range"] == f"bytes */{len(data)}"


def test_conditional_reads(s3, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"cond")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"cond"
    expect_error("PreconditionFailed", 412, s3.get_object, Bucket=bucket, Key="c", IfMatch='"nope"')
    expect_error("304", 304, s3.get_object, Bucket=bucket, Key="c", IfNoneMatch=etag)
    future = datetime.now(UTC) + timedelta(days=1)
    past = datetime.now(UTC) - timedelta(days=1)
    expect_error("304", 304, s3.head_object, Bucket=bucket, Key="c", IfModifiedSince=future)
    expect_error("412", 412, s3.head_object, Bucket=bucket, Key="c", IfUnmodifiedSince=past)


def test_content_md5(s3, bucket: str) -> None:
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=b"data", ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    expect_error(
        "BadDigest", 400, s3.put_object, Bucket=bucket, Key="m2", Body=b"data", ContentMD5=wrong
    )
    expect_error(
        "InvalidDigest", 400, s3.put_object, Bucket=bucket, Key="m3", Body=b"data", ContentMD5="abc"
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["m"]


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_checksums_are_validated_stored_and_returned(s3, bucket: str, algorithm: str) -> None:
    data = os.urandom(5000)
    digest = {
        "CRC32": zlib.crc32(data).to_bytes(4, "big"),
        "SHA1": hashlib.sha1(data).digest(),
        "SHA256": hashlib.sha256(data).digest(),
    }[algorithm]
    value = base64.b64encode(digest).decode()
    put = s3.put_object(Bucket=bucket, Key="c", Body=data, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == value
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == value
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got[f"Checksum{algorithm}"] == value
    plain = s3.head_object(Bucket=bucket, Key="c")
    assert f"Checksum{algorithm}" not in plain


def test_wrong_checksum_value_is_bad_digest(s3, bucket: str) -> None:
    wrong = base64.b64encode(b"\x00\x00\x00\x01").decode()
    expect_error(
        "BadDigest", 400, s3.put_object, Bucket=bucket, Key="k", Body=b"abc", ChecksumCRC32=wrong
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME"])
def test_checksums_needing_crt_sent_as_raw_headers(server, bucket: str, algorithm: str) -> None:
    """boto3 needs awscrt to compute these, so the test signs the header itself."""
    from oxstore import _native

    data = os.urandom(3000)
    value = base64.b64encode(_native.digest(algorithm.lower(), data)).decode()
    client = server.client(
        s3={"addressing_style": "path"}, request_checksum_calculation="when_required"
    )
    header = f"x-amz-checksum-{algorithm.lower()}"

    def add_header(request, **_):  # type: ignore[no-untyped-def]
        request.headers[header] = value

    client.meta.events.register("before-sign.s3.PutObject", add_header)
    client.put_object(Bucket=bucket, Key="k", Body=data)
    head = client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ResponseMetadata"]["HTTPHeaders"][header] == value


def test_key_too_long(s3, bucket: str) -> None:
    expect_error("KeyTooLongError", 400, s3.put_object, Bucket=bucket, Key="k" * 1025, Body=b"x")
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")


def test_metadata_too_large(s3, bucket: str) -> None:
    expect_error(
        "MetadataTooLarge",
        400,
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"x",
        Metadata={"big": "v" * 2100},
    )


def test_unknown_storage_class(s3, bucket: str) -> None:
    expect_error(
        "InvalidStorageClass",
        400,
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"x",
        StorageClass="GLACIER",
    )


def test_upload_and_download_file(s3, bucket: str, tmp_path) -> None:
    data = os.urandom(6 * 1024 * 1024 + 123)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    s3.upload_file(str(source), bucket, "file.bin", Config=SINGLE_PUT)
    target = tmp_path / "out.bin"
    s3.download_file(bucket, "file.bin", str(target))
    assert sha256(target.read_bytes()) == sha256(data)
    s3.upload_fileobj(io.BytesIO(data), bucket, "obj.bin", Config=SINGLE_PUT)
    out = io.BytesIO()
    s3.download_fileobj(bucket, "obj.bin", out, Config=TransferConfig(multipart_chunksize=1 << 20))
    assert out.getvalue() == data


def test_virtual_host_style(server, bucket: str, monkeypatch) -> None:
    """BUCKET.localhost must reach 127.0.0.1; resolve *.localhost here as resolvers do."""
    import socket

    from tests.conftest import make_client

    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint = f"http://localhost:{server.port}"

    client = make_client(
        endpoint, server.access_key, server.secret_key, s3={"addressing_style": "virtual"}
    )
    client.put_object(Bucket=bucket, Key="vhost/key.txt", Body=b"virtual")
    assert client.get_object(Bucket=bucket, Key="vhost/key.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "vhost/key.txt"
    ]


def test_delete_objects(s3, bucket: str) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d/{i}", Body=b"x")
    keys = [{"Key": f"d/{i}"} for i in range(3)] + [{"Key": "never"}, {"Key": "k" * 1025}]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["d/0", "d/1", "d/2", "never"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("k" * 1025, "KeyTooLongError")]
    quiet = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "d/3"}, {"Key": "d/4"}], "Quiet": True}
    )
    assert "Deleted" not in quiet
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # a carriage return in a key is written as a character reference (raw, it reads as \n)
    s3.put_object(Bucket=bucket, Key="cr\rkey", Body=b"x")
    echoed = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "cr\rkey"}]})
    assert [d["Key"] for d in echoed["Deleted"]] == ["cr\rkey"]


def test_delete_objects_limit(s3, bucket: str) -> None:
    keys = [{"Key": f"k{i}"} for i in range(1001)]
    expect_error("MalformedXML", 400, s3.delete_objects, Bucket=bucket, Delete={"Objects": keys})


def test_delete_objects_quiet_is_a_boolean(server, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    body = b"<Delete><Quiet>maybe</Quiet><Object><Key>kept</Key></Object></Delete>"
    headers = {
        "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode(),
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    answer = send(sign(server, "POST", f"/{bucket}?delete", headers, body))
    assert (answer.status_code, error_code(answer)) == (400, "MalformedXML")
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"x"


def _data_files(server) -> set[str]:  # type: ignore[no-untyped-def]
    objects = server.data_dir / ".oxstore" / "objects"
    return {f.name for fan in objects.iterdir() for f in fan.iterdir()}


def test_small_objects_live_in_the_metadata(server, s3, bucket: str) -> None:
    before = _data_files(server)
    small = os.urandom(1000)
    s3.put_object(Bucket=bucket, Key="small", Body=small)
    assert _data_files(server) == before  # no data file for a small object
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == small
    ranged = s3.get_object(Bucket=bucket, Key="small", Range="bytes=10-19")
    assert ranged["Body"].read() == small[10:20]
    large = os.urandom(200_000)
    s3.put_object(Bucket=bucket, Key="small", Body=large)  # inline -> file
    assert len(_data_files(server) - before) == 1
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == large
    s3.put_object(Bucket=bucket, Key="small", Body=small)  # file -> inline
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == small


def test_conditional_writes(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="c", Body=b"first", IfNoneMatch="*")
    expect_error(
        "PreconditionFailed", 412, s3.put_object, Bucket=bucket, Key="c", Body=b"x", IfNoneMatch="*"
    )
    etag = s3.head_object(Bucket=bucket, Key="c")["ETag"]
    s3.put_object(Bucket=bucket, Key="c", Body=b"second", IfMatch=etag)
    expect_error(
        "PreconditionFailed", 412, s3.put_object, Bucket=bucket, Key="c", Body=b"y", IfMatch=etag
    )
    expect_error(
        "NoSuchKey", 404, s3.put_object, Bucket=bucket, Key="absent", Body=b"z", IfMatch=etag
    )
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"second"


def test_racing_if_none_match_writers_exactly_one_wins(server, bucket: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    clients = [server.client() for _ in range(8)]
    bodies = [os.urandom(100_000 + i) for i in range(8)]

    def write(i: int) -> bool:
        try:
            clients[i].put_object(Bucket=bucket, Key="race", Body=bodies[i], IfNoneMatch="*")
            return True
        except ClientError as err:
            assert err.response["Error"]["Code"] == "PreconditionFailed"
            return False

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(write, range(8)))
    assert won.count(True) == 1
    stored = clients[0].get_object(Bucket=bucket, Key="race")["Body"].read()
    assert stored == bodies[won.index(True)]


def test_get_object_attributes(s3, bucket: str) -> None:
    data = os.urandom(70_000)
    put = s3.put_object(Bucket=bucket, Key="attrs", Body=data, ChecksumAlgorithm="SHA256")
    got = s3.get_object_attributes(
        Bucket=bucket,
        Key="attrs",
        ObjectAttributes=["ETag", "Checksum", "StorageClass", "ObjectSize"],
    )
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["Checksum"]["ChecksumSHA256"] == put["ChecksumSHA256"]
    assert got["StorageClass"] == "STANDARD"
    assert got["ObjectSize"] == len(data)
    expect_error(
        "NoSuchKey",
        404,
        s3.get_object_attributes,
        Bucket=bucket,
        Key="none",
        ObjectAttributes=["ETag"],
    )


def test_empty_uploads_with_expect_continue_keep_the_connection_sane(server, bucket: str) -> None:
    """An empty body sent with `Expect: 100-continue` gets its answer without "100 Continue";
    botocore then mis-reads the next answer on that connection unless the server closes it."""
    client = server.client(s3={"addressing_style": "path"}, max_pool_connections=1)
    for round_ in range(3):
        client.put_object(Bucket=bucket, Key=f"empty-{round_}", Body=io.BytesIO(b""))
        put = client.put_object(Bucket=bucket, Key=f"full-{round_}", Body=io.BytesIO(b"x" * 100))
        assert put["ETag"] == f'"{hashlib.md5(b"x" * 100).hexdigest()}"'
