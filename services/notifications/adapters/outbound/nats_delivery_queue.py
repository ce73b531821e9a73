"""The webhooks' durable queue on JetStream: a work-queue stream (WEBHOOKS, subjects
`webhooks.deliver.<webhook id>`) holding one message per delivery, de-duplicated by its
`delivery_id` (`Nats-Msg-Id`), and its durable pull consumer, served by `serve`: up to
`concurrency` attempts at once, each acknowledged when delivered or given up (then the
stream forgets it), or NAK'ed with the back-off the use case chose. A delivery an
instance held when it died comes back after the consumer's ack wait, same `delivery_id`.
`MemoryDeliveryQueue` is the same on one process's memory (tests on the in-memory bus)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import nats.errors
import nats.js.errors
import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from services.notifications.domain.webhooks import Delivery
from services.notifications.ports import DeliveryHandler
from shared.bus import PublishFailed
from shared.bus.nats import NatsEventBus

log = logging.getLogger(__name__)

FETCH_WAIT_SECS = 1.0
RETRY_SECS = 0.5
# A handler that raised (the database away): tried again this much later.
HANDLER_FAILED_DELAY_SECS = 5.0


def encode(delivery: Delivery) -> bytes:
    return orjson.dumps({"delivery_id": delivery.delivery_id,
                         "webhook_id": delivery.webhook_id, "event": delivery.event,
                         "data": delivery.data, "event_id": delivery.event_id,
                         "occurred_at": delivery.occurred_at.isoformat()})


def decode(raw: bytes) -> Delivery:
    d: dict[str, Any] = orjson.loads(raw)
    return Delivery(d["delivery_id"], int(d["webhook_id"]), d["event"], d["data"],
                    d["event_id"], datetime.fromisoformat(d["occurred_at"]))


class NatsDeliveryQueue:
    def __init__(self, bus: NatsEventBus, *, stream: str, subject_prefix: str, durable: str,
                 max_attempts: int, ack_wait_secs: float, max_age_secs: float,
                 duplicate_window_secs: float = 600.0, replicas: int = 1) -> None:
        self._bus = bus
        self._stream = stream
        self._prefix = subject_prefix
        self._durable = durable
        self._max_attempts = max_attempts
        self._ack_wait = ack_wait_secs
        self._max_age = max_age_secs
        self._window = duplicate_window_secs
        self._replicas = replicas
        self._ready = False

    async def setup(self) -> None:
        """The stream and the consumer, created or brought up to date."""
        js = self._bus.jetstream
        wanted = StreamConfig(
            name=self._stream, subjects=[f"{self._prefix}.>"],
            retention=RetentionPolicy.WORK_QUEUE, storage=StorageType.FILE,
            max_age=self._max_age, duplicate_window=self._window,
            num_replicas=self._replicas)
        try:
            info = await js.stream_info(self._stream)
        except nats.js.errors.NotFoundError:
            await js.add_stream(wanted)
        else:
            current = info.config
            if (current.max_age != wanted.max_age or current.subjects != wanted.subjects
                    or current.duplicate_window != wanted.duplicate_window
                    or (current.num_replicas or 1) != self._replicas):
                await js.update_stream(current.evolve(
                    subjects=wanted.subjects, max_age=wanted.max_age,
                    duplicate_window=wanted.duplicate_window, num_replicas=self._replicas))
        config = ConsumerConfig(
            name=self._durable, durable_name=self._durable, ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL, ack_wait=self._ack_wait,
            max_deliver=self._max_attempts, filter_subject=f"{self._prefix}.>")
        try:
            current_consumer = (await js.consumer_info(self._stream, self._durable)).config
        except nats.js.errors.NotFoundError:
            await js.add_consumer(self._stream, config)
        else:
            if (current_consumer.ack_wait != config.ack_wait
                    or current_consumer.max_deliver != config.max_deliver):
                await js.add_consumer(self._stream, current_consumer.evolve(
                    ack_wait=config.ack_wait, max_deliver=config.max_deliver))
        self._ready = True

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        if not self._ready:
            await self.setup()
        js = self._bus.jetstream
        try:
            acks = await asyncio.gather(*(
                js.publish(f"{self._prefix}.{d.webhook_id}", encode(d), stream=self._stream,
                           headers={"Nats-Msg-Id": d.delivery_id})
                for d in deliveries))
        except (nats.errors.Error, TimeoutError) as exc:
            raise PublishFailed(f"webhook deliveries not stored: {exc!r}") from exc
        for ack in acks:
            if ack.stream != self._stream:
                raise PublishFailed(f"webhook delivery stored in {ack.stream}")

    async def serve(self, handler: DeliveryHandler, concurrency: int) -> _Worker:
        worker = _Worker(self, handler, concurrency)
        worker.start()
        return worker

    async def _bind(self) -> JetStreamContext.PullSubscription:
        if not self._ready:
            await self.setup()
        return await self._bus.jetstream.pull_subscribe_bind(durable=self._durable,
                                                             stream=self._stream)


class _Worker:
    """Fetches no more than it has free slots for, so a receiver that hangs holds one
    slot until the timeout and the others go on."""

    def __init__(self, queue: NatsDeliveryQueue, handler: DeliveryHandler,
                 concurrency: int) -> None:
        self._queue = queue
        self._handler = handler
        self._concurrency = concurrency
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._psub: JetStreamContext.PullSubscription | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-deliveries")

    async def unsubscribe(self) -> None:
        """The pull subscription goes first, so the server drops our waiting pull request
        (no interest left) and hands what we give back below to another instance, not to
        that request; then the attempts in flight are stopped and given back (NAK)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self._queue._bus.client.flush(timeout=1)
        for attempt in list(self._inflight):
            attempt.cancel()
        if self._inflight:
            await asyncio.wait(list(self._inflight))

    async def _run(self) -> None:
        try:
            await self._fetching()
        finally:
            if self._psub is not None:
                with contextlib.suppress(nats.errors.Error):
                    await self._psub.unsubscribe()

    async def _fetching(self) -> None:
        while True:
            free = self._concurrency - len(self._inflight)
            if free <= 0:
                await asyncio.wait(list(self._inflight), return_when=asyncio.FIRST_COMPLETED)
                continue
            if not self._queue._bus.is_connected:
                await asyncio.sleep(RETRY_SECS)
                continue
            try:
                if self._psub is None:
                    self._psub = await self._queue._bind()
                msgs = await self._psub.fetch(free, timeout=FETCH_WAIT_SECS)
            except TimeoutError:
                continue
            except Exception as exc:  # disconnected, the consumer gone: bind again
                log.warning("webhook deliveries: fetch failed (%r); binding again", exc)
                if self._psub is not None:
                    with contextlib.suppress(nats.errors.Error):
                        await self._psub.unsubscribe()
                self._psub = None
                self._queue._ready = False
                await asyncio.sleep(RETRY_SECS)
                continue
            for msg in msgs:
                attempt = asyncio.create_task(self._one(msg))
                self._inflight.add(attempt)
                attempt.add_done_callback(self._inflight.discard)

    async def _one(self, msg: Msg) -> None:
        try:
            delivery = decode(msg.data)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("webhook deliveries: dropping an unreadable message: %r", exc)
            await _answer(msg.term())
            return
        try:
            outcome = await self._handler(delivery, msg.metadata.num_delivered)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await msg.nak()  # stopping: another instance may take it now
            raise
        except Exception:
            log.exception("webhook delivery %s failed to run", delivery.delivery_id)
            await _answer(msg.nak(delay=HANDLER_FAILED_DELAY_SECS))
            return
        if outcome.verdict == "retry":
            await _answer(msg.nak(delay=outcome.retry_in_secs))
        elif outcome.verdict == "delivered":
            await _answer(msg.ack())
        else:
            await _answer(msg.term())


async def _answer(reply: Any) -> None:
    try:
        await reply
    except nats.errors.Error as exc:  # the server hands it out again after the ack wait
        log.warning("webhook deliveries: could not answer a delivery: %r", exc)


class MemoryDeliveryQueue:
    """In one process's memory, for the in-memory bus: the same semantics (each delivery
    id once, retries after the delay the handler asks for, at most `max_attempts`), not
    durable."""

    def __init__(self, max_attempts: int) -> None:
        self._max_attempts = max_attempts
        self._pending: asyncio.Queue[tuple[Delivery, int]] = asyncio.Queue()
        self._seen: set[str] = set()

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            if delivery.delivery_id not in self._seen:
                self._seen.add(delivery.delivery_id)
                self._pending.put_nowait((delivery, 1))

    async def serve(self, handler: DeliveryHandler, concurrency: int) -> _MemoryWorkers:
        return _MemoryWorkers(self, handler, concurrency)

    async def _work(self, handler: DeliveryHandler) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delivery, attempt = await self._pending.get()
            try:
                outcome = await handler(delivery, attempt)
            except Exception:
                log.exception("webhook delivery %s failed to run", delivery.delivery_id)
                outcome = None
            retry = outcome is None or outcome.verdict == "retry"
            if retry and attempt < self._max_attempts:
                delay = HANDLER_FAILED_DELAY_SECS if outcome is None else (
                    outcome.retry_in_secs or 0.0)
                loop.call_later(delay, self._pending.put_nowait, (delivery, attempt + 1))


class _MemoryWorkers:
    def __init__(self, queue: MemoryDeliveryQueue, handler: DeliveryHandler,
                 concurrency: int) -> None:
        self._tasks = [asyncio.create_task(queue._work(handler)) for _ in range(concurrency)]

    async def unsubscribe(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
