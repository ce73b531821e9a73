"""The in-memory bus's live side: NATS subject matching, one queue and task per
subscription, and responders for request/reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shared.bus.port import LiveHandler, LiveMessage, Responder

logger = logging.getLogger(__name__)


class Responding:
    def __init__(self, registry: list[tuple[str, Responder]],
                 entry: tuple[str, Responder]) -> None:
        self._registry = registry
        self._entry = entry

    async def unsubscribe(self) -> None:
        if self._entry in self._registry:
            self._registry.remove(self._entry)


class LiveSubscription:
    # One queue and one task per subscription, as nats-py does: publish() only enqueues, so a
    # slow handler delays its own subscription and never the publisher or other subscribers.
    # The queue is unbounded; NATS would drop for a slow consumer, a unit test rather not.

    def __init__(self, subject: str, handler: LiveHandler, registry: set[LiveSubscription],
                 notify: Callable[[], None]) -> None:
        self.subject = subject
        # The bus's live subscriptions (we leave it when stopped) and its "something changed".
        self._registry = registry
        self._notify = notify
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
        self._registry.discard(self)
        await stop_task(self._task)

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
                self._notify()


async def stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    # From inside its own handler the task cannot await itself; the cancel lands at its next await.
    if task is not asyncio.current_task():
        with contextlib.suppress(asyncio.CancelledError):
            await task
