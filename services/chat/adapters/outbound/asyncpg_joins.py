"""`JoinReader` on PostgreSQL with asyncpg directly: a join's reads in one read-only
transaction (repeatable read, so the replay and `last_seq` agree)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.chat.adapters.outbound.asyncpg_posts import (
    MESSAGES_WITH_AUTHOR,
    asyncpg_dsn,
    aware,
    message_of,
)
from services.chat.adapters.outbound.file_rows import ASYNCPG_FILES_OF, file_of, give_files
from services.chat.domain import Member, Room
from services.chat.ports import JoinView

JOIN_POOL_SIZE = 4


class AsyncpgJoinReader:
    def __init__(self, url: str) -> None:
        self._dsn = asyncpg_dsn(url)
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=JOIN_POOL_SIZE)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def read(self, room_id: int, user_id: int | None, since_seq: int | None, *,
                   replay_max: int, history: int) -> JoinView:
        assert self._pool is not None, "start() opens the pool"
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                                  readonly=True):
            return await self._view(conn, room_id, user_id, since_seq, replay_max, history)

    @staticmethod
    async def _view(conn: Any, room_id: int, user_id: int | None, since_seq: int | None,
                    replay_max: int, history: int) -> JoinView:
        row = await conn.fetchrow(
            "SELECT r.id, r.name, r.description, r.is_private, r.created_by, r.created_at, "
            "r.last_seq, rm.user_id, u.username, rm.role, rm.joined_at, rm.read_seq, "
            "u.display_name, r.kind "
            "FROM chat_rooms r LEFT JOIN room_members rm ON rm.room_id = r.id "
            "AND rm.user_id = $1 LEFT JOIN users u ON u.id = rm.user_id WHERE r.id = $2",
            user_id, room_id)
        if row is None:
            return JoinView(None, None, [], False, [])
        room = Room(row[0], row[1], row[2], row[3], row[4], aware(row[5]),  # type: ignore[arg-type]
                    row[6], row[13])
        member = None
        if row[7] is not None:
            member = Member(room_id, row[7], row[8], row[9], aware(row[10]),  # type: ignore[arg-type]
                            row[11], row[12])
        messages, recovered = [], False
        if since_seq is not None:
            messages = [message_of(r) for r in await conn.fetch(
                f"SELECT {MESSAGES_WITH_AUTHOR} WHERE m.room_id = $1 AND m.seq > $2 "
                "ORDER BY m.seq LIMIT $3", room_id, since_seq, replay_max + 1)]
            recovered = len(messages) <= replay_max
        if not recovered:
            messages = [message_of(r) for r in await conn.fetch(
                f"SELECT {MESSAGES_WITH_AUTHOR} WHERE m.room_id = $1 "
                "ORDER BY m.seq DESC LIMIT $2", room_id, history)][::-1]
        if messages:
            give_files(messages, (file_of(r, aware) for r in await conn.fetch(
                ASYNCPG_FILES_OF, [m.id for m in messages])))
        members = [(r[0], r[1]) for r in await conn.fetch(
            "SELECT rm.user_id, u.username FROM room_members rm "
            "JOIN users u ON u.id = rm.user_id WHERE rm.room_id = $1 ORDER BY rm.id", room_id)]
        return JoinView(room, member, messages, recovered, members)
