"""SQLAlchemy stores of uploaded files' rows (`chat_files`): the use cases' and the sweep's.
The post hot path attaches files in its own SQL (`sqlite_posts.py`, `asyncpg_posts.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import chat_files, users
from services.chat.domain.files import StoredFile

_f = chat_files


def stored_file(row: Any) -> StoredFile:
    return StoredFile(
        id=row.id, user_id=row.user_id, name=row.name, size=row.size,
        content_type=row.content_type, sha256=row.sha256, created_at=row.created_at,
        width=row.width, height=row.height, thumbnail_key=row.thumbnail_key, kind=row.kind,
        message_id=row.message_id, room_id=row.room_id, deleted_at=row.deleted_at)


def _values(file: StoredFile) -> dict[str, Any]:
    return {"id": file.id, "user_id": file.user_id, "name": file.name, "size": file.size,
            "content_type": file.content_type, "sha256": file.sha256,
            "created_at": file.created_at, "width": file.width, "height": file.height,
            "thumbnail_key": file.thumbnail_key, "kind": file.kind,
            "message_id": file.message_id, "room_id": file.room_id,
            "deleted_at": file.deleted_at}


class SqlaFileStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, file: StoredFile) -> None:
        await self._s.execute(insert(_f).values(**_values(file)))

    async def get(self, file_id: str) -> StoredFile | None:
        row = (await self._s.execute(select(_f).where(_f.c.id == file_id))).first()
        return None if row is None else stored_file(row)

    async def usage(self, user_id: int, *, lock: bool = False) -> int:
        if lock:  # SQLite: this write transaction holds the database's write lock already
            await self._s.execute(select(users.c.id).where(users.c.id == user_id)
                                  .with_for_update())
        used = await self._s.scalar(select(func.coalesce(func.sum(_f.c.size), 0)).where(
            _f.c.user_id == user_id, _f.c.deleted_at.is_(None)))
        return int(used or 0)

    async def of_messages(self, message_ids: Sequence[int]) -> dict[int, list[StoredFile]]:
        if not message_ids:
            return {}
        rows = (await self._s.execute(
            select(_f).where(_f.c.message_id.in_(message_ids), _f.c.deleted_at.is_(None))
            .order_by(_f.c.created_at, _f.c.id))).all()
        by_message: dict[int, list[StoredFile]] = {}
        for row in rows:
            by_message.setdefault(row.message_id, []).append(stored_file(row))
        return by_message

    async def mark_deleted(self, *, message_id: int | None = None, file_id: str | None = None,
                           now: datetime) -> list[StoredFile]:
        which = _f.c.message_id == message_id if message_id is not None else _f.c.id == file_id
        rows = (await self._s.execute(
            update(_f).where(which, _f.c.deleted_at.is_(None)).values(deleted_at=now)
            .returning(*_f.c))).all()
        return [stored_file(row) for row in rows]


class SqlaFileSweepStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def expire_unattached(self, created_before: datetime, now: datetime) -> int:
        result = await self._s.execute(update(_f).where(
            _f.c.kind == "attachment", _f.c.message_id.is_(None), _f.c.deleted_at.is_(None),
            _f.c.created_at < created_before).values(deleted_at=now))
        return int(result.rowcount or 0)

    async def removable(self, deleted_before: datetime, limit: int) -> list[StoredFile]:
        rows = (await self._s.execute(
            select(_f).where(_f.c.deleted_at.is_not(None), or_(
                _f.c.deleted_at < deleted_before,
                # Never attached: nobody can have seen it, no retention to wait out.
                (_f.c.kind == "attachment") & _f.c.message_id.is_(None)))
            .order_by(_f.c.deleted_at).limit(limit))).all()
        return [stored_file(row) for row in rows]

    async def remove(self, file_id: str) -> bool:
        result = await self._s.execute(delete(_f).where(_f.c.id == file_id,
                                                        _f.c.deleted_at.is_not(None)))
        return bool(result.rowcount)
