"""`BlobStore` in a JetStream Object Store bucket (`CHAT_BLOBS=nats`): every chat replica on
every machine reads the same bytes, kept on `replicas` servers. The bucket (stream
`OBJ_<bucket>`) is made on first use. Reads go chunk by chunk from an ordered consumer
(nats-py's `ObjectStore.get` would hold the whole object in memory), checked against the
object's SHA-256 digest at the end."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import nats.js.errors
from nats.js.api import StorageType
from nats.js.object_store import ObjectStore

from shared.bus.nats import NatsEventBus

_MISSING = (nats.js.errors.NotFoundError, nats.js.errors.ObjectNotFoundError,
            nats.js.errors.ObjectDeletedError)
CHUNK_WAIT_SECS = 10.0


class NatsObjectBlobStore:
    def __init__(self, bus: NatsEventBus, bucket: str, *, replicas: int = 1,
                 tmp_dir: Path) -> None:
        self._bus = bus
        self.bucket = bucket
        self.replicas = replicas
        self._tmp_dir = tmp_dir
        self._store: ObjectStore | None = None
        self._opening = asyncio.Lock()

    async def store(self) -> ObjectStore:
        async with self._opening:
            if self._store is None:
                js = self._bus.jetstream
                try:
                    self._store = await js.object_store(self.bucket)
                except nats.js.errors.BucketNotFoundError:
                    self._store = await js.create_object_store(
                        self.bucket, replicas=self.replicas, storage=StorageType.FILE,
                        description="Tertulia chat: uploaded files and thumbnails")
            return self._store

    async def put_file(self, key: str, path: Path) -> None:
        store = await self.store()
        handle: BinaryIO = await asyncio.to_thread(open, path, "rb")
        try:  # nats-py reads a file object in its executor, chunk by chunk
            await store.put(key, handle)  # type: ignore[arg-type]
        finally:
            await asyncio.to_thread(handle.close)

    async def put_chunks(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        await asyncio.to_thread(self._tmp_dir.mkdir, parents=True, exist_ok=True)
        spool = self._tmp_dir / f"{secrets.token_hex(16)}.blob"
        try:
            out: BinaryIO = await asyncio.to_thread(open, spool, "wb")
            try:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
            finally:
                await asyncio.to_thread(out.close)
            await self.put_file(key, spool)
        finally:
            await asyncio.to_thread(spool.unlink, True)

    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        store = await self.store()
        try:
            info = await store.get_info(key)
        except _MISSING:
            return None
        if info.deleted or not info.nuid:
            return None
        return self._chunks(info.nuid, info.size or 0, info.digest or "")

    async def _chunks(self, nuid: str, size: int, digest: str) -> AsyncIterator[bytes]:
        if size == 0:
            return
        js = self._bus.jetstream
        # The stream named: no lookup by subject (STREAM.NAMES, not the chat user's).
        subscription = await js.subscribe(f"$O.{self.bucket}.C.{nuid}",
                                          stream=f"OBJ_{self.bucket}", ordered_consumer=True)
        hashed = hashlib.sha256()
        try:
            while True:
                message = await subscription.next_msg(timeout=CHUNK_WAIT_SECS)
                hashed.update(message.data)
                yield message.data
                if message.metadata.num_pending == 0:
                    break
        finally:
            await subscription.unsubscribe()
        wanted = base64.urlsafe_b64decode(digest.removeprefix("SHA-256="))
        if hashed.digest() != wanted:
            raise nats.js.errors.DigestMismatchError

    async def delete(self, key: str) -> None:
        store = await self.store()
        try:
            await store.delete(key)
        except _MISSING:
            pass

    async def exists(self, key: str) -> bool:
        store = await self.store()
        try:
            info = await store.get_info(key)
        except _MISSING:
            return False
        return not info.deleted
