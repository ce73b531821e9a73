"""Reports of messages: a member flags a message with a reason; the room's moderators and
the administrators resolve it with one action. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.chat.domain.model import Actor, Conflict, Invalid, Message

ReportStatus = Literal["open", "resolved"]
Resolution = Literal["dismiss", "delete", "warn", "mute", "ban"]
RESOLUTIONS: tuple[Resolution, ...] = ("dismiss", "delete", "warn", "mute", "ban")
REPORT_REASON_MAX_CHARS = 500
REPORT_NOTE_MAX_CHARS = 500
REPORTS_MAX_PAGE = 100


@dataclass(slots=True)
class Report:
    id: int | None
    message_id: int
    room_id: int
    reporter_id: int
    reason: str
    status: ReportStatus
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: int | None = None
    resolution: Resolution | None = None
    note: str | None = None
    # Read with the queue, never written.
    reporter_username: str | None = None
    message: Message | None = None


def validate_report(message: Message, actor: Actor, reason: str) -> str:
    reason = reason.strip()
    if not 1 <= len(reason) <= REPORT_REASON_MAX_CHARS:
        raise Invalid("invalid_reason", f"reason must be 1-{REPORT_REASON_MAX_CHARS} characters.")
    if message.user_id == actor.user_id:
        raise Invalid("cannot_report_own", "You cannot report your own message.")
    if message.is_deleted:
        raise Conflict("message_deleted", "The message is deleted already.")
    if message.message_type != "text":
        raise Invalid("cannot_report_system", "System messages cannot be reported.")
    return reason


def validate_resolution(action: str, note: str | None) -> tuple[Resolution, str | None]:
    if action not in RESOLUTIONS:
        raise Invalid("invalid_action", f"action must be one of {', '.join(RESOLUTIONS)}.")
    if note is not None:
        note = note.strip() or None
        if note is not None and len(note) > REPORT_NOTE_MAX_CHARS:
            raise Invalid("invalid_note", f"note must be at most {REPORT_NOTE_MAX_CHARS} "
                          "characters.")
    return action, note  # type: ignore[return-value]


def validate_report_page(status: str, limit: int) -> ReportStatus:
    if status not in ("open", "resolved"):
        raise Invalid("invalid_status", "status must be open or resolved.")
    if not 1 <= limit <= REPORTS_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{REPORTS_MAX_PAGE}.")
    return status  # type: ignore[return-value]
