"""The audit log: every moderation and administration action is recorded in its own
transaction (`record`); administrators read it (`audit_log`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.chat.domain import Actor
from services.chat.domain.audit import AUDIT_REASON_MAX_CHARS, AuditEntry, validate_audit_page
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin


async def record(tx: ChatTx, now: datetime, actor: Actor, action: str, target_type: str,
                 target_id: str | int | None = None, *, room_id: int | None = None,
                 reason: str | None = None, **details: Any) -> None:
    """Write one audit entry inside the action's write transaction: both commit or neither."""
    await tx.audit.add(AuditEntry(
        at=now, actor_id=actor.user_id, action=action, target_type=target_type,
        target_id=str(target_id) if target_id is not None else None, room_id=room_id,
        reason=reason[:AUDIT_REASON_MAX_CHARS] if reason else None, details=details))


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before_id: int | None  # None: this is the oldest page


async def audit_log(deps: ChatDeps, actor: Actor, *, before_id: int | None = None,
                    limit: int = 50, action: str | None = None, actor_id: int | None = None,
                    room_id: int | None = None) -> AuditPage:
    """Administrators only: the newest entries first, filtered by action, actor or room;
    `next_before_id` pages on to older ones."""
    require_admin(actor)
    validate_audit_page(limit, action)
    async with deps.uow.read() as tx:
        rows = await tx.audit.page(before_id=before_id, limit=limit + 1, action=action,
                                   actor_id=actor_id, room_id=room_id)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if more and rows else None)
