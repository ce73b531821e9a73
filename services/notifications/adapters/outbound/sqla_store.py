"""SQLAlchemy implementations of the notifications stores, the outbox and the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.domain import (
    DEFAULT_LEVEL,
    Decision,
    KnownRoom,
    KnownUser,
    Level,
    Member,
    NewNotification,
    Notification,
    stored_level,
)
from shared.db import Database
from shared.outbox import Committed, OutboxWriter, write_with_outbox


def _upsert(conn: AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT, which both our databases speak in their own dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _notification(row: Any) -> Notification:
    return Notification(pk=row.pk, user_id=row.user_id, kind=row.kind, title=row.title,
                        content=row.content, data=row.data, created_at=row.created_at,
                        read=row.read, read_at=row.read_at, room_id=row.room_id,
                        message_id=row.message_id, broadcast_id=row.broadcast_id)


def _decision(row: Any) -> Decision:
    return Decision(user_id=row.user_id, message_id=row.message_id, room_id=row.room_id,
                    seq=row.seq, kind=row.kind, suppressed_by=row.suppressed_by,
                    decided_at=row.decided_at, notification_id=row.notification_id)


class _Store:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn


class SqlaUserDirectory(_Store):
    async def put(self, user: KnownUser) -> None:
        stmt = _upsert(self._c, t.users).values(user_id=user.id, username=user.username,
                                                is_admin=user.is_admin)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.users.c.user_id],
            set_={"username": stmt.excluded.username, "is_admin": stmt.excluded.is_admin}))

    async def get(self, user_id: int) -> KnownUser | None:
        row = (await self._c.execute(select(t.users).where(t.users.c.user_id == user_id))).first()
        return KnownUser(row.user_id, row.username, row.is_admin) if row else None

    async def ids(self) -> list[int]:
        return list((await self._c.execute(
            select(t.users.c.user_id).order_by(t.users.c.user_id))).scalars().all())

    async def remove(self, user_id: int) -> None:
        await self._c.execute(delete(t.users).where(t.users.c.user_id == user_id))


class SqlaRoomDirectory(_Store):
    async def put(self, room: KnownRoom) -> None:
        stmt = _upsert(self._c, t.rooms).values(room_id=room.id, name=room.name,
                                                is_private=room.is_private)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.rooms.c.room_id],
            set_={"name": stmt.excluded.name, "is_private": stmt.excluded.is_private}))

    async def names(self, room_ids: list[int]) -> dict[int, str]:
        if not room_ids:
            return {}
        rows = (await self._c.execute(select(t.rooms.c.room_id, t.rooms.c.name)
                                      .where(t.rooms.c.room_id.in_(room_ids)))).all()
        return {r.room_id: r.name for r in rows}


class SqlaMemberDirectory(_Store):
    async def put(self, member: Member) -> None:
        stmt = _upsert(self._c, t.members).values(
            room_id=member.room_id, user_id=member.user_id, username=member.username,
            role=member.role, read_seq=member.read_seq)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.members.c.room_id, t.members.c.user_id],
            set_={"username": stmt.excluded.username, "role": stmt.excluded.role}))

    async def remove(self, room_id: int, user_id: int) -> None:
        await self._c.execute(delete(t.members).where(t.members.c.room_id == room_id,
                                                      t.members.c.user_id == user_id))

    async def of_room(self, room_id: int) -> list[Member]:
        rows = (await self._c.execute(select(t.members).where(t.members.c.room_id == room_id)
                                      .order_by(t.members.c.user_id))).all()
        return [Member(r.room_id, r.user_id, r.username, r.role, r.read_seq) for r in rows]

    async def rooms_of(self, user_id: int) -> list[int]:
        return list((await self._c.execute(
            select(t.members.c.room_id).where(t.members.c.user_id == user_id)
            .order_by(t.members.c.room_id))).scalars().all())

    async def advance_read(self, room_id: int, user_id: int, read_seq: int) -> None:
        await self._c.execute(update(t.members).where(
            t.members.c.room_id == room_id, t.members.c.user_id == user_id,
            t.members.c.read_seq < read_seq).values(read_seq=read_seq))


class SqlaPreferenceStore(_Store):
    async def of_user(self, user_id: int) -> dict[int, Level]:
        rows = (await self._c.execute(select(t.preferences.c.room_id, t.preferences.c.level)
                                      .where(t.preferences.c.user_id == user_id))).all()
        return {r.room_id: stored_level(r.level) for r in rows}

    async def in_room(self, room_id: int) -> dict[int, Level]:
        rows = (await self._c.execute(select(t.preferences.c.user_id, t.preferences.c.level)
                                      .where(t.preferences.c.room_id == room_id))).all()
        return {r.user_id: stored_level(r.level) for r in rows}

    async def put(self, user_id: int, room_id: int, level: Level, now: datetime) -> None:
        if level == DEFAULT_LEVEL:  # the default needs no row
            await self._c.execute(delete(t.preferences).where(
                t.preferences.c.user_id == user_id, t.preferences.c.room_id == room_id))
            return
        stmt = _upsert(self._c, t.preferences).values(user_id=user_id, room_id=room_id,
                                                      level=level, updated_at=now)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.preferences.c.user_id, t.preferences.c.room_id],
            set_={"level": stmt.excluded.level, "updated_at": stmt.excluded.updated_at}))


class SqlaInbox(_Store):
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


class SqlaInboxChanges(_Store):
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


class SqlaDecisionLog(_Store):
    async def add(self, decisions: list[Decision]) -> None:
        if not decisions:
            return
        await self._c.execute(insert(t.decisions), [
            {"user_id": d.user_id, "message_id": d.message_id, "room_id": d.room_id,
             "seq": d.seq, "kind": d.kind, "suppressed_by": d.suppressed_by,
             "notification_id": d.notification_id, "decided_at": d.decided_at}
            for d in decisions])

    async def about_message(self, message_id: int) -> bool:
        d = t.decisions
        return (await self._c.execute(
            select(d.c.pk).where(d.c.message_id == message_id).limit(1))).first() is not None

    async def of_user(self, user_id: int, message_id: int | None, limit: int
                      ) -> list[Decision]:
        d = t.decisions
        query = select(d).where(d.c.user_id == user_id)
        if message_id is not None:
            query = query.where(d.c.message_id == message_id)
        rows = (await self._c.execute(query.order_by(d.c.pk.desc()).limit(limit))).all()
        return [_decision(r) for r in rows]

    async def purge(self, before: datetime) -> int:
        d = t.decisions
        return (await self._c.execute(delete(d).where(d.c.decided_at < before))).rowcount


class SqlaProcessedEvents(_Store):
    async def claim(self, event_id: str, now: datetime) -> bool:
        stmt = _upsert(self._c, t.processed_events).values(event_id=event_id, processed_at=now)
        result = await self._c.execute(stmt.on_conflict_do_nothing(
            index_elements=[t.processed_events.c.event_id]))
        return result.rowcount == 1

    async def purge(self, before: datetime) -> int:
        p = t.processed_events
        return (await self._c.execute(delete(p).where(p.c.processed_at < before))).rowcount


class SqlaDeadLetters(_Store):
    async def add(self, event_id: str, event_type: str, payload: bytes, error: str,
                  now: datetime) -> None:
        await self._c.execute(insert(t.dead_letters).values(
            event_id=event_id, event_type=event_type, payload=payload, error=error,
            failed_at=now))


class SqlaNotificationsTx:
    def __init__(self, conn: AsyncConnection, source: str) -> None:
        self.connection = conn
        self.users = SqlaUserDirectory(conn)
        self.rooms = SqlaRoomDirectory(conn)
        self.members = SqlaMemberDirectory(conn)
        self.preferences = SqlaPreferenceStore(conn)
        self.inbox = SqlaInbox(conn)
        self.changes = SqlaInboxChanges(conn)
        self.decisions = SqlaDecisionLog(conn)
        self.processed = SqlaProcessedEvents(conn)
        self.dead_letters = SqlaDeadLetters(conn)
        self.outbox = OutboxWriter(conn, t.outbox, source)


class SqlaNotificationsUnitOfWork:
    """Transactions over SQLAlchemy; a write's outbox rows go to `committed` (the relay)
    right after its commit, in commit order."""

    def __init__(self, db: Database, source: str = "tertulia/notifications",
                 committed: Committed | None = None) -> None:
        self._db = db
        self._source = source
        self._committed = committed

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlaNotificationsTx]:
        async with write_with_outbox(
                self._db, lambda conn: SqlaNotificationsTx(conn, self._source),
                self._committed) as tx:
            yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlaNotificationsTx]:
        async with self._db.read() as conn:
            yield SqlaNotificationsTx(conn, self._source)
