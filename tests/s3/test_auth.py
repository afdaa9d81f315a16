"""Authentication: SigV4 header, presigned URLs, payload modes and their errors."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import re
import zlib

import boto3
import pytest
import requests
from botocore.config import Config

from tests.s3.helpers import expect_error
from tests.s3.signing import aws_chunked_put, error_code, presigned_url, send, sign


def test_anonymous_requests_are_denied(server, bucket: str, s3) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    response = requests.get(f"{server.endpoint}/{bucket}/k", timeout=10)
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert response.headers["x-amz-request-id"]


def test_wrong_secret_is_signature_mismatch(server, bucket: str) -> None:
    from tests.conftest import make_client

    bad = make_client(server.endpoint, server.access_key, "not-the-secret-at-all")
    response = expect_error("SignatureDoesNotMatch", 403, bad.list_objects_v2, Bucket=bucket)
    assert "CanonicalRequest" in response["Error"]


def test_unknown_access_key(server, bucket: str) -> None:
    from tests.conftest import make_client

    stranger = make_client(server.endpoint, "NOSUCHACCESSKEY00000", "whatever-secret")
    expect_error("InvalidAccessKeyId", 403, stranger.list_objects_v2, Bucket=bucket)


def test_wrong_region_is_malformed_authorization(server, bucket: str) -> None:
    request = sign(server, "GET", f"/{bucket}", {}, region="eu-central-1")
    response = send(request)
    assert (response.status_code, error_code(response)) == (400, "AuthorizationHeaderMalformed")
    assert "<Region>us-east-1</Region>" in response.text


def test_skewed_clock(server, bucket: str) -> None:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    response = send(sign(server, "GET", f"/{bucket}", {}, when=when))
    assert (response.status_code, error_code(response)) == (403, "RequestTimeTooSkewed")
    within = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=14)
    assert send(sign(server, "GET", f"/{bucket}", {}, when=within)).status_code == 200


def test_presigned_get_and_put(s3, bucket: str) -> None:
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "pre/signed key"}, ExpiresIn=300
    )
    assert requests.put(put_url, data=b"presigned body", timeout=10).status_code == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "pre/signed key"}, ExpiresIn=300
    )
    response = requests.get(get_url, timeout=10)
    assert response.status_code == 200
    assert response.content == b"presigned body"
    tampered = get_url.replace("pre/signed", "pre/other")
    assert error_code(requests.get(tampered, timeout=10)) == "SignatureDoesNotMatch"


def test_presigned_expiry_rules(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1
    )
    import time

    time.sleep(2.1)
    response = requests.get(url, timeout=10)
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert "Request has expired" in response.text
    week = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604800
    )
    assert requests.get(week, timeout=10).status_code == 200
    too_long = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604801
    )
    response = requests.get(too_long, timeout=10)
    assert (response.status_code, error_code(response)) == (
        400,
        "AuthorizationQueryParametersError",
    )


def test_presigned_urls_valid_for_no_time(server, s3, bucket: str) -> None:
    """X-Amz-Expires=0 is a URL that has expired when it arrives; a negative one is malformed."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigned_url(server, "GET", f"/{bucket}/k", 0)
    assert "X-Amz-Expires=0" in url
    response = requests.get(url, timeout=10)
    assert (response.status_code, error_code(response)) == (403, "AccessDenied")
    assert "Request has expired" in response.text
    negative = url.replace("X-Amz-Expires=0", "X-Amz-Expires=-5")
    _expect_query_error(negative, "X-Amz-Expires must be non-negative")


def _expect_query_error(url: str, message: str) -> None:
    response = requests.get(url, timeout=10)
    assert (response.status_code, error_code(response)) == (
        400,
        "AuthorizationQueryParametersError",
    )
    assert message in response.text


def test_presigned_urls_with_malformed_parts(server, s3, bucket: str) -> None:
    url = presigned_url(server, "GET", f"/{bucket}/k", 60)
    dashed = re.sub(r"X-Amz-Date=[^&]+", "X-Amz-Date=2024-01-01T00:00:00Z", url)
    _expect_query_error(dashed, "X-Amz-Date must be in the ISO8601 Long Format")
    elsewhere = url.replace("%2Fus-east-1%2F", "%2Feu-west-9%2F")
    _expect_query_error(elsewhere, "Error parsing the X-Amz-Credential parameter; the region")


def test_signed_payload_hash_mismatch(server, bucket: str) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    request = sign(server, "PUT", f"/{bucket}/k", {"x-amz-content-sha256": wrong}, b"payload")
    response = send(request)
    assert (response.status_code, error_code(response)) == (400, "XAmzContentSHA256Mismatch")


def test_unsigned_payload(server, bucket: str, s3) -> None:
    request = sign(
        server, "PUT", f"/{bucket}/u", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b"free"
    )
    assert send(request).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="u")["Body"].read() == b"free"


def test_bad_content_sha256_value(server, bucket: str) -> None:
    request = sign(server, "PUT", f"/{bucket}/k", {"x-amz-content-sha256": "nonsense"}, b"x")
    response = send(request)
    assert (response.status_code, error_code(response)) == (400, "InvalidArgument")


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("mode", ["signed", "unsigned-trailer", "signed-trailer"])
def test_aws_chunked_modes(server, bucket: str, s3, mode: str) -> None:
    payload = os.urandom(50_000)
    trailer = None if mode == "signed" else ("x-amz-checksum-crc32", _crc32(payload))
    response = aws_chunked_put(server, bucket, "chunked", payload, mode, trailer)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(payload).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == payload
    if trailer:
        head = s3.head_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
        assert head["ChecksumCRC32"] == trailer[1]


def test_aws_chunked_errors_store_nothing(server, bucket: str, s3) -> None:
    payload = os.urandom(30_000)

    def flip(body: bytes) -> bytes:
        at = body.index(b"\r\n") + 100
        return body[:at] + bytes([body[at] ^ 1]) + body[at + 1 :]

    response = aws_chunked_put(server, bucket, "a", payload, "signed", corrupt=flip)
    assert (response.status_code, error_code(response)) == (403, "SignatureDoesNotMatch")
    wrong = ("x-amz-checksum-crc32", _crc32(b"other"))
    response = aws_chunked_put(server, bucket, "b", payload, "unsigned-trailer", wrong)
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    response = aws_chunked_put(server, bucket, "c", payload, "signed-trailer", wrong)
    assert (response.status_code, error_code(response)) == (400, "BadDigest")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_missing_content_length(server, bucket: str) -> None:
    import http.client

    request = sign(server, "PUT", f"/{bucket}/k", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    prepared = request.prepare()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("PUT", f"/{bucket}/k", skip_accept_encoding=True)
    for name, value in prepared.headers.items():
        if name.lower() != "content-length":
            connection.putheader(name, value)
    connection.endheaders()  # neither Content-Length nor Transfer-Encoding: chunked
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 411
    assert "<Code>MissingContentLength</Code>" in body


def _not_signed(response: requests.Response, names: str) -> None:
    assert (response.status_code, error_code(response)) == (403, "AccessDenied"), response.text
    assert "There were headers present in the request which were not signed" in response.text
    assert f"<HeadersNotSigned>{names}</HeadersNotSigned>" in response.text


def test_a_presigned_put_takes_no_unsigned_amz_headers(server, s3, anonymous, bucket) -> None:  # type: ignore[no-untyped-def]
    """x-amz-* headers that the signature does not cover are refused (S3's AccessDenied with
    HeadersNotSigned): a presigned PutObject URL sent with x-amz-copy-source and x-amz-acl
    would otherwise copy another object and make it public."""
    s3.put_object(Bucket=bucket, Key="secret", Body=b"private bytes")
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "upload"}, ExpiresIn=300
    )
    extra = {"x-amz-copy-source": f"/{bucket}/secret", "X-Amz-ACL": "public-read"}
    _not_signed(requests.put(url, headers=extra, timeout=10), "x-amz-acl, x-amz-copy-source")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="upload")
    expect_error("AccessDenied", 403, anonymous.get_object, Bucket=bucket, Key="secret")
    meta = {"x-amz-meta-a": "1"}
    _not_signed(requests.put(url, data=b"x", headers=meta, timeout=10), "x-amz-meta-a")
    # what clients send unsigned: x-amz-content-sha256 on presigned URLs, x-amz-user-agent
    sent = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-user-agent": "aws-sdk-js/3"}
    assert requests.put(url, data=b"ok", headers=sent, timeout=10).status_code == 200
    signed = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "public", "ACL": "public-read"},
        ExpiresIn=300,
    )
    assert "x-amz-acl" in signed  # in X-Amz-SignedHeaders: the client sends it signed
    answer = requests.put(signed, data=b"pub", headers={"x-amz-acl": "public-read"}, timeout=10)
    assert answer.status_code == 200, answer.text
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "upload"}, ExpiresIn=300
    )
    checked = requests.get(get_url, headers={"x-amz-checksum-mode": "ENABLED"}, timeout=10)
    _not_signed(checked, "x-amz-checksum-mode")


def test_a_signed_request_takes_no_unsigned_amz_headers(server, s3, bucket) -> None:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key="secret", Body=b"private bytes")
    request = sign(server, "PUT", f"/{bucket}/k", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    request.headers["x-amz-copy-source"] = f"/{bucket}/secret"
    request.headers["x-amz-acl"] = "public-read"
    _not_signed(send(request), "x-amz-acl, x-amz-copy-source")
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=bucket, Key="k")
    request = sign(server, "GET", f"/{bucket}/secret", {})
    request.headers["x-amz-user-agent"] = "aws-sdk-js/3.0"  # sent unsigned by browsers' SDKs
    assert send(request).content == b"private bytes"


def test_a_session_token_is_refused(server) -> None:  # type: ignore[no-untyped-def]
    """oxstore issues no temporary credentials: a request carrying a session token (a client
    configured with one) is refused, not served as if it had none."""
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        aws_session_token="FAKETOKEN",
        region_name=server.region,
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )
    expect_error("InvalidToken", 400, client.list_buckets)
    url = client.generate_presigned_url("list_buckets")
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, error_code(answer)) == (400, "InvalidToken")
