"""`InMemoryEventBus`: the EventBus with NATS/JetStream semantics and no network, for unit tests.

Its live side (`memory_live`) and durable consumers (`memory_durable`) have modules of their own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from shared.bus.memory_durable import Consumer, Durable
from shared.bus.memory_live import LiveSubscription, Responding
from shared.bus.port import (
    DeadLetterHandler,
    EventHandler,
    Exclusive,
    LiveHandler,
    LiveMessage,
    PublishFailed,
    RawEvent,
    RequestFailed,
    Responder,
    SequencedHandler,
)
from shared.contracts.envelope import CloudEvent
from shared.contracts.subjects import subject_matches

__all__ = ["InMemoryEventBus", "subject_matches"]

logger = logging.getLogger(__name__)


class InMemoryEventBus:
    """Live messages, a durable event stream and durable consumers, all in this process.

    Mirrors what services may rely on from NATS: per-subscription order, de-duplication by
    event id, consumer positions that outlive a subscription, bounded redelivery and dead
    letters. Extras for tests: `published_events`, `fail_publishes` and `settle()`.
    """

    def __init__(
        self,
        *,
        duplicate_window_secs: float = 120.0,
        redelivery_delay_secs: float = 0.0,
    ) -> None:
        self._duplicate_window_secs = duplicate_window_secs
        # Zero by default so a failing handler is retried at once and unit tests never wait;
        # NATS backs off, which only changes timing, not what is eventually delivered.
        self.redelivery_delay_secs = redelivery_delay_secs
        self._live: set[LiveSubscription] = set()
        self._responders: list[tuple[str, Responder]] = []
        self._consumers: set[Consumer] = set()
        self._durables: dict[str, Durable] = {}
        self._seen_ids: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._closed = False
        # What the stream holds (after de-duplication), in order, for tests to assert on.
        self.published_events: list[tuple[str, CloudEvent]] = []
        # When each was stored (JetStream's start-time positions use this, not `event.time`).
        self._stored_at: list[datetime] = []
        # Simulates NATS being down for durable publishes (the outbox relay must cope).
        self.fail_publishes = False

    async def connect(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        for sub in list(self._live):
            await sub.unsubscribe()
        for consumer in list(self._consumers):
            await consumer.unsubscribe()

    @property
    def is_connected(self) -> bool:
        return not self._closed

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        if self._closed:
            logger.debug("bus closed, dropping live message on %s", subject)
            return
        message = LiveMessage(subject, bytes(data), dict(headers or {}))
        for sub in self._live:
            if subject_matches(sub.subject, subject):
                sub.deliver(message)
        self.notify()

    async def subscribe(self, subject: str, handler: LiveHandler, *,
                        flush: bool = True) -> LiveSubscription:
        sub = LiveSubscription(subject, handler, self._live, self.notify)
        self._live.add(sub)
        return sub

    async def request(self, subject: str, data: bytes, timeout_secs: float = 1.0) -> bytes:
        responders = [r for s, r in self._responders if subject_matches(s, subject)]
        if not responders or self._closed:
            raise RequestFailed(f"no responders on {subject}")
        try:
            async with asyncio.timeout(timeout_secs):
                return await responders[0](bytes(data))
        except TimeoutError as exc:
            raise RequestFailed(f"no answer on {subject} in {timeout_secs}s") from exc

    async def respond(self, subject: str, responder: Responder) -> Responding:
        entry = (subject, responder)
        self._responders.append(entry)
        return Responding(self._responders, entry)

    async def publish_event(self, subject: str, event: CloudEvent) -> None:
        if self._closed:
            raise PublishFailed("bus is closed")
        if self.fail_publishes:
            raise PublishFailed(f"simulated outage: event {event.id} on {subject} not stored")
        now = asyncio.get_running_loop().time()
        self._seen_ids = {
            i: t for i, t in self._seen_ids.items() if now - t < self._duplicate_window_secs
        }
        if event.id in self._seen_ids:
            return
        self._seen_ids[event.id] = now
        # A round trip through bytes, as on the wire: handlers get what JSON can carry.
        self.published_events.append((subject, CloudEvent.from_bytes(event.to_bytes())))
        self._stored_at.append(datetime.now(UTC))
        self.notify()

    async def publish_events(self, events: Sequence[RawEvent]) -> list[bool]:
        acked = []
        for event in events:
            try:
                await self.publish_event(event.subject, CloudEvent.from_bytes(event.payload))
            except PublishFailed:
                acked.append(False)
            else:
                acked.append(True)
        return acked

    async def consume(
        self,
        durable: str,
        filter_subjects: Sequence[str],
        handler: EventHandler,
        *,
        max_deliver: int = 5,
        on_dead_letter: DeadLetterHandler | None = None,
        exclusive: Exclusive | None = None,
    ) -> Consumer:
        # One process: an exclusive consumer is simply the active one (the lease, its
        # expiry and the hand-over are NATS's, tested on a real server).
        if exclusive is not None and exclusive.on_change is not None:
            exclusive.on_change(True)
        state = self._durables.setdefault(durable, Durable())
        # Like updating a JetStream consumer: new filters, same position.
        state.filter_subjects = tuple(filter_subjects)
        consumer = Consumer(
            self, self._consumers, durable, state, handler, max_deliver, on_dead_letter
        )
        self._consumers.add(consumer)
        return consumer

    async def follow(self, subject: str, handler: EventHandler, *,
                     since: datetime) -> Consumer:
        # A durable of its own that nobody else shares, from the first event at `since`;
        # one delivery each (a failure is logged, as there is no redelivery).
        first = next((i for i, at in enumerate(self._stored_at) if at >= since),
                     len(self._stored_at))
        state = Durable(filter_subjects=(subject,), next_seq=first)
        consumer = Consumer(self, self._consumers, f"follow:{subject}", state, handler, 1, None)
        self._consumers.add(consumer)
        return consumer

    async def replay(self, subject: str, handler: SequencedHandler, *,
                     after_seq: int) -> Consumer:
        # As `follow`, by position; sequences are 1-based, as JetStream's.
        first = after_seq if after_seq <= len(self.published_events) else 0
        state = Durable(filter_subjects=(subject,), next_seq=first)
        consumer = Consumer(self, self._consumers, f"replay:{subject}", state, handler, 1,
                            None, sequenced=True)
        self._consumers.add(consumer)
        return consumer

    async def settle(self, timeout_secs: float = 5.0) -> None:
        """Wait until every queued live message and every deliverable event was handled
        (including pending redeliveries), so tests can assert without sleeping."""
        async with asyncio.timeout(timeout_secs):
            while not self._is_idle():
                changed = self._changed
                await changed.wait()

    def _is_idle(self) -> bool:
        if any(not sub.idle for sub in self._live):
            return False
        return not any(c.state.has_work(self.published_events) for c in self._consumers)

    @property
    def changed(self) -> asyncio.Event:
        """Set at the next change (a publish, a handled message); a fresh one each time."""
        return self._changed

    def notify(self) -> None:
        # A fresh Event per change: waiters hold the one they saw, so none misses a wake-up.
        self._changed.set()
        self._changed = asyncio.Event()
