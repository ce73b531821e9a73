"""In-memory stand-ins for the moderation ports (the audit log), like the SQLAlchemy ones."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.chat.domain.audit import AuditEntry
from tests.support.memory_uow import MemoryStore


class InMemoryAuditLog(MemoryStore[Any]):
    async def add(self, entry: AuditEntry) -> None:
        self._writing()
        entry.id = self._state.next_id("chat_audit")
        self._state.audit.append(replace(entry, details=dict(entry.details),
                                         actor_username=None))

    async def page(self, *, before_id: int | None, limit: int, action: str | None = None,
                   actor_id: int | None = None, room_id: int | None = None
                   ) -> list[AuditEntry]:
        users = self._state.users
        found = [e for e in reversed(self._state.audit)
                 if (before_id is None or e.id < before_id)  # type: ignore[operator]
                 and (action is None or e.action == action)
                 and (actor_id is None or e.actor_id == actor_id)
                 and (room_id is None or e.room_id == room_id)]
        return [replace(e, details=dict(e.details),
                        actor_username=users[e.actor_id].username
                        if e.actor_id in users else None) for e in found[:limit]]
