"""`?ostor-limits` as the document shows it, and the limits enforced: 503 SlowDown beyond an
operations limit across two worker processes, a service-wide request cap, and GET bodies paced
to a bandwidth limit. The rates are measured over 10 seconds (the feature is the rate)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from tests.admin.helpers import User, admin, create_user
from tests.conftest import Server


def test_limits_are_set_shown_and_removed(server: Server, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    user = create_user(server, "limits@example.com")
    try:
        never = admin(server, "GET", "ostor-limits", emailAddress=user.email)
        assert never.status_code == 404 and "<Code>NoSuchLimits</Code>" in never.text
        made = admin(server, "PUT", "ostor-limits", emailAddress=user.email, ops=None, default="60")
        assert made.status_code == 200, made.text
        shown = admin(server, "GET", "ostor-limits", emailAddress=user.email).json()
        assert shown == {
            "ops:default": "1.00",
            "ops:get": "1.00",
            "ops:put": "1.00",
            "ops:list": "1.00",
            "ops:delete": "1.00",
            "bandwidth:out": "0",
        }
        admin(
            server, "PUT", "ostor-limits", id=user.id, ops=None, default="60", put="3600", list="30"
        )
        shown = admin(server, "GET", "ostor-limits", id=user.id).json()
        assert (shown["ops:put"], shown["ops:list"], shown["ops:get"]) == ("60.00", "0.50", "1.00")
        assert admin(server, "PUT", "ostor-limits", bucket=bucket, bandwidth=None, out="50").ok
        assert (
            admin(server, "GET", "ostor-limits", bucket=bucket).json()["bandwidth:out"] == "50.00"
        )
        both = admin(server, "PUT", "ostor-limits", bucket=bucket, ops=None, bandwidth=None)
        assert both.status_code == 400
        neither = admin(server, "PUT", "ostor-limits", bucket=bucket, default="5")
        assert neither.status_code == 400
        bad = admin(server, "PUT", "ostor-limits", bucket=bucket, ops=None, default="many")
        assert bad.status_code == 400
        # a wrong set of parameters (the document): another kind's, an unknown one, an empty one
        for wrong in (
            {"ops": None, "out": "5"},
            {"bandwidth": None, "default": "5"},
            {"ops": None, "bogus": "5"},
            {"ops": None, "default": ""},
        ):
            refused = admin(server, "PUT", "ostor-limits", bucket=bucket, **wrong)
            assert refused.status_code == 400, wrong
        assert (
            admin(server, "DELETE", "ostor-limits", bucket=bucket, bandwidth=None).status_code
            == 204
        )
        assert admin(server, "GET", "ostor-limits", bucket=bucket).status_code == 404
        assert admin(server, "DELETE", "ostor-limits", id=user.id, ops=None).status_code == 204
        assert admin(server, "GET", "ostor-limits", id=user.id).status_code == 404
        # ops and bandwidth are both optional to DELETE: neither removes both
        admin(server, "PUT", "ostor-limits", id=user.id, ops=None, default="60")
        admin(server, "PUT", "ostor-limits", id=user.id, bandwidth=None, out="50")
        assert admin(server, "DELETE", "ostor-limits", id=user.id).status_code == 204
        assert admin(server, "GET", "ostor-limits", id=user.id).status_code == 404
        missing = admin(server, "GET", "ostor-limits", bucket="no-such-bucket-here")
        assert missing.status_code == 404 and "NoSuchBucket" in missing.text
    finally:
        admin(server, "DELETE", "ostor-users", emailAddress=user.email)


def hammer(
    urls: list[str], seconds: float, threads: int = 8
) -> tuple[int, list[requests.Response]]:
    """GETs the urls round-robin from several threads for `seconds` from the next whole
    second on (the limits' windows are whole seconds); (answers 200, the refusals)."""
    start = int(time.time()) + 1.0
    ok = [0] * threads
    refused: list[requests.Response] = []

    def run(n: int) -> None:
        session = requests.Session()
        while time.time() < start:
            time.sleep(0.001)
        i = n
        while time.time() < start + seconds:
            answer = session.get(urls[i % len(urls)], timeout=10)
            i += threads
            if answer.status_code == 200:
                ok[n] += 1
            elif len(refused) < 1000:
                refused.append(answer)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(ok), refused


def presigned(user_client, bucket: str, key: str) -> str:  # type: ignore[no-untyped-def]
    return str(
        user_client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    )


def assert_rate(admitted: int, per_second: float, seconds: float) -> None:
    rate = admitted / seconds
    assert abs(rate - per_second) <= 0.1 * per_second, f"{rate:.1f}/s for a limit of {per_second}/s"


def limited_user(server: Server, bucket: str) -> tuple[User, list[str]]:
    user = create_user(server, "slow@example.com")
    client = user.client(server)
    client.create_bucket(Bucket=bucket)
    for n in range(4):
        client.put_object(Bucket=bucket, Key=f"k{n}", Body=b"x" * 100)
    return user, [presigned(client, bucket, f"k{n}") for n in range(4)]


def test_an_operations_limit_holds_across_two_workers(
    server_factory: Callable[..., Server],
) -> None:
    srv = server_factory(extra_args=["--workers", "2"])
    user, urls = limited_user(srv, "limited")
    put = admin(srv, "PUT", "ostor-limits", emailAddress=user.email, ops=None, get="1200")
    assert put.status_code == 200
    time.sleep(2.5)  # both workers read the limits table anew
    admitted, refused = hammer(urls, 10)
    assert_rate(admitted, 20, 10)
    assert refused, "nothing was refused"
    first = refused[0]
    assert first.status_code == 503 and "<Code>SlowDown</Code>" in first.text
    assert int(first.headers["retry-after"]) >= 1
    # other kinds of operations are not this kind's: listing goes on
    assert user.client(srv).list_objects_v2(Bucket="limited")["KeyCount"] == 4


def test_the_service_wide_request_cap(server_factory: Callable[..., Server]) -> None:
    srv = server_factory(extra_args=["--workers", "2", "--max-requests-per-second", "30"])
    client = srv.client()
    client.create_bucket(Bucket="capped")
    client.put_object(Bucket="capped", Key="k", Body=b"x")
    admitted, refused = hammer([presigned(client, "capped", "k")], 10)
    assert_rate(admitted, 30, 10)
    assert refused and refused[0].status_code == 503


def test_get_bodies_are_paced_to_a_bandwidth_limit(server: Server, s3, bucket: str) -> None:  # type: ignore[no-untyped-def]
    body = b"b" * (1000 * 1024)  # 1000 kB at 100 kB/s: 10 seconds
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    s3.put_object(Bucket=bucket, Key="small", Body=b"s" * 1000)
    assert admin(server, "PUT", "ostor-limits", bucket=bucket, bandwidth=None, out="100").ok
    try:
        started = time.monotonic()
        got = s3.get_object(Bucket=bucket, Key="big")["Body"].read()
        elapsed = time.monotonic() - started
        assert got == body
        assert_rate(len(body) / 1024, 100, elapsed)
    finally:
        admin(server, "DELETE", "ostor-limits", bucket=bucket, bandwidth=None)
    started = time.monotonic()
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body
    assert time.monotonic() - started < 5  # unpaced again
