"""The interfaces the notifications core needs; adapters implement them (SQLAlchemy, NATS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

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
from services.notifications.domain.webhooks import (
    Delivery,
    NewWebhook,
    Target,
    Verdict,
    Webhook,
)


class UserDirectory(Protocol):
    """Users as the chat service announced them (names for mentions, everyone for broadcasts)."""

    async def put(self, user: KnownUser) -> None: ...
    async def get(self, user_id: int) -> KnownUser | None: ...
    async def ids(self) -> list[int]: ...
    async def remove(self, user_id: int) -> None: ...


class RoomDirectory(Protocol):
    async def put(self, room: KnownRoom) -> None: ...
    async def names(self, room_ids: list[int]) -> dict[int, str]: ...
    async def dms_among(self, room_ids: list[int]) -> set[int]:
        """Those of these rooms that are direct messages (RoomCreated said `kind: dm`)."""
        ...


class MemberDirectory(Protocol):
    async def put(self, member: Member) -> None:
        """Add or update a membership (role, name); an existing read marker is kept."""
        ...
    async def remove(self, room_id: int, user_id: int) -> None: ...
    async def of_room(self, room_id: int) -> list[Member]: ...
    async def rooms_of(self, user_id: int) -> list[int]:
        """The rooms the user is a member of, by id."""
        ...
    async def advance_read(self, room_id: int, user_id: int, read_seq: int) -> None:
        """Read markers only move forward."""
        ...


class ThreadParticipants(Protocol):
    """Who took part in each thread (root author, repliers, members mentioned in a reply),
    kept from chat's `message.created` events of replies."""

    async def of_thread(self, root_id: int) -> set[int]: ...
    async def add(self, root_id: int, user_ids: set[int]) -> None:
        """Idempotent: a user already in the thread stays once."""
        ...


class ViewingBoard(Protocol):
    """What the chat replicas say each user has on screen now (`live.viewing`). In memory:
    a fact of the moment, rebuilt from the replicas' heartbeats after a restart."""

    def user(self, replica_id: str, user_id: int, rooms: list[int]) -> None: ...
    def heartbeat(self, replica_id: str, viewers: dict[int, list[int]],
                  interval_secs: float) -> None: ...
    def rooms_of(self, user_ids: list[int]) -> dict[int, frozenset[int]]: ...


class PreferenceStore(Protocol):
    async def of_user(self, user_id: int) -> dict[int, Level]: ...
    async def in_room(self, room_id: int) -> dict[int, Level]:
        """Every member's level for one room, where it is not the default."""
        ...
    async def put(self, user_id: int, room_id: int, level: Level, now: datetime,
                  default: Level = DEFAULT_LEVEL) -> None:
        """The user's level for the room; the room's `default` is stored as no row."""
        ...


class Inbox(Protocol):
    async def add(self, notification: NewNotification) -> Notification: ...
    async def get(self, user_id: int, pk: int) -> Notification | None: ...
    async def page(self, user_id: int, *, unread_only: bool, before_pk: int | None,
                   limit: int) -> list[Notification]:
        """Newest first."""
        ...
    async def unread_count(self, user_id: int) -> int: ...


class InboxChanges(Protocol):
    async def mark_read(self, user_id: int, pks: list[int] | None, now: datetime
                        ) -> list[Notification]:
        """Mark these (None: all) of the user's unread notifications read; the ones that
        changed (already read ones are not returned)."""
        ...
    async def mark_room_read(self, user_id: int, room_id: int, upto_seq: int,
                             now: datetime) -> list[Notification]:
        """Mark the user's unread message notifications in the room up to `upto_seq` read;
        the ones that changed."""
        ...
    async def rewrite_pending(self, message_id: int, content: str) -> int: ...
    async def remove_message(self, message_id: int) -> int: ...
    async def remove_user(self, user_id: int) -> int:
        """Delete every notification of the user, read or not; how many."""
        ...
    async def purge_read(self, before: datetime) -> tuple[int, int]:
        """Delete read notifications created before `before`: (how many, of how many users)."""
        ...


class DecisionLog(Protocol):
    async def add(self, decisions: list[Decision]) -> None: ...
    async def about_message(self, message_id: int) -> bool: ...
    async def of_user(self, user_id: int, message_id: int | None, limit: int
                      ) -> list[Decision]: ...
    async def purge(self, before: datetime) -> int: ...


class ProcessedEvents(Protocol):
    async def claim(self, event_id: str, now: datetime) -> bool:
        """Record the event as handled; False if it already was (a redelivery)."""
        ...
    async def purge(self, before: datetime) -> int: ...


class DeadLetters(Protocol):
    async def add(self, event_id: str, event_type: str, payload: bytes, error: str,
                  now: datetime) -> None: ...


class Outbox(Protocol):
    async def add(self, event: BaseModel, now: datetime) -> None:
        """Record a domain event in the same transaction as the change it describes."""
        ...


class WebhookStore(Protocol):
    """Outgoing webhooks and how their deliveries went (`ntf_webhooks`)."""

    async def add(self, new: NewWebhook) -> Webhook: ...
    async def get(self, webhook_id: int) -> Webhook | None: ...
    async def all(self) -> list[Webhook]:
        """Oldest first."""
        ...
    async def remove(self, webhook_id: int) -> bool: ...
    async def record(self, webhook_id: int, verdict: Verdict, at: datetime,
                     error: str | None, dead: bool) -> None:
        """Count one attempt: delivered (the last success), or failed (the last failure
        and its error; `dead`: the delivery was given up). A removed webhook: nothing."""
        ...


class NotificationsTx(Protocol):
    """One database transaction with every store the core touches."""

    users: UserDirectory
    rooms: RoomDirectory
    members: MemberDirectory
    threads: ThreadParticipants
    preferences: PreferenceStore
    inbox: Inbox
    changes: InboxChanges
    decisions: DecisionLog
    processed: ProcessedEvents
    dead_letters: DeadLetters
    outbox: Outbox
    webhooks: WebhookStore


class NotificationsUnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[NotificationsTx]:
        """Commits when the block ends normally; rolls back everything on an exception."""
        ...

    def read(self) -> AbstractAsyncContextManager[NotificationsTx]: ...


class LiveNotifier(Protocol):
    """Best effort: hands a notification to the chat replicas holding the user's sockets."""

    async def push(self, notification: Notification) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(slots=True)
class NotificationsDeps:
    """Everything a use case may touch; `bootstrap.wire` builds it, tests pass fakes."""

    uow: NotificationsUnitOfWork
    live: LiveNotifier
    clock: Clock
    viewing: ViewingBoard
    preview_chars: int = 100
    broadcast_max_chars: int = 4000
    live_max_age_secs: float = 300.0
    source: str = "tertulia/notifications"


# --- outgoing webhooks ------------------------------------------------------------------------


class DeliveryQueue(Protocol):
    """Durable: a delivery enqueued survives restarts until it is done or given up."""

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        """Returns once every one is stored; raises otherwise (the caller retries the
        event). The same `delivery_id` twice is stored once (within the queue's window)."""
        ...


@dataclass(frozen=True, slots=True)
class Sent:
    """What one HTTP attempt got: a status, or an error before any (`retryable` for
    network trouble and timeouts; a refused destination is not)."""

    status: int | None
    error: str | None = None
    retryable: bool = True


class WebhookSender(Protocol):
    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Sent:
        """POST `body` to `url`, to an address `check` would accept (resolved again now),
        within the sender's timeout, following no redirect."""
        ...


class DestinationGuard(Protocol):
    async def check(self, target: Target) -> None:
        """Resolve the host (without blocking) and raise `DestinationRefused` unless every
        address it has may be reached."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one attempt: `retry_in_secs` set when it is to be tried again."""

    verdict: Verdict
    retry_in_secs: float | None = None
    dead: bool = False
    error: str | None = None


# Attempt `n` (1, 2, ...) of a queued delivery; the queue acks, retries or drops by it.
DeliveryHandler = Callable[[Delivery, int], Awaitable[Outcome]]


@dataclass(slots=True)
class WebhookDeps:
    """What the webhook use cases touch (`bootstrap.wire`); the tests pass fakes."""

    uow: NotificationsUnitOfWork
    clock: Clock
    queue: DeliveryQueue
    sender: WebhookSender
    guard: DestinationGuard
    user_agent: str
    max_attempts: int = 10
    retry_base_secs: float = 5.0
    retry_max_secs: float = 3600.0
