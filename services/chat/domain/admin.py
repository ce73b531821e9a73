"""Server administration's words: the live server settings (validated, with defaults) and
sign-up invitations (what makes one usable). No I/O."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from services.chat.domain.model import Conflict, Forbidden, Invalid, Room

INVITATION_MAX_TTL_SECS = 90 * 86_400
INVITATION_MIN_TTL_SECS = 60
INVITATION_MAX_USES = 10_000
# A socket frame is at most CHAT_WS_MAX_FRAME_BYTES (64 KiB): 10,000 four-byte characters fit.
MESSAGE_MAX_CHARS_LIMIT = 10_000
USER_SEARCH_MAX_CHARS = 64


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What an administrator may change while the system runs (`GET|PATCH
    /api/admin/settings`); a key without a stored row has its default (`CHAT_OPEN_SIGNUP`,
    `CHAT_MESSAGE_MAX_CHARS`)."""

    # Anyone may create an account; off: sign-up needs an invitation.
    open_signup: bool = True
    # The longest message (posts and edits), at most `MESSAGE_MAX_CHARS_LIMIT`.
    message_max_chars: int = 4000

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SETTING_NAMES = tuple(f.name for f in fields(ServerSettings))


def _checked(name: str, value: Any) -> Any:
    if name == "open_signup":
        if not isinstance(value, bool):
            raise Invalid("invalid_setting", "open_signup must be true or false.")
        return value
    if name == "message_max_chars":
        if (isinstance(value, bool) or not isinstance(value, int)
                or not 1 <= value <= MESSAGE_MAX_CHARS_LIMIT):
            raise Invalid("invalid_setting",
                          f"message_max_chars must be a whole number 1..{MESSAGE_MAX_CHARS_LIMIT}.")
        return value
    raise Invalid("unknown_setting", f"There is no server setting {name!r}.")


def apply_changes(current: ServerSettings, changes: dict[str, Any]) -> ServerSettings:
    """Every change checked before any applies (all or nothing): an unknown name is
    `unknown_setting`, a bad value `invalid_setting`."""
    if not changes:
        raise Invalid("invalid_setting", "Name at least one setting to change.")
    checked = {name: _checked(name, value) for name, value in changes.items()}
    return replace(current, **checked)


def stored_settings(defaults: ServerSettings, rows: dict[str, Any]) -> ServerSettings:
    """The defaults with the stored rows over them; a row that no longer validates (or a
    setting this release does not know) is left out, so the default stands."""
    known: dict[str, Any] = {}
    for name, value in rows.items():
        try:
            known[name] = _checked(name, value)
        except Invalid:
            continue
    return replace(defaults, **known)


@dataclass(slots=True)
class Invitation:
    """A sign-up link for when open sign-up is off: `max_uses` accounts until `expires_at`,
    unless revoked first."""

    id: int
    token: str
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    max_uses: int
    uses: int = 0
    revoked_at: datetime | None = None


def new_invitation_token() -> str:
    return "inv_" + secrets.token_urlsafe(18)


def invitation_terms(now: datetime, expires_in_secs: int, max_uses: int) -> datetime:
    """The expiry of a new invitation; `invalid_invitation` for terms out of bounds."""
    if not INVITATION_MIN_TTL_SECS <= expires_in_secs <= INVITATION_MAX_TTL_SECS:
        raise Invalid("invalid_invitation",
                      f"expires_in_secs must be {INVITATION_MIN_TTL_SECS}.."
                      f"{INVITATION_MAX_TTL_SECS}.")
    if not 1 <= max_uses <= INVITATION_MAX_USES:
        raise Invalid("invalid_invitation", f"max_uses must be 1..{INVITATION_MAX_USES}.")
    return now + timedelta(seconds=expires_in_secs)


def refuse_unusable(invitation: Invitation | None, now: datetime) -> None:
    """Why this invitation cannot sign anyone up (it can when nothing is raised)."""
    if invitation is None:
        raise Forbidden("invitation_invalid", "That invitation does not exist.")
    if invitation.revoked_at is not None:
        raise Forbidden("invitation_revoked", "That invitation was revoked.")
    if invitation.expires_at <= now:
        raise Forbidden("invitation_expired", "That invitation has expired.")
    if invitation.uses >= invitation.max_uses:
        raise Forbidden("invitation_used_up", "That invitation has been used up.")


def invitation_status(invitation: Invitation, now: datetime) -> str:
    """"active", "revoked", "expired" or "used_up" (the page shows it)."""
    try:
        refuse_unusable(invitation, now)
    except Forbidden as refused:
        return refused.code.removeprefix("invitation_")
    return "active"


def refuse_archived(room: Room) -> None:
    """An archived room is read-only: no posts, edits, reactions or pins (409
    `room_archived`; the socket's `error` frame has the same code)."""
    if room.archived_at is not None:
        raise Conflict("room_archived", "This room is archived: it is read-only.")


UserStatus = Literal["active", "deactivated", "all"]
USER_STATUSES: tuple[UserStatus, ...] = ("active", "deactivated", "all")


@dataclass(slots=True)
class SettingsCache:
    """One replica's live settings: the defaults (from the environment), and its copy of
    the stored ones with when it was read, good for `max_age_secs`."""

    defaults: ServerSettings = field(default_factory=ServerSettings)
    max_age_secs: float = 5.0
    value: ServerSettings | None = None
    read_at: datetime | None = None

    def fresh(self, now: datetime) -> ServerSettings | None:
        if self.value is None or self.read_at is None:
            return None
        age = (now - self.read_at).total_seconds()
        return self.value if 0 <= age < self.max_age_secs else None

    def keep(self, value: ServerSettings, now: datetime) -> None:
        self.value, self.read_at = value, now
