"""Chat entities and rules: accounts, rooms, roles, messages, read markers. No I/O here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["admin", "moderator", "member"]
ROLES: tuple[Role, ...] = ("admin", "moderator", "member")
MessageType = Literal["text", "system"]

# Starts and ends with a letter, digit or '_', so "thanks @bob." mentions "bob".
USERNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_]")
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_])")
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_CHARS = 256
ROOM_NAME_MAX_CHARS = 100
ROOM_DESCRIPTION_MAX_CHARS = 1000
CLIENT_MSG_ID_MAX_CHARS = 64


class ChatError(Exception):
    """A rule said no. `code` is stable: HTTP problem details and WebSocket error frames use it."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


@dataclass(slots=True)
class Member:
    room_id: int
    user_id: int
    username: str
    role: Role
    joined_at: datetime
    read_seq: int = 0


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


def validate_username(username: str) -> str:
    if not USERNAME_RE.fullmatch(username):
        raise Invalid("invalid_username",
                      "Username must be 3-32 characters: letters, digits, '_', '.', '-', "
                      "starting and ending with a letter, digit or '_'.")
    return username


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """NIST SP 800-63B: long enough, not a known common password, not the username; no
    composition rules. `common` holds lower-cased passwords (the bundled list)."""

    common: frozenset[str] = frozenset()

    def check(self, password: str, username: str | None = None) -> str:
        # len() counts code points, as the guideline asks ("ñ" is one character).
        if len(password) < PASSWORD_MIN_CHARS:
            raise Invalid("password_too_short",
                          f"Passwords need at least {PASSWORD_MIN_CHARS} characters.")
        if len(password) > PASSWORD_MAX_CHARS:
            raise Invalid("password_too_long",
                          f"Passwords have at most {PASSWORD_MAX_CHARS} characters.")
        if not password.strip():
            raise Invalid("password_blank", "A password cannot be only spaces.")
        folded = password.casefold()
        if username is not None and folded == username.casefold():
            raise Invalid("password_is_username", "The password cannot be the username.")
        if folded in self.common:
            raise Invalid("password_too_common",
                          "That password is one of the most common ones; choose another.")
        return password


def validate_password(password: str, username: str | None = None,
                      policy: PasswordPolicy = PasswordPolicy()) -> str:
    return policy.check(password, username)


def validate_role(role: str) -> Role:
    if role not in ROLES:
        raise Invalid("invalid_role", f"Role must be one of {', '.join(ROLES)}.")
    return role  # type: ignore[return-value]


def validate_room_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > ROOM_NAME_MAX_CHARS:
        raise Invalid("invalid_room_name",
                      f"Room name must be 1-{ROOM_NAME_MAX_CHARS} characters.")
    return name


def validate_description(description: str | None) -> str | None:
    if description is not None and len(description) > ROOM_DESCRIPTION_MAX_CHARS:
        raise Invalid("invalid_description",
                      f"Description must be at most {ROOM_DESCRIPTION_MAX_CHARS} characters.")
    return description


def validate_content(content: str, max_chars: int) -> str:
    """Content is stored trimmed; empty after trimming or longer than `max_chars` is refused."""
    trimmed = content.strip()
    if not trimmed:
        raise Invalid("content_empty", "Message content is empty.")
    if len(trimmed) > max_chars:
        raise Invalid("content_too_long", f"Message content exceeds {max_chars} characters.")
    return trimmed


def validate_client_msg_id(client_msg_id: str | None) -> str | None:
    if client_msg_id is not None and not 1 <= len(client_msg_id) <= CLIENT_MSG_ID_MAX_CHARS:
        raise Invalid("invalid_client_msg_id",
                      f"client_msg_id must be 1-{CLIENT_MSG_ID_MAX_CHARS} characters.")
    return client_msg_id


def mentions_in(content: str) -> list[str]:
    """`@username` mentions (and `@room`), lower-cased, in first-seen order, without repeats."""
    seen: dict[str, None] = {}
    for name in MENTION_RE.findall(content):
        seen.setdefault(name.lower(), None)
    return list(seen)


def can_read(room: Room, actor: Actor, member: Member | None) -> bool:
    return not room.is_private or member is not None


def can_post(room: Room, actor: Actor, member: Member | None) -> bool:
    """Members post; in a public room any signed-in user may (posting joins them)."""
    if actor.is_guest:
        return False
    return member is not None or not room.is_private


def is_moderator(actor: Actor, member: Member | None) -> bool:
    return actor.is_admin or (member is not None and member.role in ("admin", "moderator"))


def is_room_admin(actor: Actor, member: Member | None) -> bool:
    return actor.is_admin or (member is not None and member.role == "admin")


def can_edit(message: Message, actor: Actor) -> bool:
    """Only the author rewrites their words; moderators delete instead."""
    return not actor.is_guest and message.user_id == actor.user_id


def can_delete(message: Message, actor: Actor, member: Member | None) -> bool:
    return (not actor.is_guest and message.user_id == actor.user_id) or is_moderator(actor, member)


def next_read_seq(current: int, requested: int, last_seq: int) -> int:
    """Read markers only move forward and never past the room's last message."""
    return max(current, min(requested, last_seq))
