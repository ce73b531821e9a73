"""Presence entities and rules: sockets, users, the aggregate status and who may see what."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from shared.errors import RuleError

Status = Literal["online", "away", "busy", "offline"]
ManualStatus = Literal["online", "away", "busy"]
MANUAL_STATUSES: tuple[ManualStatus, ...] = ("online", "away", "busy")
# When a user's connections disagree, the highest rank is the user's status.
STATUS_RANK: dict[Status, int] = {"offline": 0, "away": 1, "online": 2, "busy": 3}

# Why a status changed (`reason` of `events.presence.changed`).
CONNECTED = "connected"
ACTIVE = "active"
IDLE = "idle"
MANUAL = "manual"
LAST_CONNECTION_CLOSED = "last_connection_closed"
EXPIRED = "expired"


class PresenceError(RuleError):
    """A rule said no; `code` is stable (HTTP problem details use it)."""


class NotConnected(PresenceError):
    status = 409


class Forbidden(PresenceError):
    status = 403


class Unavailable(PresenceError):
    """The instance computing this user did not answer (a hand-over under way)."""

    status = 503


@dataclass(frozen=True, slots=True)
class Timing:
    grace_secs: float
    idle_away_secs: float
    ttl_secs: float  # a connection not confirmed for this long has expired
    settle_secs: float  # after a start or an outage: time for every replica to report


@dataclass(slots=True)
class Connection:
    """One socket of a signed-in user, as its chat replica last reported it."""

    connection_id: str
    user_id: int
    username: str
    replica_id: str
    rooms: tuple[int, ...]
    current_room: int | None
    opened_at: datetime
    last_active_at: datetime
    confirmed_at: datetime  # the last time a message from its replica said it is open
    # The user's manual status, copied onto each of their sockets so it survives a restart.
    manual: ManualStatus | None = None

    def auto_status(self, now: datetime, idle_away_secs: float) -> Status:
        idle = (now - self.last_active_at).total_seconds() >= idle_away_secs
        return "away" if idle else "online"


@dataclass(slots=True)
class UserState:
    user_id: int
    username: str
    status: Status = "offline"  # the status last announced (and stored)
    connections: dict[str, Connection] = field(default_factory=dict)
    manual: ManualStatus | None = None  # away or busy; None is automatic
    last_active_at: datetime | None = None
    current_room: int | None = None
    last_seen_at: datetime | None = None  # the last moment a connection was known open
    offline_due: datetime | None = None  # set while no connection is open (grace period)
    offline_reason: str = LAST_CONNECTION_CLOSED


@dataclass(frozen=True, slots=True)
class Change:
    """A user's announced status changed."""

    user_id: int
    username: str
    status: Status
    previous: Status
    current_room: int | None
    last_active_at: datetime | None
    connections: int
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PresenceRecord:
    """What the database keeps per user: the last announced status and last seen."""

    user_id: int
    username: str
    status: Status
    last_active_at: datetime | None
    current_room: int | None
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class PresenceView:
    user_id: int
    username: str | None
    status: Status
    current_room: int | None
    last_active_at: datetime | None
    last_seen_at: datetime | None  # only for offline users; the others are here now
    connections: int
    rooms: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, from a verified token."""

    user_id: int
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: rooms they are in right now decide which rooms they may see others in."""

    user_id: int
    is_admin: bool
    rooms: frozenset[int]

    def may_see_room(self, room_id: int) -> bool:
        return self.is_admin or room_id in self.rooms


@dataclass(slots=True)
class Outcome:
    """What one step did: changes to announce, entries to write to or drop from the store."""

    changes: list[Change] = field(default_factory=list)
    saved: dict[str, Connection] = field(default_factory=dict)
    removed: dict[str, Connection] = field(default_factory=dict)

    def save(self, conn: Connection) -> None:
        self.removed.pop(conn.connection_id, None)
        self.saved[conn.connection_id] = conn

    def remove(self, conn: Connection) -> None:
        self.saved.pop(conn.connection_id, None)
        self.removed[conn.connection_id] = conn


def aggregate(user: UserState, now: datetime, timing: Timing) -> Status:
    """busy > online > away > offline over the user's connections; a manual status wins while
    any connection is open; with none open the announced status holds until the grace ends."""
    if user.connections:
        if user.manual is not None:
            return user.manual
        return max((c.auto_status(now, timing.idle_away_secs)
                    for c in user.connections.values()), key=STATUS_RANK.__getitem__)
    if user.status != "offline" and user.offline_due is not None and now < user.offline_due:
        return user.status
    return "offline"


def most_recently_active(connections: Iterable[Connection]) -> Connection | None:
    return max(connections, key=lambda c: (c.last_active_at, c.opened_at), default=None)


def reason_for(user: UserState, status: Status, hint: str | None) -> str:
    if status == "offline":
        return user.offline_reason
    if user.status == "offline":
        return CONNECTED
    if hint is not None:
        return hint
    return IDLE if STATUS_RANK[status] < STATUS_RANK[user.status] else ACTIVE


def view_of(user: UserState) -> PresenceView:
    rooms = frozenset(r for c in user.connections.values() for r in c.rooms)
    return PresenceView(
        user_id=user.user_id, username=user.username, status=user.status,
        current_room=user.current_room, last_active_at=user.last_active_at,
        last_seen_at=user.last_seen_at if user.status == "offline" else None,
        connections=len(user.connections), rooms=rooms)


def view_of_record(record: PresenceRecord | None, user_id: int) -> PresenceView:
    """A user this process holds no state for is offline; the database may know last seen."""
    if record is None:
        return PresenceView(user_id, None, "offline", None, None, None, 0)
    return PresenceView(user_id, record.username, "offline", None, record.last_active_at,
                        record.last_seen_at or record.last_active_at, 0)


def view_of_announced(record: PresenceRecord) -> PresenceView:
    """A user another instance computes, while it does not answer (a hand-over): their last
    announced status, as the shared database holds it."""
    offline = record.status == "offline"
    return PresenceView(record.user_id, record.username, record.status,
                        None if offline else record.current_room, record.last_active_at,
                        (record.last_seen_at or record.last_active_at) if offline else None, 0)


def as_seen_by(view: PresenceView, viewer: Viewer) -> PresenceView:
    """Whose room a user is in shows only to admins, the user, and people in that room: a
    private room's viewers must not leak to outsiders (presence keeps no membership)."""
    if viewer.is_admin or viewer.user_id == view.user_id:
        return view
    room = view.current_room
    return replace(view, current_room=room if room is not None and viewer.may_see_room(room)
                   else None, rooms=frozenset(r for r in view.rooms if viewer.may_see_room(r)))
