"""Where object bytes live: data files named by id, written through the native ObjectWriter.

Paths derive from ids, never from keys. A payload streams into DATA/.oxstore/tmp/<id>; the
writer verifies, fsyncs and renames it to DATA/.oxstore/objects/<id[:2]>/<id>. Whatever is in
tmp/ at start-up is a leftover of a crash and is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from oxstore._native import ObjectReader, ObjectWriter

if TYPE_CHECKING:
    from oxstore._native import ChunkedSpec, WriteResult

FANOUT = 256
READ_CHUNK = 4 * 1024 * 1024  # bytes per read of a streamed response: bounds memory per stream


class Piece(NamedTuple):
    """A byte range [start, end) of one data file."""

    data_id: str
    start: int
    end: int


class NoSpaceError(Exception):
    """The disk is below the free-space floor: new data is refused before the disk is truly
    full, so that the metadata always has room and DELETE can always free space."""


class DataLostError(Exception):
    """A data file a record needs is missing or shorter than the record says (found before
    any byte of the answer is sent: the request fails as a whole, never with a short body)."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DataStore:
    def __init__(self, objects_dir: Path, tmp_dir: Path, min_free: int = 0) -> None:
        self.objects_dir = objects_dir
        self.tmp_dir = tmp_dir
        self.min_free = min_free  # bytes the disk keeps free of new data

    def check_room(self, size: int | None) -> None:
        """NoSpaceError unless size more bytes (0 if unknown) leave the floor free."""
        if not self.min_free:
            return
        disk = os.statvfs(self.tmp_dir)
        if disk.f_bavail * disk.f_frsize - (size or 0) < self.min_free:
            raise NoSpaceError

    def prepare(self) -> None:
        """Creates the layout and removes crash leftovers; run once, before workers start."""
        if self.tmp_dir.exists():
            shutil.rmtree(self.tmp_dir)
        self.tmp_dir.mkdir(parents=True)
        for i in range(FANOUT):
            (self.objects_dir / f"{i:02x}").mkdir(parents=True, exist_ok=True)
        fsync_dir(self.objects_dir)
        fsync_dir(self.tmp_dir.parent)

    def path_for(self, data_id: str) -> str:
        return str(self.objects_dir / data_id[:2] / data_id)

    def check(self, pieces: Sequence[Piece]) -> None:
        """DataLostError unless every piece's file is there and long enough."""
        for piece in pieces:
            try:
                size = os.stat(self.path_for(piece.data_id)).st_size
            except FileNotFoundError:
                raise DataLostError(f"data file {piece.data_id} is missing") from None
            if size < piece.end:
                raise DataLostError(
                    f"data file {piece.data_id} holds {size} bytes, its record {piece.end}"
                )

    def remove(self, data_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path_for(data_id))

    async def write(
        self,
        body: AsyncIterator[bytes | memoryview],
        algorithms: Sequence[str],
        chunked: ChunkedSpec | None,
        expected: dict[str, bytes],
        expected_size: int | None,
        max_size: int | None,
        inline_limit: int = 0,
    ) -> tuple[str, WriteResult]:
        """Streams body into a new data file; returns its id and what the writer measured.

        A payload of at most inline_limit bytes comes back as result["inline"] and the id is
        "" (no file). On any failure (bad digest, short body, client gone) nothing is left.
        """
        self.check_room(expected_size)
        data_id = uuid.uuid4().hex
        writer = ObjectWriter(
            str(self.tmp_dir / data_id), algorithms, chunked, max_size, inline_limit
        )
        try:
            async for chunk in body:
                if writer.would_block(len(chunk)):  # the disk is behind: wait off the loop
                    await asyncio.to_thread(writer.feed, chunk)
                else:
                    writer.feed(chunk)
            final = self.path_for(data_id)
            if writer.stays_inline():  # no file to write and sync: no thread hop
                result = writer.finish(final, expected, expected_size)
            else:
                result = await asyncio.to_thread(writer.finish, final, expected, expected_size)
        except BaseException:
            writer.abort()
            raise
        return ("" if result["inline"] is not None else data_id), result

    async def read(
        self, pieces: Sequence[Piece], chunk_size: int = READ_CHUNK
    ) -> AsyncIterator[bytes]:
        """The bytes of pieces in order, read off the event loop one chunk at a time."""
        for piece in pieces:
            reader = await asyncio.to_thread(ObjectReader, self.path_for(piece.data_id))
            try:
                at = piece.start
                while at < piece.end:
                    chunk = await asyncio.to_thread(
                        reader.read, at, min(chunk_size, piece.end - at)
                    )
                    if not chunk:
                        raise OSError(f"data file {piece.data_id} is shorter than its record")
                    at += len(chunk)
                    yield chunk
            finally:
                reader.close()
