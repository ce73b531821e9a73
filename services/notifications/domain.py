"""Who must be told about what: the notification rules, entities and wire shapes. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

Level = Literal["mentions", "all", "nothing"]
LEVELS: tuple[Level, ...] = ("mentions", "all", "nothing")
# As in the chat products people use: a room tells you about `@you` and `@room`.
DEFAULT_LEVEL: Level = "mentions"
# Levels stored before issue 11: `none` (muted) is today's quietest level.
_STORED_LEVELS: dict[str, Level] = {"none": "nothing"}
Kind = Literal["message", "mention", "room_mention", "broadcast"]
Suppression = Literal["already_read", "viewing_room", "muted", "mentions_only"]
Role = Literal["admin", "moderator", "member"]

# The chat service lower-cases mentions and reports `@room` as the name "room".
ROOM_MENTION = "room"
ROOM_MENTION_ROLES: frozenset[str] = frozenset({"admin", "moderator"})
# Messages of these types tell the room something about itself; nobody is notified.
SILENT_MESSAGE_TYPES: frozenset[str] = frozenset({"system"})
NOTIFICATION_ID_RE = re.compile(r"ntf_([1-9][0-9]{0,17})")


class NotificationsError(Exception):
    """A rule said no. `code` is stable: HTTP problem details use it."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Invalid(NotificationsError):
    status = 422


class NotFound(NotificationsError):
    status = 404


@dataclass(frozen=True, slots=True)
class KnownUser:
    id: int
    username: str
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class KnownRoom:
    id: int
    name: str
    is_private: bool


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


# --- who is told, and why not ----------------------------------------------------------------


def recipients(members: list[Member], sender_id: int | None) -> list[Member]:
    """Every member of the room except the one who wrote the message."""
    return [m for m in members if m.user_id != sender_id]


def may_mention_room(sender: Member | None, sender_is_admin: bool) -> bool:
    """`@room` reaches everyone only from room admins and moderators (and server admins,
    who have room-admin rights everywhere); from anyone else it is plain text."""
    return sender_is_admin or (sender is not None and sender.role in ROOM_MENTION_ROLES)


def kind_for(username: str, mentions: tuple[str, ...], room_mention_allowed: bool) -> Kind:
    """A personal `@username` beats `@room`, which beats an ordinary message."""
    if username.lower() in mentions:
        return "mention"
    if room_mention_allowed and ROOM_MENTION in mentions:
        return "room_mention"
    return "message"


def stored_level(value: str) -> Level:
    """A level as stored, in today's terms (an unknown value: the default)."""
    if value in LEVELS:
        return value  # type: ignore[return-value]
    return _STORED_LEVELS.get(value, DEFAULT_LEVEL)


def suppression_for(kind: Kind, member: Member, seq: int, viewing: frozenset[int],
                    level: Level) -> Suppression | None:
    """Why `member` is not told, or None. First what they have already seen (read past it,
    looking at the room now: any notification would be noise, mention or not), then what
    they chose: `nothing` lets nothing through, `mentions` (the default) `@username` and
    `@room`, `all` every message."""
    if member.read_seq >= seq:
        return "already_read"
    if member.room_id in viewing:
        return "viewing_room"
    if level == "nothing":
        return "muted"
    if level == "mentions" and kind == "message":
        return "mentions_only"
    return None


def decide(message: PostedMessage, members: list[Member],
           viewing: dict[int, frozenset[int]], levels: dict[int, Level],
           sender_is_admin: bool, now: datetime) -> list[Decision]:
    """One decision per member other than the sender; system messages notify nobody.
    `viewing`: the rooms each member has on screen now (`Viewing.rooms_of`)."""
    if message.message_type in SILENT_MESSAGE_TYPES:
        return []
    sender = next((m for m in members if m.user_id == message.sender_id), None)
    room_allowed = may_mention_room(sender, sender_is_admin)
    decisions = []
    for member in recipients(members, message.sender_id):
        kind = kind_for(member.username, message.mentions, room_allowed)
        why = suppression_for(kind, member, message.seq,
                              viewing.get(member.user_id, frozenset()),
                              levels.get(member.user_id, DEFAULT_LEVEL))
        decisions.append(Decision(member.user_id, message.message_id, message.room_id,
                                  message.seq, kind, why, now))
    return decisions


def explain(decision: Decision) -> str:
    """The answer to "why was I (not) notified?"."""
    if decision.suppressed_by == "already_read":
        return f"You had already read room {decision.room_id} past this message."
    if decision.suppressed_by == "viewing_room":
        return f"You were looking at room {decision.room_id} when the message arrived."
    if decision.suppressed_by == "muted":
        return f"Room {decision.room_id} is set to notify you of nothing."
    if decision.suppressed_by == "mentions_only":
        return (f"Room {decision.room_id} notifies you of mentions only (@you, @room), "
                f"and this message mentioned neither.")
    return {
        "mention": "The message mentions you.",
        "room_mention": "The message mentions @room.",
    }.get(decision.kind, "A new message in a room you belong to.")


# --- what the notification says ------------------------------------------------------------


def preview(content: str, chars: int) -> str:
    """The exercise's preview: the first `chars` characters, as they are."""
    return content[:chars]


def title_for(kind: Kind, sender_name: str) -> str:
    if kind == "mention":
        return f"{sender_name} mentioned you"
    if kind == "room_mention":
        return f"{sender_name} mentioned @room"
    if kind == "broadcast":
        return f"Announcement from {sender_name}"
    return f"New message from {sender_name}"


def message_notification(decision: Decision, message: PostedMessage, preview_chars: int,
                         ) -> NewNotification:
    return NewNotification(
        user_id=decision.user_id,
        kind=decision.kind,
        title=title_for(decision.kind, message.sender_name),
        content=preview(message.content, preview_chars),
        data={"type": "chat_message", "room_id": message.room_id,
              "message_id": message.message_id, "kind": decision.kind},
        created_at=decision.decided_at,
        room_id=message.room_id,
        message_id=message.message_id,
        seq=message.seq,
    )


def broadcast_notification(user_id: int, broadcast_id: str, content: str, sender: str,
                           max_chars: int, now: datetime) -> NewNotification:
    """Broadcasts keep their whole text (up to `max_chars`): the inbox is where someone
    who was offline reads them."""
    return NewNotification(
        user_id=user_id,
        kind="broadcast",
        title=title_for("broadcast", sender),
        content=preview(content, max_chars),
        data={"type": "admin_broadcast", "room_id": None, "message_id": None,
              "kind": "broadcast", "broadcast_id": broadcast_id},
        created_at=now,
        broadcast_id=broadcast_id,
    )


def notification_id(pk: int) -> str:
    return f"ntf_{pk}"


def parse_notification_id(value: str) -> int:
    match = NOTIFICATION_ID_RE.fullmatch(value)
    if match is None:
        raise NotFound("notification_not_found", f"Notification {value!r} not found.")
    return int(match.group(1))


def parse_cursor(value: str | None) -> int | None:
    """`before` is a notification id; the page holds older ones."""
    if value is None:
        return None
    match = NOTIFICATION_ID_RE.fullmatch(value)
    if match is None:
        raise Invalid("invalid_cursor", "`before` must be a notification id like `ntf_42`.")
    return int(match.group(1))


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)
