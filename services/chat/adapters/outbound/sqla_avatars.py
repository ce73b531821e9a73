"""SQLAlchemy store of each user's current avatar: `users.avatar_file_id`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import users


class SqlaAvatarStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def avatar_of(self, user_id: int) -> str | None:
        return await self._s.scalar(select(users.c.avatar_file_id).where(users.c.id == user_id))

    async def set_avatar(self, user_id: int, file_id: str | None) -> None:
        await self._s.execute(update(users).where(users.c.id == user_id)
                              .values(avatar_file_id=file_id))

    async def avatars_of(self, user_ids: Sequence[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        rows = await self._s.execute(select(users.c.id, users.c.avatar_file_id).where(
            users.c.id.in_(sorted(set(user_ids))), users.c.avatar_file_id.is_not(None)))
        return {row.id: row.avatar_file_id for row in rows}
