"""The in-memory bus's durable side: a durable consumer's server-side state (position,
deliveries, redeliveries) and the consumer task that delivers from it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

from shared.bus.memory_live import stop_task
from shared.bus.port import DeadLetterHandler, EventHandler, SequencedHandler
from shared.contracts.envelope import CloudEvent
from shared.contracts.subjects import subject_matches

logger = logging.getLogger(__name__)


@dataclass
class Durable:
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


class MemoryStream(Protocol):
    """What a consumer needs of the in-memory bus: its stream, and its change signal."""

    published_events: list[tuple[str, CloudEvent]]
    redelivery_delay_secs: float

    @property
    def changed(self) -> asyncio.Event: ...

    def notify(self) -> None: ...


class Consumer:
    """A subscription to a `Durable`: one task that delivers its events in order."""

    def __init__(
        self,
        bus: MemoryStream,
        registry: set[Consumer],
        durable: str,
        state: Durable,
        handler: EventHandler | SequencedHandler,
        max_deliver: int,
        on_dead_letter: DeadLetterHandler | None,
        *,
        sequenced: bool = False,
    ) -> None:
        self.durable = durable
        # A replay's handler takes (stream sequence, event).
        self._sequenced = sequenced
        self.state = state
        self._bus = bus
        self._registry = registry  # the bus's consumers; we leave it when stopped
        self._handler = handler
        self._max_deliver = max_deliver
        self._on_dead_letter = on_dead_letter
        self._task = asyncio.create_task(self._run(), name=f"memory-consume:{durable}")

    async def unsubscribe(self) -> None:
        self._registry.discard(self)
        await stop_task(self._task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            changed = self._bus.changed
            seq = self.state.take(self._bus.published_events, loop.time())
            if seq is None:
                await self._wait(changed, loop.time())
                continue
            await self._deliver(seq)
            self._bus.notify()

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
            if self._sequenced:
                await self._handler(seq + 1, event)  # type: ignore[call-arg]
            else:
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
                due = asyncio.get_running_loop().time() + self._bus.redelivery_delay_secs
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
