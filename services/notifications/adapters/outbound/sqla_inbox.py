"""The inbox: notifications added, paged and counted, and the changes to them (read,
rewritten, removed, purged)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.adapters.outbound.sqla_base import SqlaStore
from services.notifications.domain import (
    NewNotification,
    Notification,
)


def _notification(row: Any) -> Notification:
    return Notification(pk=row.pk, user_id=row.user_id, kind=row.kind, title=row.title,
                        content=row.content, data=row.data, created_at=row.created_at,
                        read=row.read, read_at=row.read_at, room_id=row.room_id,
                        message_id=row.message_id, broadcast_id=row.broadcast_id)


class SqlaInbox(SqlaStore):
    async def add(self, notification: NewNotification) -> Notification:
        n = notification
        pk = (await self._c.execute(insert(t.notifications).values(
            user_id=n.user_id, kind=n.kind, title=n.title, content=n.content, data=n.data,
            room_id=n.room_id, message_id=n.message_id, seq=n.seq,
            broadcast_id=n.broadcast_id, created_at=n.created_at, read=False,
        ).returning(t.notifications.c.pk))).scalar_one()
        return Notification(pk=int(pk), user_id=n.user_id, kind=n.kind, title=n.title,
                            content=n.content, data=n.data, created_at=n.created_at,
                            room_id=n.room_id, message_id=n.message_id,
                            broadcast_id=n.broadcast_id)

    async def get(self, user_id: int, pk: int) -> Notification | None:
        row = (await self._c.execute(select(t.notifications).where(
            t.notifications.c.pk == pk, t.notifications.c.user_id == user_id))).first()
        return _notification(row) if row else None

    async def page(self, user_id: int, *, unread_only: bool, before_pk: int | None,
                   limit: int) -> list[Notification]:
        n = t.notifications
        query = select(n).where(n.c.user_id == user_id)
        if unread_only:
            query = query.where(n.c.read.is_(False))
        if before_pk is not None:
            query = query.where(n.c.pk < before_pk)
        rows = (await self._c.execute(query.order_by(n.c.pk.desc()).limit(limit))).all()
        return [_notification(r) for r in rows]

    async def unread_count(self, user_id: int) -> int:
        n = t.notifications
        return int((await self._c.execute(select(func.count()).select_from(n).where(
            n.c.user_id == user_id, n.c.read.is_(False)))).scalar_one())


class SqlaInboxChanges(SqlaStore):
    async def mark_read(self, user_id: int, pks: list[int] | None, now: datetime
                        ) -> list[Notification]:
        n = t.notifications
        stmt = update(n).where(n.c.user_id == user_id, n.c.read.is_(False))
        if pks is not None:
            stmt = stmt.where(n.c.pk.in_(pks))
        return await self._marked(stmt.values(read=True, read_at=now))

    async def mark_room_read(self, user_id: int, room_id: int, upto_seq: int,
                             now: datetime) -> list[Notification]:
        n = t.notifications
        return await self._marked(update(n).where(
            n.c.user_id == user_id, n.c.room_id == room_id, n.c.seq <= upto_seq,
            n.c.message_id.is_not(None), n.c.read.is_(False),
        ).values(read=True, read_at=now))

    async def _marked(self, stmt: Any) -> list[Notification]:
        """Run an UPDATE that marks rows read; the rows it changed, oldest first."""
        rows = (await self._c.execute(stmt.returning(*t.notifications.c))).all()
        return sorted((_notification(r) for r in rows), key=lambda found: found.pk)

    async def rewrite_pending(self, message_id: int, content: str) -> int:
        n = t.notifications
        return (await self._c.execute(update(n).where(
            n.c.message_id == message_id, n.c.read.is_(False)).values(content=content))).rowcount

    async def remove_message(self, message_id: int) -> int:
        n = t.notifications
        return (await self._c.execute(delete(n).where(n.c.message_id == message_id))).rowcount

    async def remove_user(self, user_id: int) -> int:
        n = t.notifications
        return (await self._c.execute(delete(n).where(n.c.user_id == user_id))).rowcount

    async def purge_read(self, before: datetime) -> tuple[int, int]:
        n = t.notifications
        expired = (n.c.read.is_(True), n.c.created_at < before)
        users = int((await self._c.execute(
            select(func.count(func.distinct(n.c.user_id))).where(*expired))).scalar_one())
        removed = (await self._c.execute(delete(n).where(*expired))).rowcount
        return removed, users
