"""`LiveSubscriptions`: this replica's NATS subscriptions to live subjects. A room's or a
user's subject is subscribed while at least one local socket needs it (the hub says which,
`needed`); acquiring and releasing take one lock, so a subject released while another
socket acquires it is never left unsubscribed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from shared.bus import EventBus, LiveHandler, Subscription


class LiveSubscriptions:
    def __init__(self, bus: EventBus, needed: Callable[[str], bool]) -> None:
        self._bus = bus
        self._needed = needed
        self._subs: dict[str, Subscription] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, subject: str, handler: LiveHandler, *, flush: bool) -> None:
        async with self._lock:
            if subject not in self._subs:
                self._subs[subject] = await self._bus.subscribe(subject, handler, flush=flush)

    async def release(self, subject: str) -> None:
        """Unsubscribe, unless a local socket still needs the subject."""
        async with self._lock:
            sub = None if self._needed(subject) else self._subs.pop(subject, None)
        if sub is not None:
            await sub.unsubscribe()

    async def close(self) -> None:
        for sub in list(self._subs.values()):
            await sub.unsubscribe()
        self._subs.clear()
