"""What is said about a message after it was posted: reactions, pins, edits, as records.
A leaf: `model.Message` carries them, `reactions.py` has the rules. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EditAction = Literal["edited", "deleted"]


@dataclass(frozen=True, slots=True)
class Reaction:
    """One person's emoji on one message."""

    message_id: int
    user_id: int
    username: str
    emoji: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReactionSummary:
    """An emoji on a message as one viewer sees it: how many, whether they are among them,
    and the first `reactions.REACTION_USERS_LISTED` of them as (user_id, username), earliest
    first."""

    emoji: str
    count: int
    me: bool
    users: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Pin:
    message_id: int
    room_id: int
    pinned_by: int | None
    pinned_at: datetime
    pinned_by_username: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEdit:
    """One change to a message, kept for moderators: an edit (the content before and after)
    or the deletion (the content before it)."""

    message_id: int
    room_id: int
    editor_id: int | None
    action: EditAction
    previous_content: str
    new_content: str | None
    edited_at: datetime
    id: int | None = None
    editor_username: str | None = None


@dataclass(frozen=True, slots=True)
class MessageMarks:
    """A page's reactions and pins, read together: message id → its reactions (any order),
    message id → its pin."""

    reactions: Mapping[int, Sequence[Reaction]]
    pins: Mapping[int, Pin]
