"""Users, rooms and members as the service knows them from chat's events."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.adapters.outbound.sqla_base import SqlaStore, upsert
from services.notifications.domain import (
    KnownRoom,
    KnownUser,
    Member,
)


class SqlaUserDirectory(SqlaStore):
    async def put(self, user: KnownUser) -> None:
        stmt = upsert(self._c, t.users).values(user_id=user.id, username=user.username,
                                                is_admin=user.is_admin,
                                                display_name=user.display_name)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.users.c.user_id],
            set_={"username": stmt.excluded.username, "is_admin": stmt.excluded.is_admin,
                  "display_name": stmt.excluded.display_name}))

    async def get(self, user_id: int) -> KnownUser | None:
        row = (await self._c.execute(select(t.users).where(t.users.c.user_id == user_id))).first()
        return (KnownUser(row.user_id, row.username, row.is_admin, row.display_name)
                if row else None)

    async def ids(self) -> list[int]:
        return list((await self._c.execute(
            select(t.users.c.user_id).order_by(t.users.c.user_id))).scalars().all())

    async def remove(self, user_id: int) -> None:
        await self._c.execute(delete(t.users).where(t.users.c.user_id == user_id))


class SqlaRoomDirectory(SqlaStore):
    async def put(self, room: KnownRoom) -> None:
        stmt = upsert(self._c, t.rooms).values(room_id=room.id, name=room.name,
                                                is_private=room.is_private, kind=room.kind)
        changed = {"name": stmt.excluded.name, "is_private": stmt.excluded.is_private}
        if room.kind == "dm":  # a kind is never undone: RoomUpdated says "room", unknowing
            changed["kind"] = stmt.excluded.kind
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.rooms.c.room_id], set_=changed))

    async def names(self, room_ids: list[int]) -> dict[int, str]:
        if not room_ids:
            return {}
        rows = (await self._c.execute(select(t.rooms.c.room_id, t.rooms.c.name)
                                      .where(t.rooms.c.room_id.in_(room_ids)))).all()
        return {r.room_id: r.name for r in rows}

    async def dms_among(self, room_ids: list[int]) -> set[int]:
        if not room_ids:
            return set()
        return set((await self._c.execute(select(t.rooms.c.room_id).where(
            t.rooms.c.room_id.in_(room_ids), t.rooms.c.kind == "dm"))).scalars())


class SqlaMemberDirectory(SqlaStore):
    async def put(self, member: Member) -> None:
        stmt = upsert(self._c, t.members).values(
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
