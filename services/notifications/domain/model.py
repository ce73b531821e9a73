"""The notifications domain's words: levels, kinds, errors, what the service knows of users,
rooms and members, who views which room, and the records a decision produces. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shared.errors import RuleError

Level = Literal["mentions", "all", "nothing"]
LEVELS: tuple[Level, ...] = ("mentions", "all", "nothing")
# As in the chat products people use: a room tells you about `@you` and `@room`.
DEFAULT_LEVEL: Level = "mentions"
# Levels stored before issue 11: `none` (muted) is today's quietest level.
_STORED_LEVELS: dict[str, Level] = {"none": "nothing"}
Kind = Literal["message", "mention", "room_mention", "broadcast", "direct_message"]
RoomKind = Literal["room", "dm"]
# A direct message is written to you: every message in one notifies, unless you chose a
# level for it (an explicit level wins, as in a room).
DM_DEFAULT_LEVEL: Level = "all"
Suppression = Literal["already_read", "viewing_room", "muted", "mentions_only"]
Role = Literal["admin", "moderator", "member"]

# The chat service lower-cases mentions and reports `@room` as the name "room".
ROOM_MENTION = "room"
ROOM_MENTION_ROLES: frozenset[str] = frozenset({"admin", "moderator"})
# Messages of these types tell the room something about itself; nobody is notified.
SILENT_MESSAGE_TYPES: frozenset[str] = frozenset({"system"})
NOTIFICATION_ID_RE = re.compile(r"ntf_([1-9][0-9]{0,17})")


class NotificationsError(RuleError):
    """A rule said no. `code` is stable: HTTP problem details use it."""


class Invalid(NotificationsError):
    status = 422


class NotFound(NotificationsError):
    status = 404


@dataclass(frozen=True, slots=True)
class KnownUser:
    id: int
    username: str
    is_admin: bool = False
    display_name: str | None = None  # shown instead of the username when set

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True, slots=True)
class KnownRoom:
    id: int
    name: str
    is_private: bool
    kind: RoomKind = "room"


@dataclass(frozen=True, slots=True)
class Member:
    room_id: int
    user_id: int
    username: str
    role: Role
    read_seq: int = 0


@dataclass(slots=True)
class _ReplicaViewers:
    rooms: dict[int, frozenset[int]]
    heard_at: float
    interval_secs: float


class Viewing:
    """Which rooms each user has on screen now, as the chat replicas report it: a socket
    showing the room in a visible tab (the page's `view` frame). A user views the union of
    what every replica says. A replica's reports hold until it has been silent for
    `expiry_factor` of its heartbeat intervals, so one that died without withdrawing them
    stops suppressing notifications soon after. Times are monotonic seconds."""

    def __init__(self, *, default_interval_secs: float, expiry_factor: float) -> None:
        self._default_interval = default_interval_secs
        self._factor = expiry_factor
        self._replicas: dict[str, _ReplicaViewers] = {}

    def _replica(self, replica_id: str, now: float) -> _ReplicaViewers:
        found = self._replicas.get(replica_id)
        if found is None or self._expired(found, now):
            found = self._replicas[replica_id] = _ReplicaViewers({}, now,
                                                                 self._default_interval)
        found.heard_at = now
        return found

    def _expired(self, replica: _ReplicaViewers, now: float) -> bool:
        return now - replica.heard_at > self._factor * replica.interval_secs

    def user(self, replica_id: str, user_id: int, rooms: Iterable[int], now: float) -> None:
        """What one replica says a user views now (nothing: withdrawn)."""
        viewers = self._replica(replica_id, now)
        viewed = frozenset(rooms)
        if viewed:
            viewers.rooms[user_id] = viewed
        else:
            viewers.rooms.pop(user_id, None)

    def heartbeat(self, replica_id: str, viewers: dict[int, Iterable[int]],
                  interval_secs: float, now: float) -> None:
        """A replica's whole list: it replaces what that replica said before."""
        replica = self._replica(replica_id, now)
        replica.interval_secs = interval_secs
        replica.rooms = {uid: frozenset(r) for uid, r in viewers.items() if r}

    def rooms_of(self, user_ids: Iterable[int], now: float) -> dict[int, frozenset[int]]:
        """The rooms each of these users views now; users viewing nothing are left out."""
        for replica_id in [r for r, v in self._replicas.items() if self._expired(v, now)]:
            del self._replicas[replica_id]
        found: dict[int, frozenset[int]] = {}
        for user_id in user_ids:
            rooms = frozenset().union(*(v.rooms.get(user_id, frozenset())
                                        for v in self._replicas.values()))
            if rooms:
                found[user_id] = rooms
        return found


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """What notifications needs to know about a new chat message."""

    message_id: int
    room_id: int
    seq: int
    sender_id: int | None
    sender_name: str
    content: str
    mentions: tuple[str, ...] = ()
    message_type: str = "text"


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether one member is told about one message, and if not, why not."""

    user_id: int
    message_id: int
    room_id: int
    seq: int
    kind: Kind
    suppressed_by: Suppression | None
    decided_at: datetime
    notification_id: str | None = None

    @property
    def notified(self) -> bool:
        return self.suppressed_by is None


@dataclass(frozen=True, slots=True)
class NewNotification:
    user_id: int
    kind: Kind
    title: str
    content: str
    data: dict[str, Any]
    created_at: datetime
    room_id: int | None = None
    message_id: int | None = None
    seq: int | None = None
    broadcast_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    pk: int
    user_id: int
    kind: Kind
    title: str
    content: str
    data: dict[str, Any]
    created_at: datetime
    read: bool = False
    read_at: datetime | None = None
    room_id: int | None = None
    message_id: int | None = None
    broadcast_id: str | None = None

    @property
    def id(self) -> str:
        return notification_id(self.pk)


@dataclass(frozen=True, slots=True)
class Purged:
    notifications: int
    users: int
    decisions: int
    event_ids: int
    cutoff: datetime


def notification_id(pk: int) -> str:
    """The id a notification is known by outside the service (`ntf_<pk>`)."""
    return f"ntf_{pk}"
