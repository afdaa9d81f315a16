"""The streaming form reader: fields, then the file up to its boundary, whatever the chunking."""

from __future__ import annotations

import asyncio
import os

import pytest

from oxstore.http.multipart_form import FormReader
from oxstore.s3.errors import S3Error

BOUNDARY = b"xYzBoundary"


def _form(fields: dict[str, str], content: bytes, trailer: bytes = b"--\r\n") -> bytes:
    parts = b"".join(
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="'
        + k.encode()
        + b'"\r\n\r\n'
        + v.encode()
        + b"\r\n"
        for k, v in fields.items()
    )
    parts += b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="a.bin"'
    parts += b"\r\nContent-Type: image/png\r\n\r\n" + content + b"\r\n--" + BOUNDARY + trailer
    return parts


def _read(body: bytes, sizes: list[int]) -> tuple[dict[str, str], bytes, str]:
    async def chunks():  # type: ignore[no-untyped-def]
        at, i = 0, 0
        while at < len(body):
            n = sizes[i % len(sizes)]
            yield body[at : at + n]
            at += n
            i += 1

    async def run() -> tuple[dict[str, str], bytes, str]:
        reader = FormReader(chunks(), BOUNDARY)
        fields = await reader.fields()
        data = b"".join([bytes(c) async for c in reader.file()])
        return fields, data, reader.filename

    return asyncio.run(run())


@pytest.mark.parametrize("sizes", [[1], [2, 3], [7], [13, 1], [64], [4096], [10**6]])
def test_any_chunking_gives_the_same_form(sizes: list[int]) -> None:
    # file content that contains near-misses of the boundary (the byte after the first one is
    # not random: a "y" there, one time in 256, would make it the boundary itself)
    content = os.urandom(3000) + b"\r\n--xYzBoundar!" + os.urandom(500) + b"\r\n--" + b"\r\n"
    fields, data, filename = _read(
        _form({"key": "k/${filename}", "acl": "private"}, content), sizes
    )
    assert fields == {"key": "k/${filename}", "acl": "private"}
    assert data == content and filename == "a.bin"


@pytest.mark.parametrize("sizes", [[1], [5], [4096]])
def test_empty_file_and_cut_short_forms(sizes: list[int]) -> None:
    assert _read(_form({"key": "k"}, b""), sizes)[1] == b""
    cut = _form({"key": "k"}, b"data")[:-20]
    with pytest.raises(S3Error) as info:
        _read(cut, sizes)
    assert info.value.code == "IncompleteBody"
