"""SQLAlchemy stores of rooms and their members (roles, read markers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import chat_rooms, room_members, users
from services.chat.domain import Conflict, Member, Role, Room

# Statements of frequent paths are built once, with bind parameters: building a statement
# object costs about as much CPU as executing it (measured with pyinstrument). These are
# immutable SQL expressions, not shared state.
_ROOM_WITH_MEMBER = (
    select(chat_rooms, room_members.c.user_id.label("m_user_id"), room_members.c.role,
           room_members.c.joined_at, room_members.c.read_seq,
           room_members.c.muted_until, room_members.c.last_post_at,
           users.c.username.label("m_username"),
           users.c.display_name.label("m_display_name"))
    .select_from(chat_rooms.outerjoin(room_members, and_(
        room_members.c.room_id == chat_rooms.c.id,
        room_members.c.user_id == bindparam("user_id")))
        .outerjoin(users, users.c.id == room_members.c.user_id))
    .where(chat_rooms.c.id == bindparam("room_id")))
_ADVANCE_READ = (update(room_members).where(
    room_members.c.room_id == bindparam("b_room_id"),
    room_members.c.user_id == bindparam("b_user_id"),
    room_members.c.read_seq < bindparam("b_seq")).values(read_seq=bindparam("b_seq")))


def _room(row: Any) -> Room:
    return Room(row.id, row.name, row.description, row.is_private, row.created_by,
                row.created_at, row.last_seq, row.kind, row.dm_key, row.slow_mode_secs)


class SqlaRoomStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, name: str, description: str | None, is_private: bool,
                  created_by: int | None, now: datetime) -> Room:
        try:
            result = await self._s.execute(insert(chat_rooms).values(
                name=name, description=description, is_private=is_private,
                created_by=created_by, created_at=now, last_seq=0,
            ).returning(chat_rooms.c.id))
        except IntegrityError as exc:
            raise Conflict("room_name_taken", f"A room named {name!r} exists.") from exc
        return Room(result.scalar_one(), name, description, is_private, created_by, now, 0)

    async def get(self, room_id: int) -> Room | None:
        row = (await self._s.execute(
            select(chat_rooms).where(chat_rooms.c.id == room_id))).first()
        return _room(row) if row else None

    async def with_member(self, room_id: int, user_id: int | None
                          ) -> tuple[Room | None, Member | None]:
        if user_id is None:
            return await self.get(room_id), None
        row = (await self._s.execute(_ROOM_WITH_MEMBER,
                                     {"room_id": room_id, "user_id": user_id})).first()
        if row is None:
            return None, None
        member = None
        if row.m_user_id is not None:
            member = Member(room_id, row.m_user_id, row.m_username, row.role, row.joined_at,
                            row.read_seq, row.m_display_name, row.muted_until,
                            row.last_post_at)
        return _room(row), member

    async def by_name(self, name: str) -> Room | None:
        row = (await self._s.execute(
            select(chat_rooms).where(chat_rooms.c.name == name))).first()
        return _room(row) if row else None

    async def update(self, room: Room) -> None:
        await self._s.execute(update(chat_rooms).where(chat_rooms.c.id == room.id).values(
            name=room.name, description=room.description, is_private=room.is_private,
            slow_mode_secs=room.slow_mode_secs))

    async def visible_to(self, user_id: int | None) -> list[Room]:
        query = select(chat_rooms).order_by(chat_rooms.c.id)
        if user_id is None:
            query = query.where(chat_rooms.c.is_private.is_(False))
        else:
            mine = select(room_members.c.room_id).where(room_members.c.user_id == user_id)
            query = query.where(or_(chat_rooms.c.is_private.is_(False),
                                    chat_rooms.c.id.in_(mine)))
        return [_room(r) for r in (await self._s.execute(query)).all()]


class SqlaMemberStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    _columns = (room_members.c.room_id, room_members.c.user_id, users.c.username,
                room_members.c.role, room_members.c.joined_at, room_members.c.read_seq,
                users.c.display_name, room_members.c.muted_until, room_members.c.last_post_at)

    def _member(self, row: Any) -> Member:
        return Member(row.room_id, row.user_id, row.username, row.role, row.joined_at,
                      row.read_seq, row.display_name, row.muted_until, row.last_post_at)

    async def get(self, room_id: int, user_id: int) -> Member | None:
        row = (await self._s.execute(
            select(*self._columns).join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id == room_id, room_members.c.user_id == user_id)
        )).first()
        return self._member(row) if row else None

    async def add(self, member: Member) -> None:
        try:
            await self._s.execute(insert(room_members).values(
                room_id=member.room_id, user_id=member.user_id, role=member.role,
                joined_at=member.joined_at, last_seen=member.joined_at,
                read_seq=member.read_seq, muted_until=member.muted_until))
        except IntegrityError as exc:
            raise Conflict("already_member", "Already a member of this room.") from exc

    async def remove(self, room_id: int, user_id: int) -> None:
        await self._s.execute(delete(room_members).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id))

    async def list(self, room_id: int) -> list[Member]:
        rows = (await self._s.execute(
            select(*self._columns).join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id == room_id).order_by(room_members.c.id))).all()
        return [self._member(r) for r in rows]

    async def rooms_of(self, user_id: int) -> list[int]:
        return list((await self._s.execute(
            select(room_members.c.room_id).where(room_members.c.user_id == user_id)
            .order_by(room_members.c.room_id))).scalars().all())

    async def set_role(self, room_id: int, user_id: int, role: Role) -> None:
        await self._s.execute(update(room_members).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id,
        ).values(role=role))

    async def set_read_seq(self, room_id: int, user_id: int, seq: int) -> None:
        # Never backwards, even when two sockets race.
        await self._s.execute(_ADVANCE_READ, {"b_room_id": room_id, "b_user_id": user_id,
                                              "b_seq": seq})
