"""Chat's words: roles, limits, errors with stable codes, and the entities (accounts,
sessions, rooms, members, messages, frames). No I/O."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.chat.domain.marks import Pin, ReactionSummary
from services.chat.domain.stored_file import StoredFile
from shared.errors import RuleError

Role = Literal["admin", "moderator", "member"]
ROLES: tuple[Role, ...] = ("admin", "moderator", "member")
MessageType = Literal["text", "system"]
# A room everyone may find (public or private), or a direct message between 2-8 people.
RoomKind = Literal["room", "dm"]

# Starts and ends with a letter, digit or '_', so "thanks @bob." mentions "bob".
USERNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_]")
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_])")
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 256
ROOM_NAME_MAX_CHARS = 100
ROOM_DESCRIPTION_MAX_CHARS = 1000
CLIENT_MSG_ID_MAX_CHARS = 64


class ChatError(RuleError):
    """A rule said no. `code` is stable: HTTP problem details and WebSocket error frames use it."""

    def extra(self) -> dict[str, Any]:
        """Fields the problem details and the `error` frame carry besides the code."""
        return {}


class Invalid(ChatError):
    status = 422


class NotFound(ChatError):
    status = 404


class Forbidden(ChatError):
    status = 403


class Conflict(ChatError):
    status = 409


class Unauthenticated(ChatError):
    status = 401


class Throttled(ChatError):
    """Too many requests: try again after `retry_after_secs` (HTTP `Retry-After`)."""

    status = 429

    def __init__(self, code: str, message: str, retry_after_secs: int) -> None:
        super().__init__(code, message)
        self.retry_after_secs = retry_after_secs


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user (from a verified token) or a guest (user_id None)."""

    user_id: int | None
    username: str | None = None
    is_admin: bool = False

    @property
    def is_guest(self) -> bool:
        return self.user_id is None


GUEST = Actor(user_id=None)


@dataclass(slots=True)
class User:
    id: int
    username: str
    display_name: str | None
    is_admin: bool
    created_at: datetime
    # An administrator deactivated the account: it cannot sign in until reactivated.
    deactivated_at: datetime | None = None
    # The user deleted it: the row stays (messages keep the name, and the name stays taken),
    # with no password, no display name and no memberships.
    deleted_at: datetime | None = None
    # The profile each user edits (`domain/profile.py` has its rules).
    status_text: str | None = None
    time_zone: str | None = None
    # A server-wide mute in force until then (`domain/moderation.py`; FOREVER: until lifted).
    muted_until: datetime | None = None

    @property
    def active(self) -> bool:
        return self.deactivated_at is None and self.deleted_at is None


# What a deleted account's password hash becomes: no password verifies against it.
NO_PASSWORD = "!"


@dataclass(slots=True)
class AuthSession:
    """One sign-in. Its tokens carry its id (`sid`); revoking it makes every service refuse
    them until `expires_at`, when they would have expired anyway."""

    id: str
    user_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


@dataclass(slots=True)
class Room:
    id: int
    name: str
    description: str | None
    is_private: bool
    created_by: int | None
    created_at: datetime
    last_seq: int = 0
    kind: RoomKind = "room"
    # A direct message's people, as `dms.dm_key` writes them (unique): None for rooms.
    dm_key: str | None = None
    # Slow mode (`domain/moderation.py`): one post per member per this many seconds; 0 off.
    slow_mode_secs: int = 0


@dataclass(slots=True)
class Member:
    room_id: int
    user_id: int
    username: str
    role: Role
    joined_at: datetime
    read_seq: int = 0
    display_name: str | None = None  # the user's current one, None when they have none
    # A room mute in force until then (FOREVER: until lifted); the last post, for slow mode.
    muted_until: datetime | None = None
    last_post_at: datetime | None = None


@dataclass(slots=True)
class Message:
    id: int
    room_id: int
    seq: int
    user_id: int | None
    username: str
    content: str
    message_type: MessageType
    created_at: datetime
    client_msg_id: str | None = None
    edited_at: datetime | None = None
    is_deleted: bool = False
    mentions: list[str] = field(default_factory=list)
    # The author's current display name (read with the message, never stored on it).
    display_name: str | None = None
    # Threads (domain/threads.py): a reply names its root; a root counts its replies.
    thread_root_id: int | None = None
    also_send_to_room: bool = False
    reply_count: int = 0
    last_reply_at: datetime | None = None
    # Read for a page (history, a join's replay), for its viewer; None: not read, and the
    # message's frames and answers carry neither (`domain/reactions.py`).
    reactions: list[ReactionSummary] | None = None
    pin: Pin | None = None
    # Its files (`domain/files.py`), in upload order; read only where the message is.
    attachments: tuple[StoredFile, ...] = ()


@dataclass(frozen=True, slots=True)
class Unread:
    room_id: int
    count: int
    mentions: int
    last_seq: int
    read_seq: int


@dataclass(frozen=True, slots=True)
class Presence:
    user_id: int
    status: str
    current_room: int | None = None
    last_active_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    """A server → client frame; adapters serialise it once, however many sockets receive it.

    `data` is a domain object (`Message`, `Room`, `Member`, `Unread`) or, for frames with no
    object of their own, a plain dict: its JSON shape is the adapters' (`adapters/frames.py`).
    `members_only` marks a `room_updated` that makes the room private: replicas drop their
    non-members' sockets from it."""

    type: str
    data: Any
    seq: int | None = None
    exclude_connection: str | None = None
    exclude_user: int | None = None
    about_user: int | None = None
    members_only: bool = False
