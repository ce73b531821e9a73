"""Time as an inbound adapter: wakes at the board's next deadline and runs the timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from services.presence.ports import Clock

log = logging.getLogger(__name__)


class Ticker:
    """The `Scheduler` for real time. Wakes at the deadline it was last given, or after
    `max_sleep_secs` at the latest (a safety net, and how a lost connection is noticed)."""

    def __init__(self, clock: Clock, max_sleep_secs: float) -> None:
        self._clock = clock
        self._max_sleep_secs = max_sleep_secs
        self._next: datetime | None = None
        self._changed = asyncio.Event()

    def wake_at(self, when: datetime | None) -> None:
        if when != self._next:
            self._next = when
            self._changed.set()

    def _sleep_secs(self) -> float:
        if self._next is None:
            return self._max_sleep_secs
        left = (self._next - self._clock.now()).total_seconds()
        return min(max(left, 0.0), self._max_sleep_secs)

    async def run(self, tick: Callable[[], Awaitable[None]]) -> None:
        while True:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self._sleep_secs())
                if self._sleep_secs() > 0:
                    continue  # a new, later deadline: sleep again
            try:
                await tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence timers failed; trying again")
                await asyncio.sleep(self._max_sleep_secs)
