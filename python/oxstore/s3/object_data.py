"""Where an object's bytes are: inline in its record, in one data file, or in the data files of
its parts (a multipart object), and the byte ranges its parts cover."""

from __future__ import annotations

from collections.abc import AsyncIterator

from oxstore import _native
from oxstore.data.store import READ_CHUNK, DataStore, Piece
from oxstore.meta.model import Metadata
from oxstore.meta.records import ObjectRecord, PartRecord
from oxstore.s3.errors import S3Error


async def parts_of(meta: Metadata, record: ObjectRecord) -> list[PartRecord]:
    """The parts of a multipart object in order ([] for an object written in one piece)."""
    if not record.parts_count:
        return []
    return await meta.list_parts(record.data_id)


async def pieces(
    meta: Metadata, record: ObjectRecord, start: int, end: int, seal: bytes | None = None
) -> list[Piece]:
    """The data file ranges holding bytes [start, end) of an object that is not inline;
    seal: the data key its bytes are sealed under (s3.encryption.opened); a multipart
    object's parts are sealed under keys derived from it (part_key)."""
    if not record.parts_count:
        return [Piece(record.data_id, start, end, record.layout, record.size, seal)]
    found: list[Piece] = []
    offset = 0
    for part in await parts_of(meta, record):
        low, high = offset, offset + part.size
        if high > start and low < end:
            span = max(start, low) - low, min(end, high) - low
            key = None if seal is None else part_key(seal, part.number, part.data_id)
            found.append(Piece(part.data_id, *span, part.layout, part.size, key))
        offset = high
        if offset >= end:
            break
    return found


def part_key(upload_key: bytes, number: int, data_id: str) -> bytes:
    """The data key of a part: its own per upload of it (a part uploaded again never reuses
    a key), derived from the upload's, which alone is kept wrapped."""
    return _native.part_data_key(upload_key, number, data_id)


async def part(
    meta: Metadata, record: ObjectRecord, number: int
) -> tuple[int, int, PartRecord | None]:
    """[start, end) of part `number` (counted in order, from 1) and its record; an object
    written in one piece is its own part 1. InvalidPartNumber (416) beyond the last part."""
    count = record.parts_count or 1
    if number > count:
        raise S3Error(
            "InvalidPartNumber", PartNumberRequested=str(number), ActualPartCount=str(count)
        )
    if not record.parts_count:
        return 0, record.size, None
    parts = await parts_of(meta, record)
    offset = sum(p.size for p in parts[: number - 1])
    found = parts[number - 1]
    return offset, offset + found.size, found


async def read(
    meta: Metadata,
    data: DataStore,
    record: ObjectRecord,
    start: int,
    end: int,
    chunk_size: int = READ_CHUNK,
    seal: bytes | None = None,
) -> AsyncIterator[bytes]:
    """Bytes [start, end) of the object, streamed in chunks of at most chunk_size (opened
    with `seal` when sealed)."""
    if record.inline is not None:
        if start < end:
            yield inline_range(record, start, end, seal)
        return
    async for chunk in data.read(await pieces(meta, record, start, end, seal), chunk_size):
        yield chunk


def inline_range(record: ObjectRecord, start: int, end: int, seal: bytes | None) -> bytes:
    """Bytes [start, end) of an inline payload (kept sealed when the object is encrypted)."""
    assert record.inline is not None
    if seal is None:
        return record.inline[start:end]
    return _native.open_sealed_range(seal, record.inline, record.size, start, end - start)
