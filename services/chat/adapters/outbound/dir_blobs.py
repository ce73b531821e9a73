"""`BlobStore` in a data directory: `<dir>/<first two characters of the key>/<key>`, written
to a temp name and renamed, so a reader never sees half a blob. File I/O in threads."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 256 * 1024
_KEY = re.compile(r"[A-Za-z0-9_-]{2,80}")


class DirBlobStore:
    def __init__(self, root: Path, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.root = root
        self._chunk = chunk_bytes

    def _path(self, key: str) -> Path:
        # Keys come from us (file ids), but a path is only ever made of a checked one.
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key

    def _staging(self, final: Path) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.parent / f".{final.name}.{secrets.token_hex(4)}.part"

    async def put_file(self, key: str, path: Path) -> None:
        final = self._path(key)

        def move() -> None:
            staging = self._staging(final)
            try:  # a rename when the temp file is on the same filesystem, else a copy
                os.replace(path, staging)
            except OSError:
                shutil.copyfile(path, staging)
            os.replace(staging, final)

        await asyncio.to_thread(move)

    async def put_chunks(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        final = self._path(key)
        staging = await asyncio.to_thread(self._staging, final)
        out: BinaryIO = await asyncio.to_thread(open, staging, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(out.close)
            await asyncio.to_thread(os.replace, staging, final)
        except BaseException:
            await asyncio.to_thread(out.close)
            await asyncio.to_thread(staging.unlink, True)
            raise

    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        try:
            handle: BinaryIO = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError:
            return None
        return self._chunks(handle)

    async def _chunks(self, handle: BinaryIO) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(handle.read, self._chunk):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)
