"""Signed calls of the ostor admin API: botocore's SigV4 signer over requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import botocore.exceptions
import requests

from tests.conftest import Server, make_client
from tests.s3.signing import send, sign


def admin(
    server: Server,
    method: str,
    resource: str,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    **args: str | None,
) -> requests.Response:
    """`method /?<resource>&name=value...` signed by the root user (or the given key); an
    argument of None is a bare flag (`&genKey`)."""
    query = [resource] + [
        name if value is None else f"{name}={quote(value, safe='')}" for name, value in args.items()
    ]
    request = sign(
        server, method, "/?" + "&".join(query), {}, access_key=access_key, secret_key=secret_key
    )
    return send(request)


@dataclass
class User:
    email: str
    id: str
    access_key: str
    secret_key: str

    def client(self, server: Server, **config: object):  # type: ignore[no-untyped-def]
        return make_client(server.endpoint, self.access_key, self.secret_key, **config)


def create_user(server: Server, email: str, *flags: str) -> User:
    answer = admin(server, "PUT", "ostor-users", emailAddress=email, **dict.fromkeys(flags))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (pair,) = body["AWSAccessKeys"]
    return User(email, body["UserId"], pair["AWSAccessKeyId"], pair["AWSSecretAccessKey"])


def delete_user(server: Server, email: str) -> None:
    answer = admin(server, "DELETE", "ostor-users", emailAddress=email)
    assert answer.status_code in (204, 404), answer.text


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Polls check: other workers see a key, state or quota change within their caches'
    lifetime (2 s); never slept on longer than needed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def refused_code(call: Callable[[], object]) -> str:
    """The S3 error code the call is refused with ("" if it succeeds)."""
    try:
        call()
    except botocore.exceptions.ClientError as err:
        return str(err.response["Error"]["Code"])
    return ""
