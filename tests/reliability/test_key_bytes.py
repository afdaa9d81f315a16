"""Keys are UTF-8: a path with bytes that are not is refused (S3's 400 InvalidURI), so two byte
strings never alias one key, even where anyone may write."""

from __future__ import annotations

import http.client

import pytest


def _raw(server, method: str, path: str, body: bytes = b"") -> tuple[int, str]:  # type: ignore[no-untyped-def]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(method, path, body=body, headers={"Content-Length": str(len(body))})
    response = connection.getresponse()
    return response.status, response.read().decode()


@pytest.mark.parametrize("spelling", ["%FF", "%C3%28", "%E2%82", "caf%E9"])
def test_invalid_utf8_keys_are_refused(server, s3, bucket: str, spelling: str) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    status, body = _raw(server, "PUT", f"/{bucket}/a{spelling}b", b"x")
    assert status == 400 and "<Code>InvalidURI</Code>" in body, body
    status, body = _raw(server, "GET", f"/{bucket}/a{spelling}b")
    assert status == 400 and "<Code>InvalidURI</Code>" in body
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    # a valid key of other bytes is stored under its own name
    status, _ = _raw(server, "PUT", f"/{bucket}/a%C3%A9b", b"y")
    assert status == 200
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["aéb"]
