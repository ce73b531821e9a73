"""SQLAlchemy store of direct messages: a DM room by its key, its people, and the active
accounts someone starting one picks from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_accounts import _user
from services.chat.adapters.outbound.sqla_rooms import _room
from services.chat.adapters.outbound.sqla_tables import chat_rooms, room_members, users
from services.chat.domain import Conflict, Member, Room, User


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


class SqlaDmStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, key: str, name: str, created_by: int, now: datetime) -> Room:
        try:
            result = await self._s.execute(insert(chat_rooms).values(
                name=name, description=None, is_private=True, created_by=created_by,
                created_at=now, last_seq=0, kind="dm", dm_key=key,
            ).returning(chat_rooms.c.id))
        except IntegrityError as exc:
            # Another opener's transaction stored this key (or, on a database from before
            # names were reserved, a room holds the name): the caller reads it again.
            raise Conflict("dm_exists", "This direct message exists already.") from exc
        return Room(result.scalar_one(), name, None, True, created_by, now, 0, "dm", key)

    async def by_key(self, key: str) -> Room | None:
        row = (await self._s.execute(
            select(chat_rooms).where(chat_rooms.c.dm_key == key))).first()
        return _room(row) if row else None

    async def members_of(self, room_ids: list[int]) -> dict[int, list[Member]]:
        if not room_ids:
            return {}
        rows = (await self._s.execute(
            select(room_members.c.room_id, room_members.c.user_id, users.c.username,
                   room_members.c.role, room_members.c.joined_at, room_members.c.read_seq,
                   users.c.display_name, users.c.is_bot)
            .join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id.in_(room_ids)).order_by(room_members.c.id))).all()
        found: dict[int, list[Member]] = {room_id: [] for room_id in room_ids}
        for r in rows:
            found[r.room_id].append(Member(r.room_id, r.user_id, r.username, r.role,
                                           r.joined_at, r.read_seq, r.display_name,
                                           is_bot=bool(r.is_bot)))
        return found

    async def people(self, prefix: str, limit: int) -> list[User]:
        query = (select(users).where(users.c.deactivated_at.is_(None),
                                     users.c.deleted_at.is_(None))
                 .order_by(users.c.username_key).limit(limit))
        if prefix:
            query = query.where(users.c.username_key.like(_like_prefix(prefix.lower()),
                                                          escape="\\"))
        return [_user(row) for row in (await self._s.execute(query)).all()]
