"""In-process cost of whole requests through the pipeline (no granian, no sockets): the µs a
4 KiB PUT, GET, HEAD and DELETE cost the server's Python and native code, per request.

    python -m pytest bench/micro/test_request_bench.py --benchmark-columns=mean,ops -s

On the embedded store and on PostgreSQL (a server of its own on this machine, whose CPU the
figures do not include).

Each round runs BATCH requests in one event-loop run, from 1 client (one after another) or 64
at once; `per_request_us` in the extra info is the mean divided by BATCH. PUT includes its
durable commit: a lone client waits for an fsync per PUT, 64 share them (group commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from oxstore.app import OxstoreApp
from oxstore.config import Config
from oxstore.http.request import Request, parse_query
from oxstore.s3.pipeline import Pipeline
from oxstore.server import prepare
from tests.postgres import Postgres

ACCESS, SECRET = "BENCHACCESSKEY000001", "bench-secret-key-0123456789"
BATCH = 640
PAYLOAD = os.urandom(4096)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pipeline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    """The pipeline over the embedded store, or over a PostgreSQL of its own (Debian's server,
    default settings, a temp cluster on this machine's cores)."""
    os.environ.update(OXSTORE_ROOT_USER=ACCESS, OXSTORE_ROOT_PASSWORD=SECRET)
    with contextlib.ExitStack() as stack:
        meta = ""
        if request.param == "postgres":
            database = Postgres().start()
            stack.callback(database.stop)
            meta = database.new_database()
        data_dir = tmp_path_factory.mktemp("request-bench") / "data"
        config, _ = prepare(Config(data_dir=str(data_dir), meta=meta))  # with its drive set
        app = OxstoreApp(config)
        stack.callback(app.services.meta.close)
        handler = app.handler
        assert isinstance(handler, Pipeline)
        asyncio.run(handler(_request("PUT", "/bench", b"")))
        yield handler


class UnsignedPayloadAuth(S3SigV4Auth):
    def payload(self, request: AWSRequest) -> str:  # type: ignore[override]
        return "UNSIGNED-PAYLOAD"


async def _body(payload: bytes) -> AsyncIterator[bytes]:
    if payload:
        yield payload


def _request(method: str, path: str, payload: bytes) -> Request:
    """A request as the RSGI adapter builds it, signed by botocore (header SigV4)."""
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    if method == "PUT":
        headers["content-length"] = str(len(payload))
    signed = AWSRequest(method=method, url=f"http://127.0.0.1:9000{path}", headers=headers)
    UnsignedPayloadAuth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(signed)
    header_list = [(k.lower(), v) for k, v in signed.headers.items()]
    header_list.append(("host", "127.0.0.1:9000"))
    return Request(
        method=method,
        raw_path=path,
        query_string="",
        query=parse_query(""),
        headers=dict(header_list),
        header_list=header_list,
        body=_body(payload),
    )


def _signed(method: str, keys: list[str], payload: bytes = b"") -> list[Request]:
    return [_request(method, f"/bench/{key}", payload) for key in keys]


def _run(pipeline: Pipeline, requests: list[Request], clients: int) -> None:
    """The requests, from `clients` concurrent clients, each sending its next when answered."""

    async def client(mine: list[Request]) -> None:
        for request in mine:
            response = await pipeline(request)
            assert response.status < 300, response.body

    async def batch() -> None:
        await asyncio.gather(*(client(requests[n::clients]) for n in range(clients)))

    asyncio.run(batch())


KEYS = [f"k{n}" for n in range(BATCH)]


@pytest.mark.parametrize("clients", [1, 64])
@pytest.mark.parametrize("method", ["PUT", "GET", "HEAD", "DELETE"])
def test_requests_of_4kib(benchmark, pipeline: Pipeline, method: str, clients: int) -> None:
    def signed() -> tuple[tuple[list[Request]], dict[str, object]]:
        """A round's requests, signed before the clock starts (botocore takes ~40 µs each)."""
        if method != "PUT":  # the keys to read or delete
            _run(pipeline, _signed("PUT", KEYS, PAYLOAD), 64)
        return (_signed(method, KEYS, PAYLOAD if method == "PUT" else b""),), {}

    def once(requests: list[Request]) -> None:
        _run(pipeline, requests, clients)

    benchmark.pedantic(once, setup=signed, rounds=5, warmup_rounds=1)
    per_request = benchmark.stats["mean"] / BATCH * 1e6
    benchmark.extra_info["per_request_us"] = round(per_request, 1)
    store = "PostgreSQL" if "postgres" in benchmark.name else "SQLite"
    print(f"\n{method} 4 KiB, {clients} clients, {store}: {per_request:.0f} µs per request")
