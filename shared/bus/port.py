"""The `EventBus` port: live (core NATS, best effort) and durable (JetStream) messaging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.contracts.envelope import CloudEvent


@dataclass(frozen=True, slots=True)
class LiveMessage:
    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A durable event already encoded (an outbox row): published as these bytes."""

    subject: str
    event_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Exclusive:
    """Consume a durable from one instance at a time (`EventBus.consume(exclusive=...)`).

    Several instances may consume the same durable; one holds a lease (on NATS a key
    `durable` in the KV bucket `bucket`, valued `holder`, renewed while it lives and gone
    `lease_secs` after it stops renewing) and fetches, the others stand by and take over
    when it is released or expires. The new holder first applies, in stream order, what
    its predecessor was handed and did not acknowledge, so events stay in stream order
    across a hand-over; the handler must be idempotent by event id (a duplicate is
    possible around a hand-over, never a reordering). `on_change(True)` is called when
    this instance becomes the active consumer, `on_change(False)` when it stops being."""

    bucket: str
    holder: str
    lease_secs: float = 5.0
    on_change: Callable[[bool], None] | None = None


class RequestFailed(Exception):
    """No responder answered in time (service down, or too slow)."""


class PublishFailed(Exception):
    """The durable publish was not acknowledged by the server (down, timeout, no stream)."""


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


# Handlers of one subscription run one at a time, in arrival order (per-room order relies on it).
LiveHandler = Callable[[LiveMessage], Awaitable[None]]
# An event handler that returns normally has handled the event (ack); raising asks for redelivery.
EventHandler = Callable[[CloudEvent], Awaitable[None]]
# Answers one request (core NATS request/reply); the returned bytes are the reply.
Responder = Callable[[bytes], Awaitable[bytes]]
# A replayed event with its stream sequence (1, 2, ...): what a fold of the stream needs to
# know where it stands.
SequencedHandler = Callable[[int, CloudEvent], Awaitable[None]]
# Called once with an event that failed `max_deliver` times, before it is terminated.
DeadLetterHandler = Callable[[CloudEvent, BaseException], Awaitable[None]]


class EventBus(Protocol):
    """One connection's lifecycle, then its messaging. A service connects once at start
    (`connect` may retry while NATS is starting) and closes once at stop; in between the
    connection may drop and come back by itself, which `is_connected` tells."""

    async def connect(self) -> None:
        """Connect (and make sure the EVENTS stream exists); a second call does nothing."""
        ...

    async def close(self) -> None:
        """Stop consumers and followers, then drain: what is queued is handled and flushed."""
        ...

    @property
    def is_connected(self) -> bool:
        """Connected now (false before `connect`, after `close`, and while reconnecting)."""
        ...

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        """Best-effort publish on a `live.*` subject (core NATS)."""
        ...

    async def subscribe(self, subject: str, handler: LiveHandler, *,
                        flush: bool = True) -> Subscription:
        """Subscribe to a live subject (wildcards `*` and `>` allowed). With `flush`, the
        server knows the subscription when this returns (a round trip), so a caller that
        reads its database next cannot miss what is published after that read."""
        ...

    async def publish_event(self, subject: str, event: CloudEvent) -> None:
        """Durably publish to the EVENTS stream, de-duplicated by `event.id` (`Nats-Msg-Id`).

        Returns only once the server acknowledged; raises `PublishFailed` otherwise.
        """
        ...

    async def publish_events(self, events: Sequence[RawEvent]) -> list[bool]:
        """Durably publish already-encoded events, pipelined: all are sent before any
        acknowledgement is awaited. One flag per event, in order: True once the server
        acknowledged it (a duplicate of an event id counts), False otherwise."""
        ...

    async def consume(
        self,
        durable: str,
        filter_subjects: Sequence[str],
        handler: EventHandler,
        *,
        max_deliver: int = 5,
        on_dead_letter: DeadLetterHandler | None = None,
        exclusive: Exclusive | None = None,
    ) -> Subscription:
        """Run `handler` for each event of a durable pull consumer (explicit ack, bounded
        redelivery with back-off). The consumer's position survives restarts. With
        `exclusive`, one instance at a time consumes (see `Exclusive`); this returns once
        this instance is either the active consumer or standing by."""
        ...

    async def follow(self, subject: str, handler: EventHandler, *,
                     since: datetime) -> Subscription:
        """Run `handler` for every event stored on `subject` (no wildcards) from `since` on,
        then for each new one, in stream order: this subscriber gets them all (an ordered
        ephemeral consumer: no acknowledgements, no redelivery, no position kept on the
        server; a reconnect resumes after the last event handled). Returns once the events
        stored before the call were handled (or after a bounded wait, logged)."""
        ...

    async def replay(self, subject: str, handler: SequencedHandler, *,
                     after_seq: int) -> Subscription:
        """As `follow`, from the event after stream sequence `after_seq` (0: the first), and
        `handler` gets each event's sequence too. If the stream ends before `after_seq` (a
        new stream: NATS lost its store), from its first event. Nothing is kept on the server
        once the subscriber is gone: the caller keeps its own position."""
        ...

    async def request(self, subject: str, data: bytes, timeout_secs: float = 1.0) -> bytes:
        """Ask whoever answers `subject`; raises `RequestFailed` without an answer in time."""
        ...

    async def respond(self, subject: str, responder: Responder) -> Subscription:
        """Answer requests on `subject`; replicas of one service share the load (queue group)."""
        ...
