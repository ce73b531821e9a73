"""`NatsFollower`: an ephemeral pull consumer on EVENTS that this process alone reads
(`follow`), made again after a failure from the stream sequence after the last event handled.

Its consumer is R1 and in memory, so it lives on one node of a cluster. When that node dies
the consumer is gone (fetches only time out) or, if the node comes back at once, made again
from its first configuration (it sends from the original start again). The follower checks
for both: after `STALL_CHECK_SECS` of empty fetches it asks for the consumer's info, and a
delivery at or before the last sequence it handled is never handed on; either way it makes
a new consumer after the last event it handled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import datetime

import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.bus.nats_link import NATS_FAILURES, NatsLink
from shared.bus.nats_pull import PullLoop
from shared.bus.port import SequencedHandler
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import EVENTS_STREAM

logger = logging.getLogger(__name__)

# A follower's ephemeral consumer outlives a disconnect this long; after that it is gone and
# the follower makes another one from the last event it handled.
FOLLOW_INACTIVE_SECS = 60.0
# How long `follow` waits for the events stored before it to be handled.
FOLLOW_CATCH_UP_SECS = 10.0
# Empty fetches for this long make the follower ask whether its consumer still exists.
STALL_CHECK_SECS = 5.0


class NatsFollower(PullLoop):
    """An ephemeral pull consumer of `subject` from `since` (None: from the stream's start,
    or after `after_seq`), with no acknowledgements; `handler` gets each stream sequence."""

    def __init__(self, link: NatsLink, registry: set[PullLoop], subject: str,
                 handler: SequencedHandler, since: datetime | None, after_seq: int = 0) -> None:
        super().__init__(link, registry)
        self._subject = subject
        self._handler = handler
        self._since = since
        self._last_seq = after_seq
        self._consumer: str | None = None
        self._caught_up = asyncio.Event()
        self._idle_since: float | None = None
        self._suspect_at: int | None = None  # _last_seq when a check last found pending events

    async def started(self) -> NatsFollower:
        """Registered with the bus (stopped when it closes) and started."""
        self._registry.add(self)
        await self.start()
        return self

    async def start(self) -> None:
        self._start_task(f"follow:{self._subject}")
        try:
            await asyncio.wait_for(self._caught_up.wait(), FOLLOW_CATCH_UP_SECS)
        except TimeoutError:
            logger.warning("following %s: not caught up within %.0fs; going on", self._subject,
                           FOLLOW_CATCH_UP_SECS)

    async def unsubscribe(self) -> None:
        self._registry.discard(self)
        task, self._task = self._task, None
        if task is not None:
            await self._stop_task(task)

    def _config(self) -> ConsumerConfig:
        start: dict[str, object] = (
            {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE,
             "opt_start_seq": self._last_seq + 1}
            if self._last_seq else
            {"deliver_policy": DeliverPolicy.ALL} if self._since is None else
            {"deliver_policy": DeliverPolicy.BY_START_TIME,
             "opt_start_time": self._since.isoformat()})
        # Named (still ephemeral): nats-py then asks on CONSUMER.CREATE.EVENTS.<name>.<filter>,
        # so a NATS user can be allowed followers of this one subject and nothing wider.
        return ConsumerConfig(
            name=f"follow-{secrets.token_hex(8)}",
            ack_policy=AckPolicy.NONE, filter_subject=self._subject,
            inactive_threshold=FOLLOW_INACTIVE_SECS, mem_storage=True, num_replicas=1,
            **start)  # type: ignore[arg-type]

    async def _bind(self) -> JetStreamContext.PullSubscription:
        js = self._link.jetstream
        if self._last_seq:
            try:
                state = (await js.stream_info(EVENTS_STREAM)).state
            except nats.js.errors.NotFoundError:
                await self._link.ensure_stream()
                state = (await js.stream_info(EVENTS_STREAM)).state
            if state.last_seq < self._last_seq:
                self._last_seq = 0  # a new, empty stream (NATS lost its store): from `since`
        info = await js.add_consumer(EVENTS_STREAM, self._config())
        self._consumer = info.name
        if not info.num_pending:
            self._caught_up.set()
        return await js.pull_subscribe_bind(consumer=info.name, stream=EVENTS_STREAM)

    async def _unbind(self) -> None:
        consumer, self._consumer = self._consumer, None
        await super()._unbind()
        if consumer is not None and self._link.is_connected:
            with contextlib.suppress(*NATS_FAILURES):
                await self._link.jetstream.delete_consumer(EVENTS_STREAM, consumer)

    def _fetch_failed(self, exc: Exception) -> None:
        logger.warning("following %s: fetch failed (%r); again from seq %d",
                       self._subject, exc, self._last_seq + 1)

    async def _stalled(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < STALL_CHECK_SECS or self._consumer is None:
            return False
        self._idle_since = now
        try:
            info = await self._link.jetstream.consumer_info(EVENTS_STREAM, self._consumer)
        except (*NATS_FAILURES, nats.js.errors.Error) as exc:
            logger.warning("following %s: consumer %s lost (%r); again from seq %d",
                           self._subject, self._consumer, exc, self._last_seq + 1)
            return True
        if not info.num_pending:
            self._suspect_at = None
            return False
        # Events wait and fetches find none: stalled if twice running with no progress.
        stalled = self._suspect_at == self._last_seq
        self._suspect_at = self._last_seq
        if stalled:
            logger.warning("following %s: consumer %s delivers nothing; again from seq %d",
                           self._subject, self._consumer, self._last_seq + 1)
        return stalled

    async def _handle_batch(self, msgs: list[Msg]) -> None:
        self._idle_since = None
        for msg in msgs:
            seq = msg.metadata.sequence.stream
            if seq <= self._last_seq:
                # Made again from its first configuration (its node restarted): not ours to
                # hand on twice; a new consumer after the last event handled.
                logger.warning("following %s: consumer %s went back to seq %d; again from "
                               "seq %d", self._subject, self._consumer, seq, self._last_seq + 1)
                await self._unbind()
                return
            await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        meta = msg.metadata
        self._last_seq = meta.sequence.stream
        try:
            await self._handler(self._last_seq, CloudEvent.from_bytes(msg.data))
        except Exception:
            logger.exception("following %s: handler failed on stream seq %d", self._subject,
                             self._last_seq)
        if not meta.num_pending:
            self._caught_up.set()
