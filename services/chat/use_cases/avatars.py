"""Avatars: a user's picture, cropped to its centred square and scaled to `AVATAR_PX` (a
PNG), stored as a file of kind "avatar" (its row, its blob, `FileStored`). Replacing or
removing it removes the old one's row, its blob and says so (`FileDeleted`) at once: an
avatar has no message to wait for. Without one, the page draws initials."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.chat.domain import Actor, Frame, Invalid, NotFound, User
from services.chat.domain.files import (
    StoredFile,
    file_too_large,
    new_file_id,
    refuse_over_quota,
)
from services.chat.ports import BlobStore, ChatDeps, ChatTx, ImageProcessor, SpooledUpload
from services.chat.use_cases._access import active_user, require_user
from services.chat.use_cases.uploads import inspect_upload, remove_blobs
from shared.contracts import FileDeleted, FileStored

AVATAR_PX = 256
AVATAR_TYPE = "image/png"


@dataclass(frozen=True, slots=True)
class AvatarChanged:
    """A `user_updated` frame's data when the picture changed: the profile and its avatar."""

    user: User
    avatar_file_id: str | None


async def _tell_rooms(deps: ChatDeps, user: User, file_id: str | None) -> None:
    """Open pages in the user's rooms draw the new picture at once (as a rename)."""
    async with deps.uow.read() as tx:
        rooms = await tx.members.rooms_of(user.id)
    frame = Frame("user_updated", AvatarChanged(user, file_id), about_user=user.id)
    for room_id in rooms:
        await deps.live.to_room(room_id, frame)


def _digest(path: Path) -> tuple[int, str]:
    data = path.read_bytes()  # a 256 x 256 PNG: small
    return len(data), hashlib.sha256(data).hexdigest()


async def set_avatar(deps: ChatDeps, actor: Actor, upload: SpooledUpload) -> tuple[User, str]:
    """Your avatar is this image (PNG, JPEG, GIF or WebP, within the file limits): the user
    and the new avatar's file id. The one it replaces is gone when this returns; your rooms
    get `user_updated` with it. The caller removes `upload.path`."""
    user_id = require_user(actor)
    blobs, images = _require_files(deps)
    if upload.size > deps.files.max_bytes:
        raise file_too_large(deps.files.max_bytes)
    await inspect_upload(images, upload, require_image=True)
    square = upload.path.with_name(upload.path.name + ".avatar.png")
    try:
        await images.square(upload.path, square, AVATAR_PX)
        size, sha256 = await asyncio.to_thread(_digest, square)
        now = deps.clock.now()
        file = StoredFile(id=new_file_id(), user_id=user_id, name="avatar.png", size=size,
                          content_type=AVATAR_TYPE, sha256=sha256, created_at=now,
                          width=AVATAR_PX, height=AVATAR_PX, kind="avatar")
        await blobs.put_file(file.id, square)
        try:
            async with deps.uow.write() as tx:
                user = await active_user(tx, user_id, lock=True)
                current = await tx.avatars.avatar_of(user_id)
                await _within_quota(deps, tx, user_id, current, size)
                old = await _drop(tx, current, now)
                await tx.files.add(file)
                await tx.avatars.set_avatar(user_id, file.id)
                await tx.outbox.add(FileStored(file_id=file.id, user_id=user_id, size=size,
                                               kind="avatar", room_id=None, stored_at=now), now)
        except BaseException:
            await blobs.delete(file.id)
            raise
    finally:
        await asyncio.to_thread(square.unlink, True)
    if old is not None:
        await remove_blobs(blobs, old)
    await _tell_rooms(deps, user, file.id)
    return user, file.id


async def remove_avatar(deps: ChatDeps, actor: Actor) -> None:
    """You have no avatar (nothing happens when you had none)."""
    user_id = require_user(actor)
    blobs, _ = _require_files(deps)
    now = deps.clock.now()
    async with deps.uow.write() as tx:
        user = await active_user(tx, user_id, lock=True)
        old = await _drop(tx, await tx.avatars.avatar_of(user_id), now)
        await tx.avatars.set_avatar(user_id, None)
    if old is not None:
        await remove_blobs(blobs, old)
        await _tell_rooms(deps, user, None)


async def _within_quota(deps: ChatDeps, tx: ChatTx, user_id: int, current: str | None,
                        size: int) -> None:
    """An avatar counts in the uploader's quota as any file; the one it replaces does not."""
    used = await tx.files.usage(user_id, lock=True)
    replaced = await tx.files.get(current) if current is not None else None
    if replaced is not None and replaced.deleted_at is None:
        used -= replaced.size
    refuse_over_quota(used, size, deps.files.quota_bytes)


async def _drop(tx: ChatTx, file_id: str | None, now: datetime) -> StoredFile | None:
    """The old avatar's row goes in this transaction (its blob after the commit)."""
    old = await tx.files.get(file_id) if file_id is not None else None
    if old is None:
        return None
    if old.deleted_at is None:  # still counted as stored: say it is not any more
        await tx.files.mark_deleted(file_id=old.id, now=now)
        await tx.outbox.add(FileDeleted(file_id=old.id, user_id=old.user_id, size=old.size,
                                        kind="avatar", deleted_at=now), now)
    await tx.file_sweep.remove(old.id)
    return old


async def avatar_file(deps: ChatDeps, actor: Actor, user_id: int) -> StoredFile:
    """Anyone signed in sees anyone's avatar; 404 `avatar_not_found` when there is none."""
    require_user(actor)
    async with deps.uow.read() as tx:
        user = await tx.users.get(user_id)
        file_id = await tx.avatars.avatar_of(user_id) if user is not None else None
        file = await tx.files.get(file_id) if file_id is not None else None
    if (user is None or user.deleted_at is not None or file is None
            or file.deleted_at is not None):
        raise NotFound("avatar_not_found", f"User {user_id} has no avatar.")
    return file


async def avatar_ids(deps: ChatDeps, user_ids: Sequence[int]) -> dict[int, str]:
    """The avatar file id of each of these users that has one."""
    if not user_ids:
        return {}
    async with deps.uow.read() as tx:
        return await tx.avatars.avatars_of(user_ids)


def _require_files(deps: ChatDeps) -> tuple[BlobStore, ImageProcessor]:
    if deps.blobs is None or deps.images is None:
        raise Invalid("files_disabled", "This server stores no files.")
    return deps.blobs, deps.images
