"""Chat's rules: what a valid name, password, room or message is, who may read, post,
edit and delete, and how a read marker moves. No I/O."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain.dms import DM_NAME_PREFIX
from services.chat.domain.model import (
    CLIENT_MSG_ID_MAX_CHARS,
    MENTION_RE,
    PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
    ROLES,
    ROOM_DESCRIPTION_MAX_CHARS,
    ROOM_NAME_MAX_CHARS,
    USERNAME_RE,
    Actor,
    Invalid,
    Member,
    Message,
    Role,
    Room,
)


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
    if name.casefold().startswith(DM_NAME_PREFIX):
        raise Invalid("room_name_reserved", f"Room names cannot start with {DM_NAME_PREFIX!r}.")
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
