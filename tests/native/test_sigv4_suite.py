"""The AWS SigV4 test suite, as shipped in botocore's source distribution on PyPI.

The vectors are fetched at test time (and cached in OXSTORE_TEST_CACHE), never committed. Each
case's canonical request, string to sign and signature must match the suite's.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
from http.server import BaseHTTPRequestHandler
from importlib.metadata import version
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from oxstore import _native

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION, SERVICE = "us-east-1", "service"
# The cases botocore itself does not run: a request line Python's parser rejects.
IGNORED = {"normalize-path/get-space"}


def suite_dir() -> Path | None:
    cache = Path(os.environ.get("OXSTORE_TEST_CACHE", Path.home() / ".cache" / "oxstore-tests"))
    release = version("botocore")
    target = cache / f"aws4_testsuite-{release}"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    download = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"botocore=={release}",
            "-d",
            str(cache / "sdist"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if download.returncode != 0:
        return None
    archive = cache / "sdist" / f"botocore-{release}.tar.gz"
    staging = cache / f"aws4_testsuite-{release}.partial"
    prefix = f"botocore-{release}/tests/unit/auth/aws4_testsuite/"
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(prefix):
                out = staging / member.name[len(prefix) :]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    staging.rename(target)
    return target


SUITE = suite_dir()


def cases() -> list[str]:
    if SUITE is None:
        return []
    found = []
    for req in sorted(SUITE.rglob("*.req")):
        name = str(req.parent.relative_to(SUITE))
        if name not in IGNORED:
            found.append(name)
    return found


class _RawRequest(BaseHTTPRequestHandler):
    def __init__(self, raw: bytes) -> None:  # noqa: D107 - parse only, never serve
        self.rfile = io.BytesIO(raw)
        self.raw_requestline = self.rfile.readline()
        self.error_code = None
        self.parse_request()

    def send_error(self, code, message=None, explain=None):  # type: ignore[no-untyped-def]
        self.error_code = code


def read(case: Path, ext: str) -> str:
    return (case / f"{case.name}.{ext}").read_text(encoding="utf-8").replace("\r", "")


@pytest.mark.skipif(SUITE is None, reason="PyPI is unreachable: the suite could not be fetched")
@pytest.mark.parametrize("name", cases())
def test_sigv4_suite_case(name: str) -> None:
    assert SUITE is not None
    case = SUITE / name
    raw = _RawRequest((case / f"{case.name}.req").read_bytes())
    assert raw.error_code is None
    path = raw.path.encode("iso-8859-1").decode("utf-8")
    path, _, query_string = path.partition("?")
    query = parse_qsl(query_string, keep_blank_values=True)
    headers = [(k.lower(), v) for k, v in raw.headers.items()]
    token = re.search(r"^x-amz-security-token:(.*)$", read(case, "creq"), re.MULTILINE)
    if token and "x-amz-security-token" not in dict(headers):
        headers.append(("x-amz-security-token", token.group(1)))  # a signer adds it
    body = raw.rfile.read()
    authz = read(case, "authz")
    signed = re.search(r"SignedHeaders=([^,]+)", authz).group(1).split(";")  # type: ignore[union-attr]
    amz_date = raw.headers["X-Amz-Date"]
    creq = _native.sigv4_canonical_request(
        raw.command, path, query, headers, signed, hashlib.sha256(body).hexdigest(), s3=False
    )
    assert creq == read(case, "creq")
    scope = f"{amz_date[:8]}/{REGION}/{SERVICE}/aws4_request"
    sts = _native.sigv4_string_to_sign(amz_date, scope, creq)
    assert sts == read(case, "sts")
    key = _native.sigv4_signing_key(SECRET_KEY, amz_date[:8], REGION, SERVICE)
    signature = _native.sigv4_signature(key, sts)
    assert authz.endswith(f"Signature={signature}")


def test_the_suite_was_found() -> None:
    if SUITE is None:
        pytest.skip("PyPI is unreachable: the suite could not be fetched")
    assert len(cases()) >= 30
