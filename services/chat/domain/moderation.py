"""Mutes, bans and slow mode: what they are, when they are in force (compared with the clock,
so nothing lifts them but time or a moderator), who may impose them, and the errors a
muted, banned or too-quick poster gets. No I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from services.chat.domain.model import Actor, Forbidden, Invalid, Member, Throttled

SanctionKind = Literal["mute", "ban"]
SANCTION_KINDS: tuple[SanctionKind, ...] = ("mute", "ban")
SANCTION_REASON_MAX_CHARS = 500
SLOW_MODE_MAX_SECS = 21_600
# "Until lifted", as the hot path's columns (`room_members.muted_until`, `users.muted_until`)
# store it: one column compared with the clock, never NULL for a mute in force.
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(slots=True)
class Sanction:
    """A mute or a ban of one user, in one room or (room_id None) server-wide."""

    kind: SanctionKind
    user_id: int
    room_id: int | None
    until: datetime | None  # None: until lifted
    reason: str | None
    created_by: int | None
    created_at: datetime
    username: str | None = None  # read with a list, never written

    def in_force(self, now: datetime) -> bool:
        return in_force(self.until or FOREVER, now)


def in_force(until: datetime | None, now: datetime) -> bool:
    """A stored end (`FOREVER` for "until lifted") still ahead of the clock."""
    return until is not None and until > now


def shown_until(until: datetime | None) -> datetime | None:
    """An end as the API shows it: None for "until lifted"."""
    return None if until is None or until >= FOREVER else until


class Muted(Forbidden):
    def __init__(self, until: datetime | None, scope: str = "room") -> None:
        until = shown_until(until)
        where = "here" if scope == "room" else "anywhere on this server"
        when = f" until {until.isoformat()}" if until else " until a moderator lifts it"
        super().__init__("muted", f"You are muted {where}{when}.")
        self.until = until
        self.scope = scope

    def extra(self) -> dict[str, Any]:
        return {"until": self.until.isoformat() if self.until else None, "scope": self.scope}


class Banned(Forbidden):
    def __init__(self, until: datetime | None, scope: str = "room") -> None:
        until = shown_until(until)
        where = "from this room" if scope == "room" else "from this server"
        super().__init__("banned", f"You are banned {where}"
                                   + (f" until {until.isoformat()}." if until else "."))
        self.until = until
        self.scope = scope

    def extra(self) -> dict[str, Any]:
        return {"until": self.until.isoformat() if self.until else None, "scope": self.scope}


class SlowMode(Throttled):
    def __init__(self, retry_after_secs: int) -> None:
        super().__init__("slow_mode", f"Slow mode: wait {retry_after_secs} s before posting "
                         "here again.", retry_after_secs)

    def extra(self) -> dict[str, Any]:
        return {"retry_after_secs": self.retry_after_secs}


def validate_sanction(kind: str, until: datetime | None, reason: str | None,
                      now: datetime) -> tuple[SanctionKind, datetime | None, str | None]:
    if kind not in SANCTION_KINDS:
        raise Invalid("invalid_kind", "kind must be mute or ban.")
    if until is not None:
        if until.tzinfo is None:
            raise Invalid("invalid_until", "until needs a time zone (e.g. ...Z).")
        if until <= now:
            raise Invalid("invalid_until", "until must be in the future.")
        if until >= FOREVER:
            until = None
    if reason is not None:
        reason = reason.strip() or None
        if reason is not None and len(reason) > SANCTION_REASON_MAX_CHARS:
            raise Invalid("invalid_reason",
                          f"reason must be at most {SANCTION_REASON_MAX_CHARS} characters.")
    return kind, until, reason  # type: ignore[return-value]


def validate_slow_mode(secs: int) -> int:
    if not 0 <= secs <= SLOW_MODE_MAX_SECS:
        raise Invalid("invalid_slow_mode",
                      f"slow_mode_secs must be 0-{SLOW_MODE_MAX_SECS}.")
    return secs


def may_sanction(actor: Actor, actor_member: Member | None, target_is_admin: bool,
                 target_member: Member | None, *, server_wide: bool) -> bool:
    """Server-wide: administrators only. In a room: its moderators and admins, and
    administrators; a moderator sanctions plain members (or non-members), a room admin
    moderators too; no one sanctions an administrator or a room admin but an administrator,
    and never an administrator."""
    if target_is_admin:
        return False
    if server_wide or actor.is_admin:
        return actor.is_admin
    if actor_member is None or actor_member.role not in ("admin", "moderator"):
        return False
    target_role = target_member.role if target_member is not None else "member"
    if target_role == "admin":
        return False
    return target_role == "member" or actor_member.role == "admin"


def refuse_if_muted(member: Member | None, user_muted_until: datetime | None,
                    now: datetime) -> None:
    """A server-wide mute (`users.muted_until`) or the room's (`room_members.muted_until`)."""
    if in_force(user_muted_until, now):
        raise Muted(user_muted_until, "server")
    if member is not None and in_force(member.muted_until, now):
        raise Muted(member.muted_until, "room")


def slow_mode_wait(slow_mode_secs: int, last_post_at: datetime | None,
                   now: datetime) -> int:
    """Whole seconds to wait before the next post (0: it may post now)."""
    if slow_mode_secs <= 0 or last_post_at is None:
        return 0
    left = slow_mode_secs - (now - last_post_at).total_seconds()
    return max(0, math.ceil(left))
