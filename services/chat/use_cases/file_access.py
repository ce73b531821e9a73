"""Reading a file: who may (the readers of the message it is attached to, or its uploader
while it is attached to none), and its bytes, or its thumbnail's, as chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from services.chat.domain import Actor, Message, NotFound
from services.chat.domain.files import StoredFile, is_file_id
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import visible_room


@dataclass(slots=True)
class Download:
    file: StoredFile
    chunks: AsyncIterator[bytes]
    thumbnail: bool = False


async def with_files(tx: ChatTx, messages: Sequence[Message]) -> None:
    """Give messages their attachments: one query for a page."""
    if messages:
        files = await tx.files.of_messages([m.id for m in messages])
        for message in messages:
            message.attachments = tuple(files.get(message.id, ()))


def file_not_found(file_id: str) -> NotFound:
    # A file the caller may not read gets the same answer as one that does not exist.
    return NotFound("file_not_found", f"File {file_id} not found.")


async def readable_file(tx: ChatTx, actor: Actor, file_id: str) -> StoredFile:
    """The file, if `actor` may read it: not deleted, and either attached to a message they
    can read (its room's rule, `_access.visible_room`) or unattached and theirs."""
    file = await tx.files.get(file_id) if is_file_id(file_id) else None
    if file is None or file.deleted_at is not None:
        raise file_not_found(file_id)
    if file.message_id is None:
        if actor.user_id is None or actor.user_id != file.user_id:
            raise file_not_found(file_id)
        return file
    message = await tx.messages.get(file.message_id)
    if message is None or message.is_deleted:
        raise file_not_found(file_id)
    try:
        await visible_room(tx, actor, message.room_id)
    except NotFound:
        raise file_not_found(file_id) from None
    return file


async def download(deps: ChatDeps, actor: Actor, file_id: str, *,
                   thumbnail: bool = False) -> Download:
    """The file's bytes (or its thumbnail's: 404 `thumbnail_not_found` when it has none)."""
    async with deps.uow.read() as tx:
        file = await readable_file(tx, actor, file_id)
    key = file.id
    if thumbnail:
        if file.thumbnail_key is None:
            raise NotFound("thumbnail_not_found", f"File {file_id} has no thumbnail.")
        key = file.thumbnail_key
    chunks = await deps.blobs.open(key) if deps.blobs is not None else None
    if chunks is None:  # the sweep got there between the row and the blob
        raise file_not_found(file_id)
    return Download(file, chunks, thumbnail)
