"""The fetch loop every pull consumer on EVENTS runs, written once: bind, fetch a batch, hand
it on; on a failure unbind and bind again later, since the position lives on the server (a
durable) or in the consumer (a follower)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from shared.bus.nats_link import NatsLink

logger = logging.getLogger(__name__)

FETCH_BATCH = 64
FETCH_WAIT_SECS = 1.0
CONSUMER_RETRY_SECS = 0.5


class PullLoop:
    """A pull subscription on EVENTS and the task that fetches from it; subclasses say how to
    bind, how to handle a batch and what a failed fetch means."""

    def __init__(self, link: NatsLink, registry: set[PullLoop]) -> None:
        self._link = link
        # The bus's set of running loops, so `close()` stops them; we leave it when stopped.
        self._registry = registry
        self._psub: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def unsubscribe(self) -> None:
        raise NotImplementedError

    async def _bind(self) -> JetStreamContext.PullSubscription:
        raise NotImplementedError

    async def _handle_batch(self, msgs: list[Msg]) -> None:
        raise NotImplementedError

    def _fetch_failed(self, exc: Exception) -> None:
        raise NotImplementedError

    async def _stalled(self) -> bool:
        """After a fetch that found nothing: True when the consumer is in fact lost (gone with
        a node, say), so the loop binds again; each kind of loop knows how to tell."""
        return False

    def _may_fetch(self) -> bool:
        """False while this loop must not take deliveries (an exclusive consumer whose lease
        may have lapsed): it waits instead of fetching."""
        return True

    def _start_task(self, name: str) -> None:
        self._task = asyncio.create_task(self._run(), name=name)

    async def _stop_task(self, task: asyncio.Task[None]) -> None:
        self._registry.discard(self)
        task.cancel()
        # From inside our own handler we cannot await ourselves; _run unbinds as it ends.
        if task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _unbind(self) -> None:
        psub, self._psub = self._psub, None
        if psub is not None:
            with contextlib.suppress(nats.errors.Error):
                await psub.unsubscribe()

    async def _run(self) -> None:
        try:
            while True:
                if not self._link.is_connected:
                    # Fetching now would only pile pull requests into nats-py's reconnect buffer.
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                if not self._may_fetch():
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                try:
                    if self._psub is None:
                        self._psub = await self._bind()
                    msgs = await self._psub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_SECS)
                except TimeoutError:
                    if await self._stalled():
                        await self._unbind()
                    continue  # nothing new
                except Exception as exc:
                    # Disconnect, NATS restarted without our consumer, API hiccup.
                    self._fetch_failed(exc)
                    await self._unbind()
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                await self._handle_batch(msgs)
        finally:
            await self._unbind()


async def reply(ack: Awaitable[None]) -> None:
    """Answer a JetStream delivery (ack, nak, term, in progress), logging a failure."""
    try:
        await ack
    except nats.errors.Error as exc:
        # The server will redeliver after ack_wait; consumers are idempotent by event id.
        logger.warning("could not answer a JetStream delivery: %r", exc)
