"""A streaming multipart/form-data reader for browser uploads (S3's POST Object).

Fields before the file are read into memory (they are small and bounded); the file field is
handed on as a stream of chunks that ends at the next boundary, so it can go straight to the
object writer like a PUT body. What follows the file is ignored, as S3 does.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from oxstore.s3.errors import S3Error

MAX_FIELDS_BYTES = 64 * 1024  # every field before the file together
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"')


def boundary_of(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        raise S3Error(
            "PreconditionFailed",
            Condition="Bucket POST must be of the enclosure-type multipart/form-data",
        )
    match = _BOUNDARY.search(content_type)
    if not match:
        raise S3Error("MalformedPOSTRequest")
    return match[1].encode()


class FormReader:
    """Reads a form: `fields()` collects fields until the file, then `file` streams it."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._buffer = bytearray()
        self._delimiter = b"\r\n--" + boundary
        self._first = b"--" + boundary
        self._done = False
        self.filename = ""
        self.file_content_type = ""

    async def _fill(self) -> bool:
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            return False
        self._buffer += chunk
        return True

    async def _read_until(self, marker: bytes, limit: int) -> bytes:
        while (at := self._buffer.find(marker)) < 0:
            if len(self._buffer) > limit or not await self._fill():
                raise S3Error("MalformedPOSTRequest")
        found = bytes(self._buffer[:at])
        del self._buffer[: at + len(marker)]
        return found

    async def fields(self) -> dict[str, str]:
        """The fields before the file (names lower-cased; S3 matches them so); the file's
        name and content type are kept in `filename` and `file_content_type`."""
        await self._read_until(self._first, MAX_FIELDS_BYTES)
        fields: dict[str, str] = {}
        budget = MAX_FIELDS_BYTES
        while True:
            ending = await self._read_until(b"\r\n", 2)
            if ending == b"--":
                raise S3Error(
                    "InvalidArgument",
                    "POST requires exactly one file upload per request.",
                    ArgumentName="file",
                    ArgumentValue="0",
                )
            headers = await self._read_until(b"\r\n\r\n", budget)
            name, filename, content_type = _part_headers(headers)
            if name.lower() == "file":
                self.filename = filename or ""
                self.file_content_type = content_type
                return fields
            value = await self._read_until(self._delimiter, budget)
            budget -= len(value) + len(headers)
            if budget < 0:
                raise S3Error("MaxPostPreDataLengthExceeded")
            try:
                fields[name.lower()] = value.decode()
            except UnicodeDecodeError as exc:
                raise S3Error("MalformedPOSTRequest") from exc

    async def file(self) -> AsyncIterator[bytes | memoryview]:
        """The file's bytes, up to the boundary that ends it. Incoming chunks are passed on
        as views, not copied; only the few bytes that might start the boundary are held back
        until the next chunk shows whether they do."""
        delimiter = self._delimiter
        keep = len(delimiter) - 1
        tail = b""  # at most `keep` bytes not yet known to be file data
        chunk: bytes = bytes(self._buffer)  # what arrived with the fields
        self._buffer.clear()
        while True:
            # a boundary starting in the tail ends within the chunk's first `keep` bytes, and
            # the first boundary found there is the first one at all
            joint = tail + chunk[:keep]
            at = joint.find(delimiter)
            if at >= 0:
                if at:
                    yield joint[:at]
                return
            at = chunk.find(delimiter)
            if at >= 0:
                if tail:
                    yield tail
                if at:
                    yield memoryview(chunk)[:at]
                return
            if len(chunk) >= keep:
                if tail:
                    yield tail
                if len(chunk) > keep:
                    yield memoryview(chunk)[: len(chunk) - keep]
                tail = chunk[len(chunk) - keep :]
            else:
                tail = joint  # the whole chunk: shorter than a boundary
                if len(tail) > keep:
                    yield tail[: len(tail) - keep]
                    tail = tail[len(tail) - keep :]
            try:
                chunk = bytes(await anext(self._body))
            except StopAsyncIteration as exc:
                raise S3Error("IncompleteBody") from exc


def _part_headers(raw: bytes) -> tuple[str, str | None, str]:
    name, filename, content_type = None, None, ""
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        header, _, value = line.partition(":")
        header = header.strip().lower()
        if header == "content-disposition":
            params = dict(_DISPOSITION.findall(value))
            name = params.get("name")
            filename = params.get("filename")
        elif header == "content-type":
            content_type = value.strip()
    if name is None:
        raise S3Error("MalformedPOSTRequest")
    return name, filename, content_type
