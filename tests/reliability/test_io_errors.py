"""A disk that fails: EIO on a data file's fsync, on its directory's fsync, or on its rename.
The request fails, nothing of it stays (no temp file, no data file, no object), the object it
would have replaced is still served, and nothing reports success later. The errors are injected
by an LD_PRELOAD shim the test compiles (faults/eio.c)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, free_port, temp_files
from tests.s3.helpers import expect_error

SHIM = Path(__file__).parent / "faults" / "eio.c"
BIG = 100_000  # past the inline threshold: a data file of its own


def data_files(data_dir: Path) -> set[Path]:
    return {p for p in (data_dir / ".oxstore" / "objects").rglob("*") if p.is_file()}


@pytest.fixture
def failing_disk(
    tmp_path: Path, meta_args: Callable[[Path], list[str]]
) -> Iterator[tuple[Server, Path]]:
    """A server whose data files' fsync and rename fail while the test arms them."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.fail("a C compiler is needed to build the fault shim")
    shim = tmp_path / "eio.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(shim), str(SHIM), "-ldl"], check=True
    )
    faults = tmp_path / "faults"
    faults.mkdir()
    data_dir = tmp_path / "data"
    srv = Server(data_dir, free_port(), meta_args(data_dir))
    srv.extra_env = {"LD_PRELOAD": str(shim), "OXSTORE_FAULTS": str(faults)}
    srv.start()
    try:
        yield srv, faults
    finally:
        srv.stop()


@pytest.mark.parametrize("call", ["fsync", "dirsync", "rename"])
def test_an_io_error_fails_the_write_and_leaves_nothing(failing_disk, call: str) -> None:  # type: ignore[no-untyped-def]
    srv, faults = failing_disk
    s3 = srv.client(retries={"max_attempts": 1})
    s3.create_bucket(Bucket="disk")
    s3.put_object(Bucket="disk", Key="kept", Body=b"old" * BIG)
    before = data_files(srv.data_dir)
    (faults / call).touch()
    try:
        expect_error("InternalError", 500, s3.put_object, Bucket="disk", Key="new", Body=b"n" * BIG)
        expect_error(
            "InternalError", 500, s3.put_object, Bucket="disk", Key="kept", Body=b"x" * BIG
        )
        upload = s3.create_multipart_upload(Bucket="disk", Key="parts")["UploadId"]
        expect_error(
            "InternalError",
            500,
            s3.upload_part,
            Bucket="disk",
            Key="parts",
            UploadId=upload,
            PartNumber=1,
            Body=b"p" * BIG,
        )
        # reads go on while the disk fails writes
        assert s3.get_object(Bucket="disk", Key="kept")["Body"].read() == b"old" * BIG
    finally:
        (faults / call).unlink()
    assert temp_files(srv.data_dir) == []
    assert data_files(srv.data_dir) == before
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="disk")["Contents"]] == ["kept"]
    assert s3.list_parts(Bucket="disk", Key="parts", UploadId=upload).get("Parts", []) == []
    expect_error("NoSuchKey", 404, s3.get_object, Bucket="disk", Key="new")
    # the disk is well again: writes work, and what failed never appears
    s3.put_object(Bucket="disk", Key="after", Body=b"a" * BIG)
    assert s3.get_object(Bucket="disk", Key="after")["Body"].read() == b"a" * BIG
    expect_error("NoSuchKey", 404, s3.get_object, Bucket="disk", Key="new")
    assert s3.get_object(Bucket="disk", Key="kept")["Body"].read() == b"old" * BIG
    assert "fsync" in srv.log() or "rename" in srv.log()  # said to the operator, not the client
