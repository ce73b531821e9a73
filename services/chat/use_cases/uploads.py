"""Uploads: what a spooled file is (its name's rules, its sniffed type, an image's size and
bomb check), and storing it as an attachment or avatar: its blobs, then its row and
`FileStored` in one transaction under the quota. Any refusal leaves no blob and no row."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from services.chat.domain import Actor, Invalid
from services.chat.domain.files import (
    RASTER_TYPES,
    FileKind,
    StoredFile,
    file_too_large,
    new_file_id,
    refuse_empty,
    refuse_over_quota,
    resolve_content_type,
    thumbnail_key,
    validate_file_name,
)
from services.chat.ports import BlobStore, ChatDeps, ImageProcessor, SpooledUpload
from services.chat.use_cases._access import active_user, require_user
from shared.contracts import FileStored


@dataclass(frozen=True, slots=True)
class Inspected:
    name: str
    content_type: str
    width: int | None = None
    height: int | None = None

    @property
    def is_raster(self) -> bool:
        return self.content_type in RASTER_TYPES


async def inspect_upload(images: ImageProcessor, upload: SpooledUpload, *,
                         require_image: bool = False) -> Inspected:
    """Check a spooled upload: a valid name, not empty, its type from its bytes (a declared
    type must agree), and an image's pixels within bounds (read from the header, nothing
    decoded). `require_image`: only PNG, JPEG, GIF or WebP (avatars)."""
    name = validate_file_name(upload.name)
    refuse_empty(upload.size)
    content_type = resolve_content_type(upload.declared_type, upload.head)
    if content_type not in RASTER_TYPES:
        if require_image:
            raise Invalid("content_type_mismatch", "The file must be a PNG, JPEG, GIF or "
                          "WebP image.")
        return Inspected(name, content_type)
    info = await images.inspect(upload.path)
    return Inspected(name, content_type, info.width, info.height)


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


async def store_upload(deps: ChatDeps, actor: Actor, upload: SpooledUpload, *,
                       kind: FileKind = "attachment") -> StoredFile:
    """Store an upload for the signed-in user; it counts against their quota until deleted.
    The caller removes `upload.path` (a refusal leaves it; the blob store may move it)."""
    user_id = require_user(actor)
    blobs, images = _require_files(deps)
    if upload.size > deps.files.max_bytes:
        raise file_too_large(deps.files.max_bytes)
    inspected = await inspect_upload(images, upload)
    file = StoredFile(
        id=new_file_id(), user_id=user_id, name=inspected.name, size=upload.size,
        content_type=inspected.content_type, sha256=upload.sha256,
        created_at=deps.clock.now(), width=inspected.width, height=inspected.height,
        kind=kind)
    thumb = _sidecar(upload.path, ".thumb")
    try:
        if inspected.is_raster:
            if not await images.thumbnail(upload.path, thumb, deps.files.thumbnail_px):
                raise Invalid("content_type_mismatch", "The file is not a readable image.")
            file.thumbnail_key = thumbnail_key(file.id)
        async with deps.uow.read() as tx:  # refuse early, before the bytes are copied
            refuse_over_quota(await tx.files.usage(user_id), file.size, deps.files.quota_bytes)
        await _put(blobs, file, upload.path, thumb)
        try:
            async with deps.uow.write() as tx:
                await active_user(tx, user_id)
                used = await tx.files.usage(user_id, lock=True)
                refuse_over_quota(used, file.size, deps.files.quota_bytes)
                await tx.files.add(file)
                await tx.outbox.add(FileStored(
                    file_id=file.id, user_id=user_id, size=file.size, kind=kind,
                    room_id=None, stored_at=file.created_at), file.created_at)
        except BaseException:
            await remove_blobs(blobs, file)
            raise
    finally:
        await asyncio.to_thread(thumb.unlink, True)
    return file


async def _put(blobs: BlobStore, file: StoredFile, path: Path, thumb: Path) -> None:
    try:
        if file.thumbnail_key is not None:
            await blobs.put_file(file.thumbnail_key, thumb)
        await blobs.put_file(file.id, path)
    except BaseException:
        await remove_blobs(blobs, file)
        raise


async def remove_blobs(blobs: BlobStore, file: StoredFile) -> None:
    await blobs.delete(file.id)
    if file.thumbnail_key is not None:
        await blobs.delete(file.thumbnail_key)


def _require_files(deps: ChatDeps) -> tuple[BlobStore, ImageProcessor]:
    if deps.blobs is None or deps.images is None:
        raise Invalid("files_disabled", "This server stores no files.")
    return deps.blobs, deps.images
