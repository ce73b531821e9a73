"""What the dashboard learns from the event stream, reduced to what it counts or shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.dashboard.domain.storage import StorageChanged
from shared.contracts import RoomCreated, RoomUpdated

PresenceStatus = Literal["online", "away", "busy", "offline"]
PRESENCE_STATUSES: tuple[PresenceStatus, ...] = ("online", "away", "busy", "offline")

# Counter kinds (MinuteCounters) and what their keys are.
MESSAGES = "messages"  # key: room id
REGISTRATIONS = "registrations"  # key: ""
NOTIFICATIONS = "notifications"  # key: reason (message, mention, room_mention, broadcast)
BROADCAST_INBOXES = "broadcast_inboxes"  # key: broadcast id
SUPPRESSED = "notifications_suppressed"  # key: reason (already_read, viewing_room, ...)
BROADCAST_READS = "broadcast_reads"  # key: broadcast id


@dataclass(frozen=True, slots=True)
class MessagePosted:
    room_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class RoomNamed:
    room_id: int
    name: str
    is_private: bool

    @classmethod
    def of(cls, room: RoomCreated | RoomUpdated) -> RoomNamed:
        """A direct message's name is chat's internal one (its people's ids): it shows as
        "Direct message"."""
        dm = isinstance(room, RoomCreated) and room.kind == "dm"
        return cls(room.room_id, "Direct message" if dm else room.name, room.is_private)


@dataclass(frozen=True, slots=True)
class UserSignedUp:
    user_id: int
    username: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PresenceSet:
    user_id: int
    username: str
    status: PresenceStatus
    previous: PresenceStatus
    room_id: int | None
    last_active_at: datetime | None
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class NotificationSent:
    user_id: int
    reason: str
    at: datetime
    broadcast_id: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationHeld:
    """A member was not notified of a message, and why."""

    user_id: int
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BroadcastRead:
    """A user read a broadcast's inbox entry."""

    user_id: int
    broadcast_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BroadcastAnnounced:
    """An operator broadcast was sent, by this instance or another."""

    broadcast_id: str


Fact = (MessagePosted | RoomNamed | UserSignedUp | PresenceSet | NotificationSent
        | NotificationHeld | BroadcastRead | BroadcastAnnounced | StorageChanged)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the dashboard knows them: from sign-up and presence events."""

    user_id: int
    username: str
    status: PresenceStatus = "offline"
    status_at: datetime | None = None
    room_id: int | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RoomRecord:
    room_id: int
    name: str
    is_private: bool = False


@dataclass(frozen=True, slots=True)
class CountRow:
    kind: str
    key: str
    minute: datetime
    count: int


def counted(fact: Fact) -> list[tuple[str, str, datetime]]:
    """The (kind, key, time) counters one fact adds 1 to."""
    if isinstance(fact, MessagePosted):
        return [(MESSAGES, str(fact.room_id), fact.at)]
    if isinstance(fact, UserSignedUp):
        return [(REGISTRATIONS, "", fact.at)]
    if isinstance(fact, NotificationSent):
        rows = [(NOTIFICATIONS, fact.reason, fact.at)]
        if fact.broadcast_id:
            rows.append((BROADCAST_INBOXES, fact.broadcast_id, fact.at))
        return rows
    if isinstance(fact, NotificationHeld):
        return [(SUPPRESSED, fact.reason, fact.at)]
    if isinstance(fact, BroadcastRead):
        return [(BROADCAST_READS, fact.broadcast_id, fact.at)]
    return []


def merged_user(known: UserRecord | None, fact: Fact) -> UserRecord | None:
    """The user record after `fact`, or None if the fact is not about a user's record."""
    if isinstance(fact, UserSignedUp):
        if known is None:
            return UserRecord(fact.user_id, fact.username, registered_at=fact.at)
        return UserRecord(known.user_id, fact.username, known.status, known.status_at,
                          known.room_id, fact.at)
    if isinstance(fact, PresenceSet):
        registered = known.registered_at if known else None
        if known is not None and known.status_at is not None and fact.at < known.status_at:
            return None  # an older change arriving late (a replay) must not win
        return UserRecord(fact.user_id, fact.username, fact.status, fact.at, fact.room_id,
                          registered)
    return None
