"""Where object bytes live: data files named by id on the drives of a set, written through the
native ObjectWriter in the layout a storage policy asks for, read back through the native
readers (sharded layouts: every block verified, rebuilt from parity when it must be).

Paths derive from ids, never from keys. A payload streams into DRIVE/.oxstore/tmp/<id> (on
each drive of its layout); the writer verifies, fsyncs and renames it to
DRIVE/.oxstore/objects/<id[:2]>/<id>. Whatever is in tmp/ at start-up is a leftover of a crash
and is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

import msgspec

from oxstore._native import (
    SEALED_BLOCK,
    ErasureReader,
    NativeS3Error,
    ObjectReader,
    ObjectWriter,
    is_cached,
    sealed_size,
)
from oxstore.data.drives import Drive, DriveSet
from oxstore.data.layouts import Spec, default_spec, place
from oxstore.meta.records import PLAIN, Layout, Plain, Sharded

if TYPE_CHECKING:
    from oxstore._native import ChunkedSpec, ShardSpec, WriteResult

log = logging.getLogger(__name__)
READ_CHUNK = 4 * 1024 * 1024  # bytes per read of a streamed response: bounds memory per stream
VERIFIED_KEPT = 4096  # plain files remembered as read whole and verified, per worker


def new_data_id() -> str:
    """A fresh data id: random, so paths say nothing of keys and never repeat."""
    return uuid.uuid4().hex


class Piece(NamedTuple):
    """A byte range [start, end) of one data file of `size` bytes laid out as `layout`."""

    data_id: str
    start: int
    end: int
    layout: Layout = PLAIN
    size: int = 0
    seal: bytes | None = None  # the data key its bytes are sealed under (size: plaintext's)

    @property
    def stored_size(self) -> int:
        """The bytes the data file (or its shards) holds."""
        return self.size if self.seal is None else sealed_size(self.size)


class NoSpaceError(Exception):
    """A drive is below the free-space floor: new data is refused before the disk is truly
    full, so that the metadata always has room and DELETE can always free space."""


class DataLostError(Exception):
    """A data file a record needs is missing or shorter than the record says, or too few
    shards of it are left (found before any byte of the answer is sent: the request fails as
    a whole, never with a short body)."""


class DataStore:
    def __init__(self, drives: DriveSet, specs: dict[str, Spec], min_free: int = 0) -> None:
        self.drives = drives
        self.specs = specs  # storage policy id -> its layout
        self.default = default_spec(len(drives))
        self.min_free = min_free  # bytes each drive keeps free of new data
        # plain files with sums this worker read whole, verified (most recent last)
        self.verified: OrderedDict[str, None] = OrderedDict()
        # where damaged sharded data is queued for healing (the metadata's heal queue)
        self.damaged: Callable[[str, Sharded, int], Awaitable[None]] | None = None

    def spec_for(self, policy_id: str) -> Spec:
        """The layout of new data in a bucket of this storage policy."""
        return self.specs.get(policy_id, self.default)

    def check_room(self, slots: Sequence[int], size: int | None) -> None:
        """NoSpaceError unless `size` more bytes (0 if unknown) on each drive of `slots` leave
        the floor free."""
        if not self.min_free:
            return
        online = self.drives.online()
        for slot in slots:
            try:
                disk = os.statvfs(self.drives[slot].objects)
            except OSError:  # gone since it was seen: the write drops its shard
                continue
            if online[slot] and disk.f_bavail * disk.f_frsize - (size or 0) < self.min_free:
                raise NoSpaceError

    def path_for(self, piece: Piece) -> str:
        """The file of a plain piece."""
        assert isinstance(piece.layout, Plain)
        return self.drives[piece.layout.drive].file(piece.data_id)

    def served_by_file(self, piece: Piece) -> bool:
        """Whether the HTTP server may send the plain piece's bytes from its file itself: a
        file without sums, or one this worker has read whole through the verifying reader
        whose range the page cache still holds. Everything else goes through the verifying
        reader, which reads ahead for data on the disk and leaves it in the page cache."""
        assert isinstance(piece.layout, Plain)
        if piece.seal is not None:  # the file holds ciphertext
            return False
        if not piece.layout.sums:
            return True
        if piece.data_id not in self.verified:
            return False
        self.verified.move_to_end(piece.data_id)
        return is_cached(self.path_for(piece), piece.start, piece.end)

    def _verified_whole(self, piece: Piece) -> None:
        self.verified[piece.data_id] = None
        if len(self.verified) > VERIFIED_KEPT:
            self.verified.popitem(last=False)

    def _failed_verification(self, piece: Piece) -> None:
        """A block failed its sums: its pages must not stay in the page cache, where the
        HTTP server would take them for verified ones."""
        self.verified.pop(piece.data_id, None)
        with contextlib.suppress(OSError):
            fd = os.open(self.path_for(piece), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)

    def check(self, pieces: Sequence[Piece]) -> None:
        """DataLostError unless every piece's file is there and long enough (a sharded piece:
        at least k of its shard files are there)."""
        for piece in pieces:
            if isinstance(piece.layout, Sharded):
                self._check_shards(piece.data_id, piece.layout)
                continue
            try:
                size = os.stat(self.path_for(piece)).st_size
            except FileNotFoundError:
                raise DataLostError(f"data file {piece.data_id} is missing") from None
            if size < piece.end:
                raise DataLostError(
                    f"data file {piece.data_id} holds {size} bytes, its record {piece.end}"
                )

    def _check_shards(self, data_id: str, layout: Sharded) -> None:
        present = sum(os.path.exists(p) for p in self._shard_paths(data_id, layout) if p)
        if present < layout.k:
            raise DataLostError(f"{present} of the {layout.k + layout.m} shards of {data_id} left")

    def _shard_paths(self, data_id: str, layout: Sharded) -> list[str | None]:
        online = self.drives.online()
        return [self.drives[s].file(data_id) if online[s] else None for s in layout.drives]

    def files(self, before: float) -> list[tuple[str, str]]:
        """(id, path) of every data file on the drives online last changed before `before`:
        the candidates for an orphan sweep."""
        found = []
        online = self.drives.online()
        for drive in self.drives.drives:
            if online[drive.slot]:
                found += _files_of(drive, before)
        return found

    def remove(self, data_id: str) -> None:
        """Removes the data file from every drive (a drive holds at most one shard of it)."""
        for drive in self.drives.drives:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(drive.file(data_id))

    async def write(
        self,
        spec: Spec,
        body: AsyncIterator[bytes | memoryview],
        algorithms: Sequence[str],
        chunked: ChunkedSpec | None,
        expected: dict[str, bytes],
        expected_size: int | None,
        max_size: int | None,
        inline_limit: int = 0,
        seal: bytes | None = None,
        data_id: str | None = None,
    ) -> tuple[str, Layout, WriteResult]:
        """Streams body into a new data file laid out as spec asks; returns its id, layout and
        what the writer measured. seal: a data key to encrypt the bytes under (digests and
        sizes measured are the plaintext's); data_id: the new file's id, when the key was made
        for it (new_data_id), else a fresh one.

        A payload of at most inline_limit bytes comes back as result["inline"] (sealed, with
        seal) and the id is "" (no file). On any failure (bad digest, short body, client gone,
        write quorum lost) nothing is left.
        """
        data_id = data_id or new_data_id()
        layout = self._layout(spec, data_id)
        if seal is not None and isinstance(layout, Sharded):
            layout = msgspec.structs.replace(layout, stripe=SEALED_BLOCK)  # a sealed block each
        elif seal is not None:
            layout = msgspec.structs.replace(layout, sums=False)  # the packages' tags verify
        if isinstance(layout, Plain):
            self.check_room([layout.drive], expected_size)
        else:
            self.check_room(layout.drives, _shard_bytes(expected_size, spec.k))
        writer, finish = self._writer(
            data_id, layout, spec, algorithms, chunked, max_size, inline_limit, seal
        )
        try:
            async for chunk in body:
                if writer.would_block(len(chunk)):  # the disk is behind: wait off the loop
                    await asyncio.to_thread(writer.feed, chunk)
                else:
                    writer.feed(chunk)
            if writer.stays_inline():  # no file to write and sync: no thread hop
                result = finish(expected, expected_size)
            else:
                result = await asyncio.to_thread(finish, expected, expected_size)
        except BaseException:
            writer.abort()
            raise
        if result["inline"] is not None:
            return "", PLAIN, result
        written = result["shards"]
        if written is not None and not all(written):
            assert isinstance(layout, Sharded)
            self.drives.forget()  # a drive failed: look at the markers again
            missing = [i for i, done in enumerate(written) if not done]
            await self.report_damage(data_id, layout, result["stored_size"], missing)
        return data_id, layout, result

    def _layout(self, spec: Spec, data_id: str) -> Layout:
        layout = place(spec, self.drives, data_id)
        if isinstance(layout, Plain) and len(self.drives) > 1:
            # one copy: on a drive that is online, the placement's or the next one's
            online = self.drives.online()
            for step in range(len(self.drives)):
                slot = (layout.drive + step) % len(self.drives)
                if online[slot]:
                    return Plain(drive=slot, sums=True)
        return layout

    def _writer(
        self,
        data_id: str,
        layout: Layout,
        spec: Spec,
        algorithms: Sequence[str],
        chunked: ChunkedSpec | None,
        max_size: int | None,
        inline_limit: int,
        seal: bytes | None,
    ) -> tuple[ObjectWriter, _Finish]:
        gateway = self.drives.gateway
        if isinstance(layout, Plain):
            drive = self.drives[layout.drive]
            temp = str(drive.tmp(gateway) / data_id)
            sums = data_id if layout.sums else None
            writer = ObjectWriter(
                temp, algorithms, chunked, max_size, inline_limit, sums=sums, seal=seal
            )
            final = drive.file(data_id)
            return writer, lambda expected, size: writer.finish(final, expected, size)
        online = self.drives.online()
        drives = [self.drives[s] if online[s] else None for s in layout.drives]
        shards: ShardSpec = {
            "k": layout.k,
            "m": layout.m,
            "quorum": spec.quorum,
            "key": data_id,
            "temp_paths": [str(d.tmp(gateway) / data_id) if d else None for d in drives],
        }
        writer = ObjectWriter("", algorithms, chunked, max_size, inline_limit, shards, seal=seal)
        finals = [d.file(data_id) if d else None for d in drives]
        return writer, lambda expected, size: writer.finish("", expected, size, finals)

    async def read(
        self, pieces: Sequence[Piece], chunk_size: int = READ_CHUNK
    ) -> AsyncIterator[bytes]:
        """The bytes of pieces in order, read off the event loop one chunk at a time, the next
        chunk read while the last one is sent."""
        for piece in pieces:
            reader = await asyncio.to_thread(self._reader, piece)
            ahead: asyncio.Future[bytes] | None = None
            try:
                at = piece.start
                ahead = _read_ahead(reader, at, min(chunk_size, piece.end - at))
                while ahead is not None:
                    chunk = await ahead
                    if not chunk:
                        raise OSError(f"data file {piece.data_id} is shorter than its record")
                    at += len(chunk)
                    ahead = None
                    if at < piece.end:
                        ahead = _read_ahead(reader, at, min(chunk_size, piece.end - at))
                    yield chunk
                damaged = reader.damaged() if isinstance(reader, ErasureReader) else []
            except NativeS3Error:
                if _summed(piece):
                    self._failed_verification(piece)
                raise
            finally:
                if ahead is not None:  # the stream was left early: the read ends first
                    with contextlib.suppress(Exception):
                        await ahead
                reader.close()
            if damaged:
                assert isinstance(piece.layout, Sharded)
                await self.report_damage(piece.data_id, piece.layout, piece.stored_size, damaged)
            elif _summed(piece) and piece.start == 0 and piece.end == piece.size:
                self._verified_whole(piece)

    async def report_damage(
        self, data_id: str, layout: Sharded, size: int, shards: list[int]
    ) -> None:
        """Shards found missing, short or corrupt (and rebuilt from the others for the
        read): logged, and queued for healing."""
        slots = [layout.drives[i] for i in shards]
        log.warning("data %s: shards %s (drives %s) are damaged", data_id, shards, slots)
        if self.damaged is not None:
            await self.damaged(data_id, layout, size)

    def verify(
        self, data_id: str, layout: Layout, size: int, seal: bytes | None = None
    ) -> list[int]:
        """Reads every block. Sharded data: returns the shards missing (a drive offline too),
        short or corrupt, and raises when fewer than k are good; a plain file with sums (or
        sealed, under the data key `seal`, size the plaintext's: every package opened):
        returns its corrupt or short MiB blocks, and raises when it or its sums are gone."""
        reader: ObjectReader | ErasureReader
        if isinstance(layout, Plain) and seal is not None:
            reader = ObjectReader(self.drives[layout.drive].file(data_id), size, seal=seal)
        elif isinstance(layout, Plain):
            reader = ObjectReader(self.drives[layout.drive].file(data_id), size, data_id)
        else:
            reader = self._shard_reader(data_id, layout, size)
        try:
            return reader.verify()
        finally:
            reader.close()

    def heal(self, data_id: str, layout: Sharded, size: int) -> tuple[list[int], list[int]]:
        """Rebuilds the damaged shards that are on drives online, each written whole beside
        the old one and renamed over it; returns those rebuilt and those left (offline)."""
        paths = self._shard_paths(data_id, layout)
        # a name of this process's own: `oxstore scrub` may heal beside a running server
        name = f"{data_id}.heal-{os.getpid()}"
        temps = [
            str(self.drives[slot].tmp(self.drives.gateway) / name) if path else None
            for slot, path in zip(layout.drives, paths, strict=True)
        ]
        reader = ErasureReader(paths, layout.k, layout.m, layout.stripe, size, data_id)
        try:
            return reader.heal(temps)
        finally:
            reader.close()

    def _reader(self, piece: Piece) -> ObjectReader | ErasureReader:
        layout = piece.layout
        if isinstance(layout, Plain):
            if piece.seal is not None:
                return ObjectReader(self.path_for(piece), piece.size, seal=piece.seal)
            if layout.sums:
                return ObjectReader(self.path_for(piece), piece.size, piece.data_id)
            return ObjectReader(self.path_for(piece))
        return self._shard_reader(piece.data_id, layout, piece.size, piece.seal)

    def _shard_reader(
        self, data_id: str, layout: Sharded, size: int, seal: bytes | None = None
    ) -> ErasureReader:
        """Size: the plaintext's with seal, else what the shards hold."""
        paths = self._shard_paths(data_id, layout)
        return ErasureReader(paths, layout.k, layout.m, layout.stripe, size, data_id, seal=seal)


def _summed(piece: Piece) -> bool:
    return isinstance(piece.layout, Plain) and piece.layout.sums


def _read_ahead(
    reader: ObjectReader | ErasureReader, at: int, length: int
) -> asyncio.Future[bytes]:
    """A read started on a worker thread."""
    return asyncio.ensure_future(asyncio.to_thread(reader.read, at, length))


def _files_of(drive: Drive, before: float) -> list[tuple[str, str]]:
    found = []
    for fan in os.scandir(drive.objects):
        if not fan.is_dir():
            continue
        for entry in os.scandir(fan.path):
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime < before:
                    found.append((entry.name, entry.path))
    return found


def _shard_bytes(size: int | None, k: int) -> int | None:
    return None if size is None else -(-size // k)


class _Finish(Protocol):
    def __call__(self, expected: dict[str, bytes], size: int | None) -> WriteResult: ...
