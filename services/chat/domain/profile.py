"""A user's profile: display name, status text and time zone, and the name shown for a user
(the display name, else the username). No I/O."""

from __future__ import annotations

import unicodedata
import zoneinfo

from services.chat.domain.model import Invalid

DISPLAY_NAME_MAX_CHARS = 64
STATUS_TEXT_MAX_CHARS = 100
TIME_ZONE_MAX_CHARS = 64
PROFILE_FIELDS = ("display_name", "status_text", "time_zone")


def _has_control(text: str) -> bool:
    # Cc (C0/C1 controls, newlines and tabs included) and Cf (bidi overrides, zero-width
    # joiners used to spoof names) never belong in a one-line name.
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def validate_display_name(value: str | None) -> str | None:
    """Trimmed, 1-64 characters, no control characters; empty or null clears it (the
    username shows instead)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > DISPLAY_NAME_MAX_CHARS:
        raise Invalid("display_name_too_long",
                      f"A display name has at most {DISPLAY_NAME_MAX_CHARS} characters.")
    if _has_control(value):
        raise Invalid("invalid_display_name", "A display name cannot hold control characters.")
    return value


def validate_status_text(value: str | None) -> str | None:
    """Trimmed, at most 100 characters, one line; empty or null clears it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > STATUS_TEXT_MAX_CHARS:
        raise Invalid("status_text_too_long",
                      f"A status text has at most {STATUS_TEXT_MAX_CHARS} characters.")
    if _has_control(value):
        raise Invalid("invalid_status_text", "A status text cannot hold control characters.")
    return value


def validate_time_zone(value: str | None) -> str | None:
    """An IANA time zone name (`Europe/Madrid`, `UTC`) that this system's zone database
    knows; empty or null clears it."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > TIME_ZONE_MAX_CHARS or _has_control(value) or value.startswith("/") \
            or ".." in value:
        raise Invalid("invalid_time_zone", f"{value!r} is not a known IANA time zone.")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise Invalid("invalid_time_zone", f"{value!r} is not a known IANA time zone.") from None
    return value


def shown_name(username: str, display_name: str | None) -> str:
    """What a page shows for a user: their display name, else their username."""
    return display_name or username
