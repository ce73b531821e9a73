"""SQLAlchemy stores of bot tokens and incoming webhooks (`chat_bot_tokens`, `chat_hooks`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_accounts import _user
from services.chat.adapters.outbound.sqla_tables import chat_bot_tokens, chat_hooks, users
from services.chat.domain import User
from services.chat.domain.bots import BotToken, Hook

_t = chat_bot_tokens
_h = chat_hooks


def _token(row: Any) -> BotToken:
    return BotToken(row.id, row.bot_id, row.name, tuple(row.scopes.split()), row.created_at,
                    row.created_by, row.revoked_at)


def _hook(row: Any) -> Hook:
    return Hook(row.id, row.room_id, row.bot_id, row.name, row.created_at, row.created_by,
                row.deleted_at)


class SqlaBotStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def bots(self) -> list[User]:
        rows = await self._s.execute(select(users).where(users.c.is_bot.is_(True))
                                     .order_by(users.c.id))
        return [_user(r) for r in rows.all()]

    async def add_token(self, token: BotToken, digest: str) -> BotToken:
        result = await self._s.execute(insert(_t).values(
            bot_id=token.bot_id, name=token.name, digest=digest, scopes=" ".join(token.scopes),
            created_by=token.created_by, created_at=token.created_at).returning(_t.c.id))
        token.id = result.scalar_one()
        return token

    async def tokens_of(self, bot_id: int) -> list[BotToken]:
        rows = await self._s.execute(select(_t).where(_t.c.bot_id == bot_id).order_by(_t.c.id))
        return [_token(r) for r in rows.all()]

    async def revoke_token(self, bot_id: int, token_id: int, now: datetime) -> BotToken | None:
        await self._s.execute(update(_t).where(_t.c.id == token_id, _t.c.bot_id == bot_id,
                                               _t.c.revoked_at.is_(None))
                              .values(revoked_at=now))
        row = (await self._s.execute(
            select(_t).where(_t.c.id == token_id, _t.c.bot_id == bot_id))).first()
        return _token(row) if row else None

    async def by_digest(self, digest: str) -> tuple[BotToken, User] | None:
        row = (await self._s.execute(
            select(_t).where(_t.c.digest == digest, _t.c.revoked_at.is_(None)))).first()
        if row is None:
            return None
        user = (await self._s.execute(select(users).where(users.c.id == row.bot_id))).first()
        return (_token(row), _user(user)) if user else None


class SqlaHookStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, hook: Hook, digest: str) -> Hook:
        result = await self._s.execute(insert(_h).values(
            room_id=hook.room_id, bot_id=hook.bot_id, name=hook.name, digest=digest,
            created_by=hook.created_by, created_at=hook.created_at).returning(_h.c.id))
        hook.id = result.scalar_one()
        return hook

    async def of_room(self, room_id: int) -> list[Hook]:
        rows = await self._s.execute(select(_h).where(_h.c.room_id == room_id,
                                                      _h.c.deleted_at.is_(None))
                                     .order_by(_h.c.id))
        return [_hook(r) for r in rows.all()]

    async def delete(self, room_id: int, hook_id: int, now: datetime) -> Hook | None:
        rows = (await self._s.execute(
            update(_h).where(_h.c.id == hook_id, _h.c.room_id == room_id,
                             _h.c.deleted_at.is_(None))
            .values(deleted_at=now).returning(*_h.c))).all()
        return _hook(rows[0]) if rows else None

    async def by_digest(self, digest: str) -> Hook | None:
        row = (await self._s.execute(select(_h).where(_h.c.digest == digest,
                                                      _h.c.deleted_at.is_(None)))).first()
        return _hook(row) if row else None
