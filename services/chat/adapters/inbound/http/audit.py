"""`GET /api/admin/audit`: the audit log, for administrators (docs/protocol.md, Audit log)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep
from services.chat.domain.audit import AUDIT_ACTION_MAX_CHARS, AUDIT_MAX_PAGE, AuditEntry
from services.chat.use_cases.audit import audit_log
from shared.contracts.bounds import Id


def audit_entry_data(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor_id": entry.actor_id,
            "actor_username": entry.actor_username, "action": entry.action,
            "target_type": entry.target_type, "target_id": entry.target_id,
            "room_id": entry.room_id, "reason": entry.reason, "details": entry.details}


def audit_router() -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["admin"])

    @router.get("/audit")
    async def audit(who: ActorDep, chat: ChatDep,
                    before_id: Annotated[Id | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=AUDIT_MAX_PAGE)] = 50,
                    action: Annotated[str | None, Query(min_length=1,
                                                       max_length=AUDIT_ACTION_MAX_CHARS)] = None,
                    actor_id: Annotated[Id | None, Query()] = None,
                    room_id: Annotated[Id | None, Query()] = None) -> dict[str, Any]:
        """Administrators only (403 `forbidden`): newest first; `next_before_id` (or null)
        is the `before_id` of the next, older page."""
        page = await audit_log(chat.deps, who, before_id=before_id, limit=limit,
                               action=action, actor_id=actor_id, room_id=room_id)
        return {"entries": [audit_entry_data(e) for e in page.entries],
                "next_before_id": page.next_before_id}

    return router
