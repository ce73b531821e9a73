"""The audit log over SQLAlchemy (`chat_audit`)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import chat_audit, users
from services.chat.domain.audit import AuditEntry


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(at=row.at, actor_id=row.actor_id, action=row.action,
                      target_type=row.target_type, target_id=row.target_id,
                      room_id=row.room_id, reason=row.reason,
                      details=orjson.loads(row.details or "{}"), id=row.id,
                      actor_username=row.actor_username)


class SqlaAuditLog:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, entry: AuditEntry) -> None:
        result = await self._s.execute(insert(chat_audit).values(
            at=entry.at, actor_id=entry.actor_id, action=entry.action,
            target_type=entry.target_type, target_id=entry.target_id, room_id=entry.room_id,
            reason=entry.reason, details=orjson.dumps(entry.details).decode(),
        ).returning(chat_audit.c.id))
        entry.id = result.scalar_one()

    async def page(self, *, before_id: int | None, limit: int, action: str | None = None,
                   actor_id: int | None = None, room_id: int | None = None
                   ) -> list[AuditEntry]:
        query = (select(chat_audit, users.c.username.label("actor_username"))
                 .select_from(chat_audit.outerjoin(users, users.c.id == chat_audit.c.actor_id))
                 .order_by(chat_audit.c.id.desc()).limit(limit))
        if before_id is not None:
            query = query.where(chat_audit.c.id < before_id)
        if action is not None:
            query = query.where(chat_audit.c.action == action)
        if actor_id is not None:
            query = query.where(chat_audit.c.actor_id == actor_id)
        if room_id is not None:
            query = query.where(chat_audit.c.room_id == room_id)
        return [_entry(r) for r in (await self._s.execute(query)).all()]
