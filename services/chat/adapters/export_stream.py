"""An export's bytes, as the HTTP routes and `tertulia export` send them: NDJSON lines in
chunks, or a tar archive (`data.ndjson`, then `files/<id>` and `thumbnails/<id>`) written as
it goes. The NDJSON is spooled to a temporary file first (a tar member's size comes before
its bytes); every file's bytes stream from the blob store, a chunk at a time."""

from __future__ import annotations

import asyncio
import tarfile
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from services.chat.domain.export_format import (
    ARCHIVE_DATA,
    ARCHIVE_FILES_DIR,
    ARCHIVE_THUMBNAILS_DIR,
    CHUNK_BYTES,
    encode,
)
from services.chat.domain.files import thumbnail_key
from services.chat.ports import BlobStore

BLOCK = 512
SPOOL_IN_MEMORY_BYTES = 1024 * 1024


class ArchiveError(RuntimeError):
    """A file's bytes are not what its record says (swept meanwhile?): the archive stops
    before its end blocks, so no reader takes it for whole."""


async def ndjson(records: AsyncIterator[dict[str, Any]],
                 size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    pending: list[bytes] = []
    held = 0
    async for record in records:
        line = encode(record)
        pending.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)


def tar_header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    # Whole seconds: a fraction would need a pax header of its own for every member.
    info.size, info.mtime, info.mode, info.type = size, int(mtime), 0o644, tarfile.REGTYPE
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


async def _from_spool(spool: IO[bytes]) -> AsyncIterator[bytes]:
    await asyncio.to_thread(spool.seek, 0)
    while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
        yield chunk


async def _spooled_member(name: str, chunks: AsyncIterator[bytes], tmp_dir: Path,
                          mtime: float) -> AsyncIterator[bytes]:
    """A member whose size is known only once its bytes are read (the NDJSON, a thumbnail)."""
    await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES, dir=tmp_dir)
    try:
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            await asyncio.to_thread(spool.write, chunk)
        yield tar_header(name, size, mtime)
        async for chunk in _from_spool(spool):  # type: ignore[arg-type]
            yield chunk
        yield _padding(size)
    finally:
        await asyncio.to_thread(spool.close)


async def _file_member(blobs: BlobStore, name: str, key: str, size: int,
                       mtime: float) -> AsyncIterator[bytes]:
    chunks = await blobs.open(key)
    if chunks is None:
        raise ArchiveError(f"the bytes of {name} are gone from the blob store")
    yield tar_header(name, size, mtime)
    sent = 0
    async for chunk in chunks:
        sent += len(chunk)
        if sent > size:
            raise ArchiveError(f"{name} has more bytes than its record says")
        yield chunk
    if sent != size:
        raise ArchiveError(f"{name} has fewer bytes than its record says")
    yield _padding(size)


async def archive(records: AsyncIterator[dict[str, Any]], blobs: BlobStore, tmp_dir: Path,
                  mtime: float) -> AsyncIterator[bytes]:
    """The tar: `data.ndjson` first (so a reader checks it before the bytes come), then
    each file record's bytes and thumbnail, then the two end blocks."""
    files: list[tuple[str, int, bool]] = []

    async def noting_files() -> AsyncIterator[dict[str, Any]]:
        async for record in records:
            if record["type"] == "file":
                files.append((record["id"], record["size"], record["has_thumbnail"]))
            yield record

    async for piece in _spooled_member(ARCHIVE_DATA, ndjson(noting_files()), tmp_dir, mtime):
        yield piece
    for file_id, size, has_thumbnail in files:
        async for piece in _file_member(blobs, ARCHIVE_FILES_DIR + file_id, file_id, size,
                                        mtime):
            yield piece
        if has_thumbnail:
            thumbnail = await blobs.open(thumbnail_key(file_id))
            if thumbnail is None:
                raise ArchiveError(f"the thumbnail of file {file_id} is gone")
            async for piece in _spooled_member(ARCHIVE_THUMBNAILS_DIR + file_id, thumbnail,
                                               tmp_dir, mtime):
                yield piece
    yield b"\0" * (2 * BLOCK)
