"""Two worker processes writing versions of one key at once: every write becomes a version, the
versions are totally ordered and exactly one is current."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor


def test_racing_versions_across_workers(server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(tmp_path / "versions-data", ["--workers", "2"])
    setup = server.client(s3={"addressing_style": "path"})
    setup.create_bucket(Bucket="race")
    setup.put_bucket_versioning(Bucket="race", VersioningConfiguration={"Status": "Enabled"})

    def write(i: int) -> tuple[str, str]:
        client = server.client(s3={"addressing_style": "path"})
        body = os.urandom(1000 + i)
        version = client.put_object(Bucket="race", Key="hot", Body=body)["VersionId"]
        if i % 5 == 0:
            client.delete_object(Bucket="race", Key="other")  # markers race too
        return version, hashlib.sha256(body).hexdigest()

    with ThreadPoolExecutor(16) as pool:
        written = list(pool.map(write, range(80)))
    versions = [
        v
        for page in setup.get_paginator("list_object_versions").paginate(
            Bucket="race", Prefix="hot"
        )
        for v in page.get("Versions", [])
    ]
    assert sorted(v["VersionId"] for v in versions) == sorted(v for v, _ in written)
    assert [v["IsLatest"] for v in versions].count(True) == 1
    assert versions[0]["IsLatest"]  # newest first
    current = setup.get_object(Bucket="race", Key="hot")
    assert current["VersionId"] == versions[0]["VersionId"]
    digests = dict(written)
    for version in versions[:10]:
        body = setup.get_object(Bucket="race", Key="hot", VersionId=version["VersionId"])
        assert hashlib.sha256(body["Body"].read()).hexdigest() == digests[version["VersionId"]]
    markers = setup.list_object_versions(Bucket="race", Prefix="other").get("DeleteMarkers", [])
    assert len(markers) == 16 and [m["IsLatest"] for m in markers].count(True) == 1
