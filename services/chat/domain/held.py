"""Held messages: posts a `hold` word filter kept out of their room until one of its
moderators (or a server admin) approves or rejects them. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from services.chat.domain.model import Invalid
from services.chat.domain.word_filter import FilterScope

HeldStatus = Literal["pending", "approved", "rejected"]
HELD_STATUSES: tuple[HeldStatus, ...] = ("pending", "approved", "rejected")
HELD_NOTE_MAX_CHARS = 500
HELD_MAX_PAGE = 100


@dataclass(slots=True)
class HeldMessage:
    id: int
    room_id: int
    user_id: int
    content: str
    client_msg_id: str | None
    scope: FilterScope  # whose rule held it
    created_at: datetime
    status: HeldStatus = "pending"
    thread_root_id: int | None = None
    also_send_to_room: bool = False
    attachment_ids: tuple[str, ...] = ()
    decided_by: int | None = None
    decided_at: datetime | None = None
    note: str | None = None
    message_id: int | None = None  # approved: the message it became
    username: str = field(default="")  # read with the row (the author's, now)

    @property
    def approval_msg_id(self) -> str:
        """The `client_msg_id` its approval posts with: a second approval (a retry, two
        moderators at once) finds the first message instead of posting twice."""
        return f"held-{self.id}"


def validate_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    note = note.strip()
    if len(note) > HELD_NOTE_MAX_CHARS:
        raise Invalid("invalid_note", f"A note is at most {HELD_NOTE_MAX_CHARS} characters.")
    return note


def validate_held_page(limit: int, status: str) -> HeldStatus:
    if not 1 <= limit <= HELD_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{HELD_MAX_PAGE}.")
    if status not in HELD_STATUSES:
        raise Invalid("invalid_status", "status is pending, approved or rejected.")
    return status  # type: ignore[return-value]
