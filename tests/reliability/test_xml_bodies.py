"""Request bodies of XML: DTDs and entities are refused in every encoding, bodies are capped at
what their operation can need, and errors never echo unbounded input."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.s3.signing import error_code, send, sign

TAGGING = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    '<!DOCTYPE Tagging [<!ENTITY x "expanded">]>'
    "<Tagging><TagSet><Tag><Key>k</Key><Value>&x;</Value></Tag></TagSet></Tagging>"
)


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16", "UTF-16-LE", "UTF-32"])
def test_entities_are_refused_in_any_encoding(server, s3, bucket: str, encoding: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    codec = encoding.lower()
    body = TAGGING.format(encoding=encoding).encode("utf-16" if codec == "utf-16" else codec)
    response = send(sign(server, "PUT", f"/{bucket}/k?tagging", {"content-md5": _md5(body)}, body))
    assert (response.status_code, error_code(response)) == (400, "MalformedXML"), response.text
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_bodies_are_capped_and_errors_echo_little(server, s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    long_etag = "e" * 200_000
    body = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{long_etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    response = send(sign(server, "POST", f"/{bucket}/mp?uploadId={upload}", {}, body))
    assert (response.status_code, error_code(response)) == (400, "InvalidPart")
    assert len(response.content) < 4096  # the ETag sent is not echoed whole
    too_big = b"<Tagging>" + b" " * (1024 * 1024) + b"</Tagging>"
    response = send(
        sign(server, "PUT", f"/{bucket}?tagging", {"content-md5": _md5(too_big)}, too_big)
    )
    assert (response.status_code, error_code(response)) == (400, "MalformedXML")
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
