"""The cloud console guide's own Python example, run as written with legacy boto (2.x:
OrdinaryCallingFormat, SigV2, generate_url), and its project-id links
(/<owner id>:<bucket>/<key>)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import requests

if sys.version_info >= (3, 12):  # boto 2 imports modules Python 3.12 removed
    pytest.skip("legacy boto 2 does not run on Python 3.12 and later", allow_module_level=True)

import boto  # type: ignore[import-untyped]  # noqa: E402
import boto.s3.connection  # type: ignore[import-untyped]  # noqa: E402

from tests.conftest import Server


def test_the_console_guides_example(server: Server, tmp_path: Path) -> None:
    conn: Any = boto.connect_s3(
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        host="127.0.0.1",
        port=server.port,
        is_secure=False,
        calling_format=boto.s3.connection.OrdinaryCallingFormat(),
    )
    bucket = conn.create_bucket("1-bucket-using-python")
    assert "1-bucket-using-python" in [b.name for b in conn.get_all_buckets()]
    assert all(b.creation_date for b in conn.get_all_buckets())
    key = bucket.new_key("hello.txt")
    key.set_contents_from_string("Hello World!")
    private_file = tmp_path / "private_data.txt"
    private_file.write_bytes(b"private bytes\n" * 1000)
    key = bucket.new_key("private_info.txt")
    key.set_contents_from_filename(str(private_file))
    listed = {k.name: k.size for k in bucket.list()}
    assert listed == {"hello.txt": 12, "private_info.txt": 14000}
    hello_key = bucket.get_key("hello.txt")
    hello_key.set_canned_acl("public-read")
    private_key = bucket.get_key("private_info.txt")
    private_key.set_canned_acl("private")
    hello_url = hello_key.generate_url(0, query_auth=False, force_http=False)
    assert requests.get(hello_url, timeout=10).content == b"Hello World!"
    private_url = private_key.generate_url(3600, query_auth=True, force_http=False)
    assert requests.get(private_url, timeout=10).content == private_file.read_bytes()
    unsigned = private_key.generate_url(0, query_auth=False, force_http=False)
    assert requests.get(unsigned, timeout=10).status_code == 403
    # the guide's links with the project (owner) id before the bucket name
    project = f"{server.endpoint}/{server.owner_id}:1-bucket-using-python"
    assert requests.get(f"{project}/hello.txt", timeout=10).content == b"Hello World!"
    for key in bucket.list():
        key.delete()
    conn.delete_bucket("1-bucket-using-python")
