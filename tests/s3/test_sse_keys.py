"""Where encryption keys come from and where they never go: bucket default encryption
(Put/Get/DeleteBucketEncryption, then plain PUTs, multipart and POST uploads encrypted), the
keyring's keys (unknown ids refused, rotation keeping old objects readable), the AWS CLI's
--sse and --sse-c, a flipped byte under SSE-C, and a search of the data directory, the
database and the log for every key and secret."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from oxstore import _native
from oxstore.auth.credentials import master_key
from oxstore.kms import KmsKeys
from oxstore.meta.model import Metadata
from tests.conftest import SECRET_KEY, Server, require_binary
from tests.s3.helpers import MARKER, expect_error, files_under, holds, payload
from tests.s3.sse_args import KEY, check_said, create_kms_key, read_args, write_args

MiB = 1024 * 1024
Start = Callable[..., Server]
AES256 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def kms_default(key_id: str = "") -> dict[str, Any]:
    applied: dict[str, str] = {"SSEAlgorithm": "aws:kms"}
    if key_id:
        applied["KMSMasterKeyID"] = key_id
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": applied, "BucketKeyEnabled": True}]}


def post_upload(s3: Any, bucket: str, key: str, body: bytes) -> None:
    form = s3.generate_presigned_post(bucket, key)
    answer = requests.post(form["url"], data=form["fields"], files={"file": body}, timeout=30)
    assert answer.status_code == 204, answer.text


def test_bucket_default_encryption(server: Server, s3: Any, bucket: str) -> None:
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )
    assert s3.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=AES256)
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    body = payload(MiB + 3)
    check_said(s3.put_object(Bucket=bucket, Key="put", Body=body), "SSE-S3")
    post_upload(s3, bucket, "post", body)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    check_said(upload, "SSE-S3")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=body
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    for key in ("put", "post", "mp"):
        got = s3.get_object(Bucket=bucket, Key=key)
        check_said(got, "SSE-S3")
        assert got["Body"].read() == body, key
    # what a write asks for wins over the default
    check_said(s3.put_object(Bucket=bucket, Key="c", Body=b"c", **write_args("SSE-C")), "SSE-C")
    # a KMS default, with the keyring's key or its default key
    kms_key = create_kms_key(server)
    for key_id in (kms_key, ""):
        s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=kms_default(key_id)
        )
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ][0]
        assert rule["BucketKeyEnabled"] is True
        put = s3.put_object(Bucket=bucket, Key="kms", Body=body)
        assert put["ServerSideEncryption"] == "aws:kms"
        if key_id:
            assert put["SSEKMSKeyId"] == kms_key
        assert s3.get_object(Bucket=bucket, Key="kms")["Body"].read() == body
    assert s3.delete_bucket_encryption(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )
    check_said(s3.put_object(Bucket=bucket, Key="plain", Body=b"x"), "none")


def test_bad_default_encryption_documents(s3: Any, bucket: str) -> None:
    def put(rules: Any) -> Callable[[], Any]:
        return lambda: s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules}
        )

    applied = "ApplyServerSideEncryptionByDefault"
    expect_error("MalformedXML", 400, put([{applied: {"SSEAlgorithm": "AES128"}}]))
    expect_error("MalformedXML", 400, put([]))
    expect_error(
        "InvalidArgument",
        400,
        put([{applied: {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "x"}}]),
    )
    unknown = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
    expect_error(
        "KMS.NotFoundException",
        400,
        put([{applied: {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": unknown}}]),
    )
    expect_error(
        "ServerSideEncryptionConfigurationNotFoundError",
        404,
        s3.get_bucket_encryption,
        Bucket=bucket,
    )


def test_kms_keys_by_id_and_arn_unknown_ones_and_rotation(
    tmp_path: Path, server_factory: Start
) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    s3, bucket = server.client(), "rotation"
    s3.create_bucket(Bucket=bucket)
    key_id = create_kms_key(server)
    arn = f"arn:aws:kms:us-east-1:000000000000:key/{key_id}"
    for name, named in (("by-id", key_id), ("by-arn", arn)):
        put = s3.put_object(Bucket=bucket, Key=name, Body=b"before", **write_args("SSE-KMS", named))
        assert put["SSEKMSKeyId"] == key_id
    default = s3.put_object(Bucket=bucket, Key="default", Body=b"d", ServerSideEncryption="aws:kms")
    assert default["SSEKMSKeyId"]  # the keyring's default key, made on first use
    for unknown in ("11111111-2222-3333-4444-555555555555", "not-a-key"):
        expect_error(
            "KMS.NotFoundException",
            400,
            s3.put_object,
            Bucket=bucket,
            Key="x",
            Body=b"x",
            **write_args("SSE-KMS", unknown),
        )
    expect_error("404", 404, s3.head_object, Bucket=bucket, Key="x")
    env = {
        **os.environ,
        "OXSTORE_ENDPOINT": server.endpoint,
        "OXSTORE_ACCESS_KEY": server.access_key,
        "OXSTORE_SECRET_KEY": server.secret_key,
    }
    subprocess.run(
        ["oxstore", "admin", "kms", "key", "rotate", key_id],
        env=env,
        check=True,
        capture_output=True,
    )
    server.stop()  # a fresh process: no cached key version
    server.start()
    s3.put_object(Bucket=bucket, Key="after", Body=b"after", **write_args("SSE-KMS", key_id))
    for name, body in (("by-id", b"before"), ("by-arn", b"before"), ("after", b"after")):
        assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == body

    async def versions() -> dict[str, int]:
        meta = server.metadata()
        try:
            return {
                name: record.encryption.kms_version
                for name in ("by-id", "after")
                if (record := await meta.get_object(bucket, name)) and record.encryption
            }
        finally:
            meta.close()

    assert asyncio.run(versions()) == {"by-id": 1, "after": 2}


def test_aws_cli_sse_c_and_kms(server: Server, tool: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "file"
    body = payload(9 * MiB)  # a multipart upload by the CLI
    source.write_bytes(body)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    key = f"fileb://{key_file}"
    aws = [require_binary("aws"), "--endpoint-url", server.endpoint]
    tool.run(
        *aws, "s3", "cp", str(source), f"s3://{bucket}/c", "--sse-c", "AES256", "--sse-c-key", key
    )
    back = tmp_path / "back"
    tool.run(
        *aws, "s3", "cp", f"s3://{bucket}/c", str(back), "--sse-c", "AES256", "--sse-c-key", key
    )
    assert back.read_bytes() == body
    failed = tool.run(*aws, "s3", "cp", f"s3://{bucket}/c", str(tmp_path / "no"), check=False)
    assert failed.returncode != 0
    tool.run(
        *aws,
        "s3",
        "cp",
        f"s3://{bucket}/c",
        f"s3://{bucket}/kms",
        "--sse-c-copy-source",
        "AES256",
        "--sse-c-copy-source-key",
        key,
        "--sse",
        "aws:kms",
    )
    head = server.client().head_object(Bucket=bucket, Key="kms")
    assert head["ServerSideEncryption"] == "aws:kms" and head["ContentLength"] == len(body)


def test_a_flipped_byte_under_sse_c_fails_the_read(tmp_path: Path, server_factory: Start) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    s3 = server.client()
    s3.create_bucket(Bucket="rot")
    s3.put_object(Bucket="rot", Key="k", Body=os.urandom(MiB), **write_args("SSE-C"))
    (path,) = files_under(server.data_dir / ".oxstore" / "objects")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    expect_error(
        "InternalError",
        500,
        lambda: s3.get_object(Bucket="rot", Key="k", **read_args("SSE-C"))["Body"].read(),
    )


def test_no_key_or_secret_is_kept_anywhere(tmp_path: Path, server_factory: Start) -> None:
    """The customer's key (raw and base64), the keyring's key material, every data key, the
    SSE-S3 key-encryption key and the root user's secret appear in no file of the data
    directory (the metadata store and its WAL included) and not in the log: only the master
    key file holds a key, its own."""
    server = server_factory(data_dir=tmp_path / "data")
    s3 = server.client()
    s3.create_bucket(Bucket="secrets")
    kms_key = create_kms_key(server)
    for mode in ("SSE-S3", "SSE-C", "SSE-KMS"):
        for size in (10, 3 * MiB):
            s3.put_object(
                Bucket="secrets",
                Key=f"{mode}-{size}",
                Body=payload(size),
                **write_args(mode, kms_key),
            )
            s3.get_object(Bucket="secrets", Key=f"{mode}-{size}", **read_args(mode))["Body"].read()
    s3.copy_object(
        Bucket="secrets",
        Key="copied",
        CopySource={"Bucket": "secrets", "Key": "SSE-C-10"},
        CopySourceSSECustomerAlgorithm="AES256",
        CopySourceSSECustomerKey=KEY,
        **write_args("SSE-C"),
    )
    state = server.data_dir / ".oxstore"
    master = master_key(state, {})
    secrets = [KEY, base64.b64encode(KEY), SECRET_KEY.encode(), _native.sse_s3_kek(master)]
    secrets += asyncio.run(_kept_keys(server, master, kms_key))
    files = [p for p in files_under(server.data_dir) if "master" not in p.name]
    assert [p.name for p in files if p.name.startswith("meta.sqlite3")]  # the store is searched
    for secret in secrets:
        assert holds(files, secret) == []
        assert secret not in server.log().encode()
    assert holds(files, MARKER * 3) == []


async def _kept_keys(server: Server, master: bytes, kms_key: str) -> list[bytes]:
    """The keyring key's material and every SSE-S3 / SSE-KMS object's data key, unwrapped here
    as the server would."""
    meta: Metadata = server.metadata()
    try:
        kms = KmsKeys(meta, master)
        material = await kms.kek(kms_key, 1)
        found = [material]
        for key in ("SSE-S3-10", "SSE-S3-3145728", "SSE-KMS-10", "SSE-KMS-3145728"):
            record = await meta.get_object("secrets", key)
            assert record is not None and record.encryption is not None
            kek = material if record.encryption.mode == "aws:kms" else _native.sse_s3_kek(master)
            found.append(
                _native.unwrap_data_key(kek, record.encryption.wrapped_key, record.data_id)
            )
        return found
    finally:
        meta.close()
