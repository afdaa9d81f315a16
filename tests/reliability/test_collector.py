"""The collector keeps up: one pass drains the whole garbage backlog, and multipart uploads
left unfinished past --abort-uploads-after are aborted and their parts removed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from oxstore.app import build_services, collect_garbage
from oxstore.config import Config
from oxstore.server import prepare
from tests.meta.helpers import bucket_record, object_record

BACKLOG = 2_500  # more than one batch of the collector


def test_one_pass_drains_a_backlog_of_several_batches(tmp_path: Path) -> None:
    config, _ = prepare(Config(data_dir=str(tmp_path), gc_grace=0.0))
    services = build_services(config)
    objects = services.data.drives[0].objects

    async def scenario() -> tuple[int, int]:
        await services.meta.create_bucket(bucket_record("b"))
        for n in range(BACKLOG):
            data_id = f"{n:032x}"
            Path(services.data.drives[0].file(data_id)).write_bytes(b"x")
            await services.meta.put_object(object_record("b", f"k{n}", data_id=data_id))
            await services.meta.delete_object("b", f"k{n}")  # its data file becomes garbage
        first = await collect_garbage(services, time.time() + 1)
        return first, await collect_garbage(services, time.time() + 1)

    assert asyncio.run(scenario()) == (BACKLOG, 0)
    assert not any(f for fan in objects.iterdir() for f in fan.iterdir())


def test_abandoned_uploads_are_aborted_and_their_parts_removed(server_factory) -> None:
    args = ["--abort-uploads-after", "2", "--gc-grace", "0", "--gc-interval", "0.2"]
    srv = server_factory(extra_args=[*args, "--min-part-size", "1"])
    s3 = srv.client(s3={"addressing_style": "path"})
    s3.create_bucket(Bucket="abandoned")
    upload = s3.create_multipart_upload(Bucket="abandoned", Key="left")["UploadId"]
    s3.upload_part(
        Bucket="abandoned", Key="left", UploadId=upload, PartNumber=1, Body=b"p" * 40_000
    )
    objects = Path(srv.data_dir) / ".oxstore" / "objects"

    def files() -> int:
        return sum(1 for fan in objects.iterdir() for _ in fan.iterdir())

    assert files() == 1
    deadline = time.monotonic() + 30
    while (files() or s3.list_multipart_uploads(Bucket="abandoned").get("Uploads")) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="abandoned")
    assert files() == 0
    fresh = s3.create_multipart_upload(Bucket="abandoned", Key="fresh")["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="abandoned")["Uploads"]] == [
        fresh
    ]
