"""Outgoing webhooks: what one is, which chat events it may ask for, whether an event is
for it, how a delivery is signed, and when a failed one is tried again. No I/O."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from services.notifications.domain.model import Invalid
from shared.contracts import EVENT_MODELS

CHAT_PREFIX = "events.chat."
URL_MAX_CHARS = 2000
ROOMS_MAX = 100
WEBHOOKS_MAX = 100


def _webhook_events() -> tuple[str, ...]:
    """Chat's events about one room (a required `room_id`), named without `events.chat.`;
    read markers (`member.read`) are each reader's own business and not offered."""
    names = []
    for spec in EVENT_MODELS:
        room = spec.model.model_fields.get("room_id")
        if (spec.subject.startswith(CHAT_PREFIX) and room is not None and room.is_required()
                and spec.subject != "events.chat.member.read"):
            names.append(spec.subject.removeprefix(CHAT_PREFIX))
    return tuple(names)


WEBHOOK_EVENTS: tuple[str, ...] = _webhook_events()
WEBHOOK_SUBJECTS: tuple[str, ...] = tuple(CHAT_PREFIX + name for name in WEBHOOK_EVENTS)


def event_name(subject: str) -> str | None:
    """`events.chat.message.created` -> `message.created`; None for events not offered."""
    name = subject.removeprefix(CHAT_PREFIX)
    return name if subject.startswith(CHAT_PREFIX) and name in WEBHOOK_EVENTS else None


class DestinationRefused(Invalid):
    """The URL's host resolves to an address webhooks may not reach (or to none)."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__("webhook_destination_refused",
                         f"Webhook destination refused: {reason}")
        self.reason = reason
        # A name that does not resolve now may later; a private address stays refused.
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Target:
    """Where a webhook URL points: what is resolved and connected to."""

    scheme: Literal["http", "https"]
    host: str  # lower-case; IDNA-encoded; an IPv6 literal without brackets
    port: int


def parse_url(url: str) -> Target:
    """http or https only, a host, no user name or password, no fragment, at most
    `URL_MAX_CHARS`; raises `Invalid` (`invalid_webhook_url`) otherwise."""

    def bad(why: str) -> Invalid:
        return Invalid("invalid_webhook_url", f"Invalid webhook URL: {why}")

    if len(url) > URL_MAX_CHARS:
        raise bad(f"longer than {URL_MAX_CHARS} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise bad("it contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad(str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise bad("only http and https are allowed")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise bad("user names and passwords in the URL are not allowed")
    if parts.fragment:
        raise bad("a fragment (#...) is not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise bad("it has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise bad("the host name is not valid") from exc
    return Target(scheme, host.lower(), port or (443 if scheme == "https" else 80))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class WebhookStatus:
    """How its deliveries went: attempts that failed (each retry counts), deliveries
    given up (after the last attempt, or refused for good by the receiver)."""

    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class NewWebhook:
    url: str
    room_ids: tuple[int, ...]
    events: tuple[str, ...]
    secret: str
    created_by: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    url: str
    room_ids: tuple[int, ...]
    events: tuple[str, ...]
    secret: str
    created_by: int
    created_at: datetime
    status: WebhookStatus = field(default_factory=WebhookStatus)

    def wants(self, event: str, room_id: int) -> bool:
        return event in self.events and room_id in self.room_ids


def checked_choice(room_ids: list[int], events: list[str]) -> tuple[tuple[int, ...],
                                                                     tuple[str, ...]]:
    """The rooms and events a new webhook asks for, de-duplicated in order; raises
    `Invalid` for none, too many, or an event chat does not publish."""
    rooms = tuple(dict.fromkeys(room_ids))
    names = tuple(dict.fromkeys(events))
    if not rooms or len(rooms) > ROOMS_MAX:
        raise Invalid("invalid_webhook_rooms", f"Give 1 to {ROOMS_MAX} room ids")
    unknown = [name for name in names if name not in WEBHOOK_EVENTS]
    if not names or unknown:
        raise Invalid("invalid_webhook_events",
                      f"Unknown events {unknown}; choose from {list(WEBHOOK_EVENTS)}"
                      if unknown else "Give at least one event")
    return rooms, names


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook, as queued: the same `delivery_id` on every attempt and
    after any redelivery (receivers de-duplicate by it)."""

    delivery_id: str
    webhook_id: int
    event: str
    data: dict[str, Any]
    event_id: str
    occurred_at: datetime


def delivery_id(event_id: str, webhook_id: int) -> str:
    """Derived, not random: the same event fanned out again gets the same id."""
    digest = hashlib.sha256(f"{event_id}/{webhook_id}".encode()).hexdigest()
    return f"whd_{digest[:32]}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`X-Tertulia-Signature`: HMAC-SHA256 with the webhook's secret over
    `<timestamp>.<body>`, hex, prefixed `sha256=`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def retry_delay_secs(attempt: int, base_secs: float, max_secs: float) -> float:
    """The wait after failed attempt `attempt` (1, 2, ...): base, 2 x base, 4 x base, ...,
    at most `max_secs`."""
    return min(max_secs, base_secs * 2 ** max(0, attempt - 1))


Verdict = Literal["delivered", "retry", "give_up"]


def verdict_of_status(status: int) -> Verdict:
    """2xx delivered; 408, 429 and 5xx tried again; anything else (3xx: redirects are not
    followed, 4xx: the receiver refuses it) given up at once."""
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or 500 <= status < 600:
        return "retry"
    return "give_up"
