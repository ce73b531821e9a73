"""`InMemoryEventBus`: the EventBus with NATS/JetStream semantics and no network, for unit tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.bus.port import (
    DeadLetterHandler,
    EventHandler,
    LiveHandler,
    LiveMessage,
    PublishFailed,
    RawEvent,
    RequestFailed,
    Responder,
)
from shared.contracts.envelope import CloudEvent

logger = logging.getLogger(__name__)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is exactly one token, a trailing `>` is one or more tokens."""
    want = pattern.split(".")
    got = subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)


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
        self._redelivery_delay_secs = redelivery_delay_secs
        self._live: set[_LiveSubscription] = set()
        self._responders: list[tuple[str, Responder]] = []
        self._consumers: set[_Consumer] = set()
        self._durables: dict[str, _Durable] = {}
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
        self._notify()

    async def subscribe(self, subject: str, handler: LiveHandler, *,
                        flush: bool = True) -> _LiveSubscription:
        sub = _LiveSubscription(self, subject, handler)
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

    async def respond(self, subject: str, responder: Responder) -> _Responding:
        entry = (subject, responder)
        self._responders.append(entry)
        return _Responding(self._responders, entry)

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
        self._notify()

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
    ) -> _Consumer:
        state = self._durables.setdefault(durable, _Durable())
        # Like updating a JetStream consumer: new filters, same position.
        state.filter_subjects = tuple(filter_subjects)
        consumer = _Consumer(self, durable, state, handler, max_deliver, on_dead_letter)
        self._consumers.add(consumer)
        return consumer

    async def follow(self, subject: str, handler: EventHandler, *,
                     since: datetime) -> _Consumer:
        # A durable of its own that nobody else shares, from the first event at `since`;
        # one delivery each (a failure is logged, as there is no redelivery).
        first = next((i for i, at in enumerate(self._stored_at) if at >= since),
                     len(self._stored_at))
        state = _Durable(filter_subjects=(subject,), next_seq=first)
        consumer = _Consumer(self, f"follow:{subject}", state, handler, 1, None)
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

    def _notify(self) -> None:
        # A fresh Event per change: waiters hold the one they saw, so none misses a wake-up.
        self._changed.set()
        self._changed = asyncio.Event()


class _Responding:
    def __init__(self, registry: list[tuple[str, Responder]],
                 entry: tuple[str, Responder]) -> None:
        self._registry = registry
        self._entry = entry

    async def unsubscribe(self) -> None:
        if self._entry in self._registry:
            self._registry.remove(self._entry)


class _LiveSubscription:
    # One queue and one task per subscription, as nats-py does: publish() only enqueues, so a
    # slow handler delays its own subscription and never the publisher or other subscribers.
    # The queue is unbounded; NATS would drop for a slow consumer, a unit test rather not.

    def __init__(self, bus: InMemoryEventBus, subject: str, handler: LiveHandler) -> None:
        self.subject = subject
        self._bus = bus
        self._handler = handler
        self._queue: asyncio.Queue[LiveMessage] = asyncio.Queue()
        self._busy = False
        self._task = asyncio.create_task(self._run(), name=f"memory-live:{subject}")

    @property
    def idle(self) -> bool:
        return self._queue.empty() and not self._busy

    def deliver(self, message: LiveMessage) -> None:
        self._queue.put_nowait(message)

    async def unsubscribe(self) -> None:
        self._bus._live.discard(self)
        await _stop(self._task)

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            self._busy = True
            try:
                await self._handler(message)
            except Exception:
                logger.exception("live handler for %s failed on %s", self.subject, message.subject)
            finally:
                self._busy = False
                self._bus._notify()


@dataclass
class _Durable:
    """A durable consumer's server-side state: it outlives the subscriptions that use it."""

    filter_subjects: tuple[str, ...] = ()
    next_seq: int = 0  # index in the stream of the first event never delivered
    deliveries: dict[int, int] = field(default_factory=dict)  # unacked seq -> times delivered
    redeliver_at: dict[int, float] = field(default_factory=dict)  # seq -> loop time it is due
    in_flight: set[int] = field(default_factory=set)

    def matches(self, subject: str) -> bool:
        return any(subject_matches(f, subject) for f in self.filter_subjects)

    def has_work(self, stream: list[tuple[str, CloudEvent]]) -> bool:
        return bool(
            self.in_flight
            or self.redeliver_at
            or any(self.matches(s) for s, _ in stream[self.next_seq :])
        )

    def take(self, stream: list[tuple[str, CloudEvent]], now: float) -> int | None:
        """Next seq to deliver: due redeliveries first (as JetStream does), then new events."""
        due = [seq for seq, at in self.redeliver_at.items() if at <= now]
        if due:
            seq = min(due)
            del self.redeliver_at[seq]
            return seq
        while self.next_seq < len(stream):
            seq = self.next_seq
            self.next_seq += 1
            if self.matches(stream[seq][0]):
                return seq
        return None


class _Consumer:
    def __init__(
        self,
        bus: InMemoryEventBus,
        durable: str,
        state: _Durable,
        handler: EventHandler,
        max_deliver: int,
        on_dead_letter: DeadLetterHandler | None,
    ) -> None:
        self.durable = durable
        self.state = state
        self._bus = bus
        self._handler = handler
        self._max_deliver = max_deliver
        self._on_dead_letter = on_dead_letter
        self._task = asyncio.create_task(self._run(), name=f"memory-consume:{durable}")

    async def unsubscribe(self) -> None:
        self._bus._consumers.discard(self)
        await _stop(self._task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            changed = self._bus._changed
            seq = self.state.take(self._bus.published_events, loop.time())
            if seq is None:
                await self._wait(changed, loop.time())
                continue
            await self._deliver(seq)
            self._bus._notify()

    async def _wait(self, changed: asyncio.Event, now: float) -> None:
        due = min(self.state.redeliver_at.values(), default=None)
        timeout = None if due is None else max(0.0, due - now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)

    async def _deliver(self, seq: int) -> None:
        state = self.state
        event = self._bus.published_events[seq][1]
        count = state.deliveries[seq] = state.deliveries.get(seq, 0) + 1
        state.in_flight.add(seq)
        try:
            await self._handler(event)
        except asyncio.CancelledError:
            # Unsubscribed mid-handler: unacked, so the next consumer of this durable gets it.
            state.redeliver_at[seq] = 0.0
            raise
        except Exception as exc:
            if count >= self._max_deliver:
                await self._dead_letter(event, exc, count)
                del state.deliveries[seq]
            else:
                due = asyncio.get_running_loop().time() + self._bus._redelivery_delay_secs
                state.redeliver_at[seq] = due
        else:
            del state.deliveries[seq]
        finally:
            state.in_flight.discard(seq)

    async def _dead_letter(self, event: CloudEvent, exc: Exception, count: int) -> None:
        logger.error(
            "consumer %s gave up on event %s (%s) after %d deliveries: %r",
            self.durable, event.id, event.type, count, exc,
        )
        if self._on_dead_letter is None:
            return
        try:
            await self._on_dead_letter(event, exc)
        except Exception:
            logger.exception("dead-letter handler of %s failed for %s", self.durable, event.id)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    # From inside its own handler the task cannot await itself; the cancel lands at its next await.
    if task is not asyncio.current_task():
        with contextlib.suppress(asyncio.CancelledError):
            await task
