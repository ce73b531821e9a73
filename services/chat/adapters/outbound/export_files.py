"""`ImportSource`s over files on disk: an NDJSON export, or a tar archive of one
(`data.ndjson` with `files/<id>` and `thumbnails/<id>`; gzip-compressed too). Read in
threads, a batch of lines or a chunk of bytes at a time."""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from services.chat.domain.export_format import ARCHIVE_DATA, CHUNK_BYTES, FormatError, decode

LINES_PER_READ = 1000


async def _lines(handle: IO[bytes]) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    numbered: Iterator[tuple[int, bytes]] = enumerate(handle, start=1)

    def batch() -> list[tuple[int, bytes]]:
        return [pair for pair, _ in zip(numbered, range(LINES_PER_READ), strict=False)]

    while found := await asyncio.to_thread(batch):
        for number, line in found:
            if not line.strip():
                raise FormatError(number, "an empty line")
            yield number, decode(line, number)


class NdjsonFileSource:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def lines(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            async for pair in _lines(handle):
                yield pair
        finally:
            await asyncio.to_thread(handle.close)

    async def blob(self, name: str) -> AsyncIterator[bytes] | None:
        return None

    def close(self) -> None:
        """Nothing stays open between reads."""


class TarArchiveSource:
    """A tar opened once for random access (its members' offsets are read up front)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tar: tarfile.TarFile | None = None

    async def _open(self) -> tarfile.TarFile:
        if self._tar is None:
            self._tar = await asyncio.to_thread(tarfile.open, self.path, "r:*")
            await asyncio.to_thread(self._tar.getmembers)
        return self._tar

    async def _member(self, name: str) -> IO[bytes] | None:
        tar = await self._open()
        try:
            info = tar.getmember(name)
        except KeyError:
            return None
        return tar.extractfile(info) if info.isfile() else None

    async def lines(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        handle = await self._member(ARCHIVE_DATA)
        if handle is None:
            raise FormatError(0, f"the archive has no {ARCHIVE_DATA}")
        async for pair in _lines(handle):
            yield pair

    async def blob(self, name: str) -> AsyncIterator[bytes] | None:
        handle = await self._member(name)
        return None if handle is None else _chunks(handle)

    def close(self) -> None:
        if self._tar is not None:
            with suppress(OSError):
                self._tar.close()


async def _chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
        yield chunk


def open_source(path: Path) -> NdjsonFileSource | TarArchiveSource:
    """A tar archive (`tarfile` recognises it), else an NDJSON stream."""
    return TarArchiveSource(path) if tarfile.is_tarfile(path) else NdjsonFileSource(path)
