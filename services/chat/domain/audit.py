"""The audit log's entry: who did what to what, when and why (moderation and administration
actions, written in the action's own transaction). No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.chat.domain.model import Invalid

AUDIT_MAX_PAGE = 200
AUDIT_REASON_MAX_CHARS = 500
AUDIT_ACTION_MAX_CHARS = 40


@dataclass(slots=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    action: str  # dotted, e.g. "member.kick" (docs/protocol.md lists them)
    target_type: str  # "user", "room", "message", "report", ...
    target_id: str | None = None
    room_id: int | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    # Read with the page (the actor's current username), never written.
    actor_username: str | None = None


def validate_audit_page(limit: int, action: str | None) -> None:
    if not 1 <= limit <= AUDIT_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{AUDIT_MAX_PAGE}.")
    if action is not None and not 1 <= len(action) <= AUDIT_ACTION_MAX_CHARS:
        raise Invalid("invalid_action", f"action must be 1-{AUDIT_ACTION_MAX_CHARS} characters.")
