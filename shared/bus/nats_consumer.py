"""`NatsConsumer`: one durable pull consumer on EVENTS (`consume`), its handler fed in order,
failures redelivered with back-off and, after `max_deliver`, dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.bus.nats_link import NatsLink
from shared.bus.nats_pull import PullLoop, reply
from shared.bus.port import DeadLetterHandler, EventHandler
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import EVENTS_STREAM

logger = logging.getLogger(__name__)

ACK_WAIT_SECS = 30.0


def redelivery_delay_secs(num_delivered: int, base_secs: float, max_secs: float) -> float:
    """Back-off before redelivering an event that failed `num_delivered` times: doubling, capped."""
    return min(max_secs, base_secs * 2 ** max(0, num_delivered - 1))


class NatsConsumer(PullLoop):
    """One durable pull consumer on EVENTS and the task that feeds its handler, in order."""

    def __init__(
        self,
        link: NatsLink,
        registry: set[PullLoop],
        durable: str,
        filter_subjects: list[str],
        handler: EventHandler,
        max_deliver: int,
        on_dead_letter: DeadLetterHandler | None,
        may_handle: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(link, registry)
        # An exclusive consumer's lease check (`nats_exclusive`): once it fails, nothing more
        # is fetched or handled here; what this instance holds unacknowledged is the next
        # holder's to apply.
        self._may_handle = may_handle
        self._durable = durable
        self._filter_subjects = filter_subjects
        self._handler = handler
        self._max_deliver = max_deliver
        self._on_dead_letter = on_dead_letter
        self._stopped = False

    async def start(self) -> None:
        # Bind once here so a bad configuration fails the caller instead of a background task.
        self._psub = await self._bind()
        self._start_task(f"consume:{self._durable}")

    async def unsubscribe(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        task = self._task
        if task is None:
            self._registry.discard(self)
            await self._unbind()
            return
        await self._stop_task(task)

    def _config(self) -> ConsumerConfig:
        filters: dict[str, object] = (
            {"filter_subjects": self._filter_subjects}
            if len(self._filter_subjects) > 1
            else {"filter_subject": self._filter_subjects[0]}
        )
        return ConsumerConfig(
            name=self._durable,
            durable_name=self._durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._link.ack_wait_secs,
            max_deliver=self._max_deliver,
            **filters,  # type: ignore[arg-type]
        )

    async def _bind(self) -> JetStreamContext.PullSubscription:
        js = self._link.jetstream
        wanted = self._config()
        try:
            info = await js.consumer_info(EVENTS_STREAM, self._durable)
        except nats.js.errors.NotFoundError:
            # Missing consumer, or the whole stream after NATS lost its store.
            await self._link.ensure_stream()
            await js.add_consumer(EVENTS_STREAM, wanted)
        else:
            current = info.config
            current_filters = current.filter_subjects or [current.filter_subject]
            if (
                sorted(f for f in current_filters if f) != sorted(self._filter_subjects)
                or current.max_deliver != self._max_deliver
                or current.ack_wait != wanted.ack_wait
            ):
                # Same name, same position: the server updates the editable settings in place.
                # Its start (deliver policy, start sequence) cannot change, and need not be
                # ours: `tertulia restore` starts a consumer where its backup left it.
                await js.add_consumer(EVENTS_STREAM, current.evolve(
                    filter_subject=wanted.filter_subject,
                    filter_subjects=wanted.filter_subjects, max_deliver=wanted.max_deliver,
                    ack_wait=wanted.ack_wait))
                logger.info("updated consumer %s to %s", self._durable, self._filter_subjects)
        return await js.pull_subscribe_bind(durable=self._durable, stream=EVENTS_STREAM)

    def _may_fetch(self) -> bool:
        return self._may_handle is None or self._may_handle()

    def _fetch_failed(self, exc: Exception) -> None:
        # The position lives on the server, so binding again later loses nothing.
        logger.warning("consumer %s: fetch failed (%r); rebinding", self._durable, exc)

    async def _handle_batch(self, msgs: list[Msg]) -> None:
        loop = asyncio.get_running_loop()
        held_since = loop.time()
        for i, msg in enumerate(msgs):
            if not self._may_fetch():
                return  # the lease lapsed: the rest is the next holder's, unacknowledged
            if loop.time() - held_since > self._link.ack_wait_secs / 2:
                # Slow handlers: tell the server the rest of the batch is still ours, or it
                # redelivers them (counting towards max_deliver) while they wait their turn.
                for waiting in msgs[i:]:
                    await reply(waiting.in_progress())
                held_since = loop.time()
            try:
                await self._handle(msg)
            except asyncio.CancelledError:
                # Stopping: hand back what we hold so the next consumer gets it now rather
                # than after ack_wait. A nak after an ack is ignored by the server.
                for held in msgs[i:]:
                    with contextlib.suppress(Exception):
                        await held.nak()
                raise

    async def _handle(self, msg: Msg) -> None:
        try:
            event = CloudEvent.from_bytes(msg.data)
        except ValueError as exc:  # bad JSON and failed validation are both ValueErrors
            logger.error(
                "consumer %s: terminating unparseable message on %s: %r",
                self._durable, msg.subject, exc,
            )
            await reply(msg.term())
            return
        try:
            await self._handler(event)
        except Exception as exc:
            await self._failed(msg, event, exc)
        else:
            await reply(msg.ack())

    async def _failed(self, msg: Msg, event: CloudEvent, exc: Exception) -> None:
        delivered = msg.metadata.num_delivered
        if delivered < self._max_deliver:
            delay = redelivery_delay_secs(
                delivered, self._link.redelivery_base_secs, self._link.redelivery_max_secs
            )
            logger.warning(
                "consumer %s: event %s (%s) failed on delivery %d/%d, retry in %.2fs: %r",
                self._durable, event.id, event.type, delivered, self._max_deliver, delay, exc,
            )
            await reply(msg.nak(delay=delay))
            return
        logger.error(
            "consumer %s gave up on event %s (%s) after %d deliveries: %r",
            self._durable, event.id, event.type, delivered, exc,
        )
        if self._on_dead_letter is not None:
            try:
                await self._on_dead_letter(event, exc)
            except Exception:
                logger.exception("dead-letter handler of %s failed for %s", self._durable, event.id)
        await reply(msg.term())
