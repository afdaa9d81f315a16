"""`?ostor-usage`: statistics objects whose counters match exactly the operations a test made,
across a clean restart (a stopping worker's counts are kept)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.admin.helpers import User, admin, create_user
from tests.conftest import Server, free_port

NAME = re.compile(r"^s3-usage-[0-9a-f]{16}-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z-(\d+)$")


def counters(server: Server, bucket: str, user: str, wait: float = 30) -> dict[str, int]:
    """The counters of (bucket, user) summed over every statistics object, once the objects
    stop changing."""
    deadline = time.monotonic() + wait
    found: dict[str, int] = {}
    while time.monotonic() < deadline:
        listed = admin(server, "GET", "ostor-usage").json()
        assert listed["truncated"] is False and listed["nr_items"] == len(listed["items"])
        summed = {"put": 0, "get": 0, "list": 0, "other": 0, "uploaded": 0, "downloaded": 0}
        for name in listed["items"]:
            assert NAME.match(name), name
            body = admin(server, "GET", "ostor-usage", obj=name).json()
            assert body["fmt_version"] == 1 and body["nr_items"] == len(body["items"])
            assert name.endswith(f"-{body['period']}")
            for item in body["items"]:
                if item["key"] == {"bucket": bucket, "epoch": 0, "user_id": user, "tag": ""}:
                    for kind, count in item["counters"]["ops"].items():
                        summed[kind] += count
                    for kind, count in item["counters"]["net_io"].items():
                        summed[kind] += count
        if summed == found and any(summed.values()):
            return found
        found = summed
        time.sleep(1.5)
    return found


def make_operations(server: Server, user: User, bucket: str) -> dict[str, int]:
    """3 PUTs (1000 + 2000 + 3000 bytes), 2 GETs (1000 + 3000 bytes back), 1 listing, 1
    DELETE and 1 HEAD of a bucket (others), by presigned URLs: exact lengths on the wire.
    Returns the counters they make (with the bucket's creation before them)."""
    s3 = user.client(server)

    def url(method: str, **params: str) -> str:
        return str(s3.generate_presigned_url(method, Params={"Bucket": bucket, **params}))

    answers = [
        requests.put(url("put_object", Key=f"k{n}"), data=b"x" * size, timeout=10)
        for n, size in enumerate((1000, 2000, 3000))
    ]
    answers.append(requests.get(url("get_object", Key="k0"), timeout=10))
    answers.append(requests.get(url("get_object", Key="k2"), timeout=10))
    answers.append(requests.get(url("list_objects_v2"), timeout=10))
    answers.append(requests.delete(url("delete_object", Key="k1"), timeout=10))
    answers.append(requests.head(url("head_bucket"), timeout=10))
    assert all(answer.ok for answer in answers)
    assert len(answers[3].content) == 1000 and len(answers[4].content) == 3000
    downloaded = sum(len(answer.content) for answer in answers)  # the listing's XML too
    return {"put": 3, "get": 2, "list": 1, "other": 3, "uploaded": 6000, "downloaded": downloaded}


def test_statistics_objects_count_exactly_what_was_done(
    tmp_path: Path, meta_args: Callable[[Path], list[str]]
) -> None:
    data_dir = tmp_path / "data"
    args = ["--usage", "--usage-period", "2", "--usage-cache-timeout", "0.5", *meta_args(data_dir)]
    srv = Server(data_dir, free_port(), args).start()
    try:
        user = create_user(srv, "counted@example.com")
        user.client(srv).create_bucket(Bucket="counted")  # an "other" operation
        expected = make_operations(srv, user, "counted")
        assert counters(srv, "counted", user.id) == expected
        # ListBuckets counts for the user, with no bucket
        user.client(srv).list_buckets()
        assert counters(srv, "", user.id)["list"] == 1
        # &after= lists the names after one, in order (the newest last)
        names = admin(srv, "GET", "ostor-usage").json()["items"]
        assert names == sorted(names) and len(names) >= 2
        after = admin(srv, "GET", "ostor-usage", after=names[0]).json()
        assert after["items"] == names[1:] and after["truncated"] is False
        assert admin(srv, "GET", "ostor-usage", after=names[-1]).json()["items"] == []
        # one object deleted is gone from the list
        name = admin(srv, "GET", "ostor-usage").json()["items"][0]
        assert admin(srv, "DELETE", "ostor-usage", obj=name).status_code == 204
        assert name not in admin(srv, "GET", "ostor-usage").json()["items"]
        assert admin(srv, "DELETE", "ostor-usage", obj=name).status_code == 404
        assert admin(srv, "GET", "ostor-usage", obj=name).status_code == 404
    finally:
        srv.stop()


def test_a_clean_stop_keeps_every_count(
    tmp_path: Path, meta_args: Callable[[Path], list[str]]
) -> None:
    """A cache timeout far beyond the test: the counts reach the store only as the workers
    stop, and the next start writes them out."""
    data_dir = tmp_path / "data"
    slow = ["--usage", "--usage-period", "1", "--usage-cache-timeout", "3600"]
    srv = Server(data_dir, free_port(), [*slow, "--workers", "2", *meta_args(data_dir)]).start()
    try:
        user = create_user(srv, "kept@example.com")
        user.client(srv).create_bucket(Bucket="kept")
        expected = make_operations(srv, user, "kept")
    finally:
        srv.stop()
    fast = ["--usage", "--usage-period", "1", "--usage-cache-timeout", "0.5"]
    again = Server(data_dir, free_port(), [*fast, *meta_args(data_dir)]).start()
    try:
        assert counters(again, "kept", user.id) == expected
        sample = admin(again, "GET", "ostor-usage").json()["items"][0]
        body = json.loads(admin(again, "GET", "ostor-usage", obj=sample).content)
        assert set(body) == {"fmt_version", "service_id", "start_ts", "period", "nr_items", "items"}
    finally:
        again.stop()
