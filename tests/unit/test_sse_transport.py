"""Which connections may carry SSE-C customer keys (s3.sse.is_secure): TLS, the loopback, or
any when the operator says a TLS proxy is in front (--sse-c-over-http); and the 400 a key
over plain http from another host gets."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from oxstore.cli import build_parser
from oxstore.s3.errors import S3Error
from oxstore.s3.sse import CUSTOMER, customer_key, is_secure


@pytest.mark.parametrize(
    ("client", "tls", "allowed", "secure"),
    [
        ("127.0.0.1:50000", False, False, True),
        ("127.8.9.10:1", False, False, True),
        ("[::1]:50000", False, False, True),
        ("10.0.0.7:50000", False, False, False),
        ("[2001:db8::1]:443", False, False, False),
        ("", False, False, False),
        ("10.0.0.7:50000", True, False, True),
        ("10.0.0.7:50000", False, True, True),
    ],
)
def test_which_connections_carry_customer_keys(
    client: str, tls: bool, allowed: bool, secure: bool
) -> None:
    assert is_secure(client, tls, allowed) is secure


def test_a_customer_key_over_plain_http_is_refused() -> None:
    key = os.urandom(32)
    headers = {
        CUSTOMER + "algorithm": "AES256",
        CUSTOMER + "key": base64.b64encode(key).decode(),
        CUSTOMER + "key-md5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }
    with pytest.raises(S3Error) as info:
        customer_key(headers, CUSTOMER, secure=False)
    assert info.value.code == "InvalidRequest"
    found = customer_key(headers, CUSTOMER, secure=True)
    assert found is not None and found.key == key and key.hex() not in repr(found)


def test_the_setting_that_allows_plain_http() -> None:
    parser = build_parser()
    assert parser.parse_args(["server", "d"]).sse_c_over_http is False
    assert parser.parse_args(["server", "d", "--sse-c-over-http"]).sse_c_over_http is True
