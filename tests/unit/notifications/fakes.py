"""In-memory stand-ins for the notifications ports, behaving like the SQLAlchemy adapter
where it shows (`tests/integration/notifications/test_fakes.py` holds them to it)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.notifications.adapters.outbound.memory_viewing import MemoryViewingBoard
from services.notifications.domain import (
    DEFAULT_LEVEL,
    Decision,
    KnownRoom,
    KnownUser,
    Level,
    Member,
    NewNotification,
    Notification,
)
from services.notifications.domain.webhooks import NewWebhook, Verdict, Webhook
from services.notifications.ports import NotificationsDeps
from tests.support.clocks import T0 as T0  # the fakes' start, imported by the tests from here
from tests.support.clocks import FixedClock
from tests.support.memory_uow import MemoryStore, MemoryUnitOfWork, RecordingOutbox


class IntegrityViolation(Exception):
    """A constraint the real database enforces and no use case should ever trip."""


@dataclass
class _Row:
    """An `ntf_notifications` row: the notification and the column it does not carry."""

    notification: Notification
    seq: int | None


@dataclass
class NotificationsState:
    """The tables. `write()` deep-copies this to roll back."""

    users: dict[int, KnownUser] = field(default_factory=dict)
    rooms: dict[int, KnownRoom] = field(default_factory=dict)
    members: dict[tuple[int, int], Member] = field(default_factory=dict)
    thread_participants: set[tuple[int, int]] = field(default_factory=set)  # (root, user)
    # (user_id, room_id) -> level; the default level has no row.
    preferences: dict[tuple[int, int], Level] = field(default_factory=dict)
    notifications: dict[int, _Row] = field(default_factory=dict)
    # Insertion order is the table's pk order.
    decisions: list[Decision] = field(default_factory=list)
    processed: dict[str, datetime] = field(default_factory=dict)
    dead_letters: list[tuple[str, str, bytes, str, datetime]] = field(default_factory=list)
    events: list[BaseModel] = field(default_factory=list)
    # Like AUTOINCREMENT: a deleted notification's pk is never handed out again.
    last_pk: int = 0
    webhooks: dict[int, Webhook] = field(default_factory=dict)
    last_webhook_id: int = 0


class _Store(MemoryStore[NotificationsState]):
    """A store over the service's whole in-memory state."""


class InMemoryUserDirectory(_Store):
    async def put(self, user: KnownUser) -> None:
        self._writing()
        self._state.users[user.id] = user

    async def get(self, user_id: int) -> KnownUser | None:
        return self._state.users.get(user_id)

    async def ids(self) -> list[int]:
        return sorted(self._state.users)

    async def remove(self, user_id: int) -> None:
        self._writing()
        self._state.users.pop(user_id, None)


class InMemoryRoomDirectory(_Store):
    async def put(self, room: KnownRoom) -> None:
        self._writing()
        known = self._state.rooms.get(room.id)
        if known is not None and known.kind == "dm":  # as the real store: kind set once
            room = replace(room, kind="dm")
        self._state.rooms[room.id] = room

    async def dms_among(self, room_ids: list[int]) -> set[int]:
        return {r for r in room_ids
                if r in self._state.rooms and self._state.rooms[r].kind == "dm"}

    async def names(self, room_ids: list[int]) -> dict[int, str]:
        return {r: self._state.rooms[r].name for r in room_ids if r in self._state.rooms}


class InMemoryMemberDirectory(_Store):
    async def put(self, member: Member) -> None:
        self._writing()
        key = (member.room_id, member.user_id)
        known = self._state.members.get(key)
        self._state.members[key] = (replace(member, read_seq=known.read_seq) if known
                                    else member)

    async def remove(self, room_id: int, user_id: int) -> None:
        self._writing()
        self._state.members.pop((room_id, user_id), None)

    async def of_room(self, room_id: int) -> list[Member]:
        return [m for (r, _), m in sorted(self._state.members.items()) if r == room_id]

    async def rooms_of(self, user_id: int) -> list[int]:
        return sorted(r for (r, u) in self._state.members if u == user_id)

    async def advance_read(self, room_id: int, user_id: int, read_seq: int) -> None:
        self._writing()
        member = self._state.members.get((room_id, user_id))
        if member is not None and member.read_seq < read_seq:
            self._state.members[(room_id, user_id)] = replace(member, read_seq=read_seq)


class InMemoryThreadParticipants(_Store):
    async def of_thread(self, root_id: int) -> set[int]:
        return {u for (r, u) in self._state.thread_participants if r == root_id}

    async def add(self, root_id: int, user_ids: set[int]) -> None:
        self._writing()
        self._state.thread_participants.update((root_id, u) for u in user_ids)


class InMemoryPreferenceStore(_Store):
    async def of_user(self, user_id: int) -> dict[int, Level]:
        return {r: level for (u, r), level in self._state.preferences.items() if u == user_id}

    async def in_room(self, room_id: int) -> dict[int, Level]:
        return {u: level for (u, r), level in self._state.preferences.items() if r == room_id}

    async def put(self, user_id: int, room_id: int, level: Level, now: datetime,
                  default: Level = DEFAULT_LEVEL) -> None:
        self._writing()
        if level == default:  # the room's default needs no row
            self._state.preferences.pop((user_id, room_id), None)
        else:
            self._state.preferences[(user_id, room_id)] = level


class InMemoryInbox(_Store):
    async def add(self, notification: NewNotification) -> Notification:
        self._writing()
        n, state = notification, self._state
        for row in state.notifications.values():
            other = row.notification
            if other.user_id == n.user_id and (
                    (n.message_id is not None and other.message_id == n.message_id)
                    or (n.broadcast_id is not None and other.broadcast_id == n.broadcast_id)):
                raise IntegrityViolation("UNIQUE ntf_notifications (user, message|broadcast)")
        state.last_pk += 1
        added = Notification(pk=state.last_pk, user_id=n.user_id, kind=n.kind, title=n.title,
                             content=n.content, data=copy.deepcopy(n.data),
                             created_at=n.created_at, room_id=n.room_id,
                             message_id=n.message_id, broadcast_id=n.broadcast_id)
        state.notifications[added.pk] = _Row(added, n.seq)
        return added

    async def get(self, user_id: int, pk: int) -> Notification | None:
        row = self._state.notifications.get(pk)
        return row.notification if row and row.notification.user_id == user_id else None

    async def page(self, user_id: int, *, unread_only: bool, before_pk: int | None,
                   limit: int) -> list[Notification]:
        found = [row.notification for pk, row in sorted(self._state.notifications.items(),
                                                        reverse=True)
                 if row.notification.user_id == user_id
                 and not (unread_only and row.notification.read)
                 and (before_pk is None or pk < before_pk)]
        return found[:limit]

    async def unread_count(self, user_id: int) -> int:
        return sum(1 for row in self._state.notifications.values()
                   if row.notification.user_id == user_id and not row.notification.read)


class InMemoryInboxChanges(_Store):
    def _mark(self, which: Callable[[_Row], bool], now: datetime) -> list[Notification]:
        self._writing()
        marked = []
        for _, row in sorted(self._state.notifications.items()):
            if not row.notification.read and which(row):
                row.notification = replace(row.notification, read=True, read_at=now)
                marked.append(row.notification)
        return marked

    async def mark_read(self, user_id: int, pks: list[int] | None, now: datetime
                        ) -> list[Notification]:
        return self._mark(lambda row: row.notification.user_id == user_id
                          and (pks is None or row.notification.pk in pks), now)

    async def mark_room_read(self, user_id: int, room_id: int, upto_seq: int,
                             now: datetime) -> list[Notification]:
        return self._mark(lambda row: row.notification.user_id == user_id
                          and row.notification.room_id == room_id
                          and row.notification.message_id is not None
                          and row.seq is not None and row.seq <= upto_seq, now)

    async def rewrite_pending(self, message_id: int, content: str) -> int:
        self._writing()
        rewritten = 0
        for row in self._state.notifications.values():
            if row.notification.message_id == message_id and not row.notification.read:
                row.notification = replace(row.notification, content=content)
                rewritten += 1
        return rewritten

    def _delete(self, which: Callable[[Notification], bool]) -> int:
        self._writing()
        gone = [pk for pk, row in self._state.notifications.items() if which(row.notification)]
        for pk in gone:
            del self._state.notifications[pk]
        return len(gone)

    async def remove_message(self, message_id: int) -> int:
        return self._delete(lambda n: n.message_id == message_id)

    async def remove_user(self, user_id: int) -> int:
        return self._delete(lambda n: n.user_id == user_id)

    async def purge_read(self, before: datetime) -> tuple[int, int]:
        users = {row.notification.user_id for row in self._state.notifications.values()
                 if row.notification.read and row.notification.created_at < before}
        return self._delete(lambda n: n.read and n.created_at < before), len(users)


class InMemoryDecisionLog(_Store):
    async def add(self, decisions: list[Decision]) -> None:
        self._writing()
        for d in decisions:
            if any((o.user_id, o.message_id) == (d.user_id, d.message_id)
                   for o in self._state.decisions):
                raise IntegrityViolation("UNIQUE ntf_decisions (user_id, message_id)")
            self._state.decisions.append(d)

    async def about_message(self, message_id: int) -> bool:
        return any(d.message_id == message_id for d in self._state.decisions)

    async def of_user(self, user_id: int, message_id: int | None, limit: int
                      ) -> list[Decision]:
        found = [d for d in reversed(self._state.decisions) if d.user_id == user_id
                 and (message_id is None or d.message_id == message_id)]
        return found[:limit]

    async def purge(self, before: datetime) -> int:
        self._writing()
        kept = [d for d in self._state.decisions if d.decided_at >= before]
        purged = len(self._state.decisions) - len(kept)
        self._state.decisions = kept
        return purged


class InMemoryProcessedEvents(_Store):
    async def claim(self, event_id: str, now: datetime) -> bool:
        self._writing()
        if event_id in self._state.processed:
            return False
        self._state.processed[event_id] = now
        return True

    async def purge(self, before: datetime) -> int:
        self._writing()
        gone = [e for e, at in self._state.processed.items() if at < before]
        for event_id in gone:
            del self._state.processed[event_id]
        return len(gone)


class InMemoryDeadLetters(_Store):
    async def add(self, event_id: str, event_type: str, payload: bytes, error: str,
                  now: datetime) -> None:
        self._writing()
        self._state.dead_letters.append((event_id, event_type, payload, error, now))


class InMemoryWebhookStore(_Store):
    async def add(self, new: NewWebhook) -> Webhook:
        self._writing()
        self._state.last_webhook_id += 1
        webhook = Webhook(self._state.last_webhook_id, new.url, new.room_ids, new.events,
                          new.secret, new.created_by, new.created_at)
        self._state.webhooks[webhook.id] = webhook
        return webhook

    async def get(self, webhook_id: int) -> Webhook | None:
        return self._state.webhooks.get(webhook_id)

    async def all(self) -> list[Webhook]:
        return [self._state.webhooks[k] for k in sorted(self._state.webhooks)]

    async def remove(self, webhook_id: int) -> bool:
        self._writing()
        return self._state.webhooks.pop(webhook_id, None) is not None

    async def record(self, webhook_id: int, verdict: Verdict, at: datetime,
                     error: str | None, dead: bool) -> None:
        self._writing()
        webhook = self._state.webhooks.get(webhook_id)
        if webhook is None:
            return
        s = webhook.status
        if verdict == "delivered":
            status = replace(s, delivered=s.delivered + 1, last_success_at=at)
        else:
            status = replace(s, failed_attempts=s.failed_attempts + 1, last_failure_at=at,
                             last_error=error, dead_lettered=s.dead_lettered + int(dead))
        self._state.webhooks[webhook_id] = replace(webhook, status=status)


class InMemoryNotificationsTx:
    def __init__(self, state: NotificationsState, read_only: bool, source: str) -> None:
        self.users = InMemoryUserDirectory(state, read_only)
        self.rooms = InMemoryRoomDirectory(state, read_only)
        self.members = InMemoryMemberDirectory(state, read_only)
        self.threads = InMemoryThreadParticipants(state, read_only)
        self.preferences = InMemoryPreferenceStore(state, read_only)
        self.inbox = InMemoryInbox(state, read_only)
        self.changes = InMemoryInboxChanges(state, read_only)
        self.decisions = InMemoryDecisionLog(state, read_only)
        self.processed = InMemoryProcessedEvents(state, read_only)
        self.dead_letters = InMemoryDeadLetters(state, read_only)
        self.outbox = RecordingOutbox(state, read_only, source)
        self.webhooks = InMemoryWebhookStore(state, read_only)


class InMemoryNotificationsUnitOfWork(
        MemoryUnitOfWork[NotificationsState, InMemoryNotificationsTx]):
    def __init__(self, source: str = "tertulia/notifications") -> None:
        super().__init__(NotificationsState(), InMemoryNotificationsTx, source)


class RecordingLiveNotifier:
    """`LiveNotifier` that remembers what it pushed."""

    def __init__(self) -> None:
        self.pushed: list[Notification] = []

    async def push(self, notification: Notification) -> None:
        self.pushed.append(notification)


class ManualMonotonic:
    """The monotonic seconds `MemoryViewingBoard` reads, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def viewing_board(monotonic: ManualMonotonic | None = None) -> MemoryViewingBoard:
    """The real board (it does no I/O) on a hand-moved clock, with the service's defaults."""
    return MemoryViewingBoard(default_interval_secs=10.0, expiry_factor=3.0,
                              monotonic=monotonic or ManualMonotonic())


def make_deps(**overrides: Any) -> NotificationsDeps:
    defaults: dict[str, Any] = {
        "uow": InMemoryNotificationsUnitOfWork(), "live": RecordingLiveNotifier(),
        "clock": FixedClock(), "viewing": viewing_board()}
    return NotificationsDeps(**{**defaults, **overrides})
