"""In-process cost of whole requests through the pipeline (no granian, no sockets): the µs a
4 KiB PUT, GET, HEAD and DELETE cost the server's Python and native code, per request.

    python -m pytest bench/micro/test_request_bench.py --benchmark-columns=mean,ops

Each round runs BATCH requests in one event-loop run; `per_request_us` in the extra info is the
mean divided by BATCH. PUT includes its durable commit (group commit, one fsync per round of
concurrent writes: the batch runs its PUTs one after another, so each waits for its own fsync).
"""

from __future__ import annotations

import asyncio
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

ACCESS, SECRET = "BENCHACCESSKEY000001", "bench-secret-key-0123456789"
BATCH = 200
PAYLOAD = os.urandom(4096)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    os.environ.update(OXSTORE_ROOT_USER=ACCESS, OXSTORE_ROOT_PASSWORD=SECRET)
    config = Config(data_dir=str(tmp_path_factory.mktemp("request-bench") / "data"))
    prepare(config)
    app = OxstoreApp(config)
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


def _run(pipeline: Pipeline, method: str, keys: list[str], payload: bytes = b"") -> None:
    requests = [_request(method, f"/bench/{key}", payload) for key in keys]

    async def batch() -> None:
        for request in requests:
            response = await pipeline(request)
            assert response.status < 300, response.body

    asyncio.run(batch())


KEYS = [f"k{n}" for n in range(BATCH)]


@pytest.mark.parametrize("method", ["PUT", "GET", "HEAD", "DELETE"])
def test_requests_of_4kib(benchmark, pipeline: Pipeline, method: str) -> None:
    if method != "PUT":
        _run(pipeline, "PUT", KEYS, PAYLOAD)

    def once() -> None:
        if method == "DELETE":
            _run(pipeline, "PUT", KEYS, PAYLOAD)  # counted: the figure is PUT + DELETE
        _run(pipeline, method, KEYS, PAYLOAD if method == "PUT" else b"")

    benchmark.pedantic(once, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["per_request_us"] = round(benchmark.stats["mean"] / BATCH * 1e6, 1)
    print(f"\n{method} 4 KiB: {benchmark.stats['mean'] / BATCH * 1e6:.0f} µs per request")
