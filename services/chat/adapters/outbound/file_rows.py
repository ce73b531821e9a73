"""`chat_files` rows as the hot path's drivers read them (stdlib sqlite3, asyncpg): the
columns in one order, and the record from such a row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from services.chat.domain.model import Message
from services.chat.domain.stored_file import StoredFile

FILE_COLUMNS = ("id, user_id, name, size, content_type, sha256, created_at, width, height, "
                "thumbnail_key, kind, message_id, room_id, deleted_at")


def file_of(row: Any, moment: Callable[[Any], datetime | None]) -> StoredFile:
    created_at = moment(row[6])
    assert created_at is not None
    return StoredFile(id=row[0], user_id=row[1], name=row[2], size=row[3],
                      content_type=row[4], sha256=row[5], created_at=created_at,
                      width=row[7], height=row[8], thumbnail_key=row[9], kind=row[10],
                      message_id=row[11], room_id=row[12], deleted_at=moment(row[13]))


# A join's replay: the live files of its messages, one query (none when the replay is empty).
SQLITE_FILES_OF = (f"SELECT {FILE_COLUMNS} FROM chat_files WHERE message_id IN ({{marks}}) "
                   "AND deleted_at IS NULL ORDER BY created_at, id")
ASYNCPG_FILES_OF = (f"SELECT {FILE_COLUMNS} FROM chat_files WHERE message_id = "
                    "ANY($1::bigint[]) AND deleted_at IS NULL ORDER BY created_at, id")


def give_files(messages: Sequence[Message], files: Iterable[StoredFile]) -> None:
    by_message: dict[int, list[StoredFile]] = {}
    for file in files:
        by_message.setdefault(file.message_id or 0, []).append(file)
    for message in messages:
        if found := by_message.get(message.id):
            message.attachments = tuple(found)
