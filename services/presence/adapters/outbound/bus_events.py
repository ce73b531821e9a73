"""`PresenceEvents` on the bus: `events.presence.changed`, in order, retried while NATS is down.

`announce` only queues, so a JetStream outage never stalls the live subscription or the
timers. A worker publishes the queue head until the server acknowledges it; a retry carries
the same event id, so one that did land before is de-duplicated by `Nats-Msg-Id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import datetime

from shared.bus import EventBus, PublishFailed
from shared.contracts import CloudEvent, PresenceChanged, new_event

log = logging.getLogger(__name__)

RETRY_MAX_SECS = 5.0
# Presence is state, not history: past this many unpublished changes the oldest are dropped
# (consumers still see each user's latest status, with a `previous` that skips the gap).
MAX_PENDING = 10_000


class BusPresenceEvents:
    def __init__(self, bus: EventBus, *, source: str = "tertulia/presence",
                 max_pending: int = MAX_PENDING) -> None:
        self._bus = bus
        self._source = source
        self._pending: deque[tuple[str, CloudEvent]] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.published = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def announce(self, change: PresenceChanged, at: datetime) -> None:
        if len(self._pending) >= self._max_pending:
            _, lost = self._pending.popleft()
            self.dropped += 1
            log.error("presence event queue full; dropped %s", lost.id)
        self._pending.append(new_event(change, source=self._source, time=at,
                                       subject=str(change.user_id)))
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            subject, event = self._pending[0]
            try:
                await self._bus.publish_event(subject, event)
            except PublishFailed as exc:
                backoff = min(max(backoff * 2, 0.1), RETRY_MAX_SECS)
                log.warning("presence event not published, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                continue
            backoff = 0.0
            self.published += 1
            # The head may have been dropped meanwhile by a full queue; only pop what we sent.
            if self._pending and self._pending[0][1] is event:
                self._pending.popleft()

    async def drain(self, timeout_secs: float) -> bool:
        """Wait until every queued event is published; False if time ran out first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_secs):
                await self._idle.wait()
                return True
        return False
