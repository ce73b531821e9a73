"""Bots and incoming webhooks: a bot is a user with `is_bot`; its tokens carry scopes
(`post:<room_id>`, `read:<room_id>`); a room's hook posts as a bot of its own. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.chat.domain.model import Actor, Forbidden, Invalid

BOT_TOKEN_PREFIX = "tb_"
HOOK_SECRET_PREFIX = "th_"
TOKEN_NAME_MAX_CHARS = 100
HOOK_NAME_MAX_CHARS = 64  # it is its bot's display name (`DISPLAY_NAME_MAX_CHARS`)
SCOPES_MAX = 100
# A webhook's per-message name (Slack's `username`): shown instead of the hook's name.
HOOK_LABEL_MAX_CHARS = 64
ScopeKind = Literal["post", "read"]
_SCOPE_RE = re.compile(r"(post|read):([1-9][0-9]{0,17})")


@dataclass(slots=True)
class BotToken:
    """One revocable credential of a bot; only its digest is stored."""

    id: int
    bot_id: int
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: int | None = None
    revoked_at: datetime | None = None


@dataclass(slots=True)
class Hook:
    """An incoming webhook of a room: whoever holds its secret URL posts there, as
    `bot_id` (a bot user made for the hook, a member of the room)."""

    id: int
    room_id: int
    bot_id: int
    name: str
    created_at: datetime
    created_by: int | None = None
    deleted_at: datetime | None = None


def validate_scopes(scopes: list[str]) -> tuple[str, ...]:
    """`post:<room_id>` and `read:<room_id>`, at least one, without repeats (order kept)."""
    if not scopes:
        raise Invalid("invalid_scopes", "A token needs at least one scope.")
    if len(scopes) > SCOPES_MAX:
        raise Invalid("invalid_scopes", f"A token has at most {SCOPES_MAX} scopes.")
    for scope in scopes:
        if not _SCOPE_RE.fullmatch(scope):
            raise Invalid("invalid_scopes",
                          f"Unknown scope {scope[:40]!r}: use post:<room_id> or read:<room_id>.")
    return tuple(dict.fromkeys(scopes))


def scope_rooms(scopes: tuple[str, ...]) -> list[int]:
    return sorted({int(s.split(":", 1)[1]) for s in scopes})


def validate_label(name: str, code: str, max_chars: int) -> str:
    """A token's or hook's name, trimmed: 1-`max_chars` characters on one line (`code`)."""
    name = name.strip()
    if not name or len(name) > max_chars or any(ch < " " or ch == "\x7f" for ch in name):
        raise Invalid(code, f"A name is 1-{max_chars} characters on one line.")
    return name


def require_scope(actor: Actor, kind: ScopeKind, room_id: int) -> None:
    """A bot token's actor acts only where its scopes say; a signed-in user is not scoped."""
    if actor.scopes is not None and f"{kind}:{room_id}" not in actor.scopes:
        raise Forbidden("scope_denied", f"This token has no {kind}:{room_id} scope.")



def hook_label(username: str | None) -> str | None:
    """The name a hook's sender asks to show on one message: spaces folded, control
    characters refused; empty or absent → None (the hook's own name shows)."""
    if username is None:
        return None
    label = " ".join(username.split())
    if any(ch < " " or ch == "\x7f" for ch in label):
        raise Invalid("invalid_payload", '"username" holds control characters.')
    if len(label) > HOOK_LABEL_MAX_CHARS:
        raise Invalid("invalid_payload",
                      f'"username" has at most {HOOK_LABEL_MAX_CHARS} characters.')
    return label or None
