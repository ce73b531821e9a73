"""`ExclusiveConsumer`: a durable consumed by one instance at a time, the others standing by.

The holder of a lease (a key in a KV bucket whose entries expire) runs a `NatsConsumer`;
the others try to create the key every `poll` and take over once it is released (a clean
stop) or has expired (a killed or cut-off holder). Why this keeps stream order:

- A holder renews with "expected revision", and stops fetching and handling at
  `valid_until` = when it sent its last successful renewal + lease - `GUARD_SECS`. The
  key expires on the server `lease` after it was written, later than that, so the holder
  has stopped (its last pull request, at most `FETCH_WAIT_SECS` long, has ended too)
  before anyone else can create the key.
- What the old holder was handed and did not acknowledge stays pending on the server
  until the bus's ack wait (`<P>EVENTS_ACK_WAIT_SECS`, 30 s) and would then be
  redelivered after newer events. So the
  new holder first reads the consumer's unacknowledged range (ack floor, last delivered]
  from the stream itself and applies it in order, then fetches: every event it applies
  after that is newer. A pending event redelivered later is a duplicate (the handler is
  idempotent by event id), never a reordering.
- A handler the old holder started before `valid_until` may commit after the new holder
  started; the new holder applies that same event first in its catch-up, and the handler's
  id claim (in the transaction of its effects) lets exactly one of the two take effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import nats.js.errors
from nats.js.kv import KeyValue

from shared.bus.nats_consumer import NatsConsumer
from shared.bus.nats_kv import ensure_kv_bucket
from shared.bus.nats_link import NATS_FAILURES, NatsLink
from shared.bus.nats_pull import FETCH_WAIT_SECS, PullLoop
from shared.bus.port import DeadLetterHandler, EventHandler, Exclusive
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import EVENTS_STREAM
from shared.contracts.subjects import subject_matches

logger = logging.getLogger(__name__)

# A holder stops this long before its lease can expire on the server: its last pull
# request (FETCH_WAIT_SECS) and a second of slack for the renewal's round trip.
GUARD_SECS = FETCH_WAIT_SECS + 1.0
MIN_LEASE_SECS = GUARD_SECS + 1.0


class ExclusiveConsumer:
    """One durable, consumed from this instance only while it holds the lease."""

    def __init__(self, link: NatsLink, registry: set[ExclusiveConsumer], durable: str,
                 filter_subjects: list[str], handler: EventHandler, max_deliver: int,
                 on_dead_letter: DeadLetterHandler | None, exclusive: Exclusive,
                 kv_replicas: int = 1) -> None:
        if exclusive.lease_secs < MIN_LEASE_SECS:
            raise ValueError(f"lease_secs must be at least {MIN_LEASE_SECS}")
        self._link = link
        self._registry = registry
        self._durable = durable
        self._filters = filter_subjects
        self._handler = handler
        self._max_deliver = max_deliver
        self._on_dead_letter = on_dead_letter
        self._lease = exclusive
        self._kv_replicas = kv_replicas
        self._key = durable
        self._renew_secs = exclusive.lease_secs / 4  # one lost renewal still keeps the lease
        self._poll_secs = min(1.0, exclusive.lease_secs / 5)
        self._kv: KeyValue | None = None
        self._revision = 0
        self._valid_until = 0.0
        self._active: NatsConsumer | None = None
        self._inner: set[PullLoop] = set()  # the active consumer's registry, not the bus's
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def active(self) -> bool:
        return self._active is not None

    async def start(self) -> None:
        self._kv = await ensure_kv_bucket(
            self._link.jetstream, self._lease.bucket, self._lease.lease_secs,
            "Which instance consumes each exclusive durable consumer (leases)",
            replicas=self._kv_replicas)
        try:
            await self._try_acquire()  # alone, consuming before start returns, as without one
        except NATS_FAILURES as exc:
            # A bucket just created on a cluster has no leader for a moment ("no response
            # from stream"): stand by, and the loop below asks again within poll_secs.
            logger.warning("lease of consumer %s not taken yet: %r", self._durable, exc)
        self._task = asyncio.create_task(self._run(), name=f"lease:{self._durable}")

    async def unsubscribe(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._registry.discard(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        was_active = self._active is not None
        # Stopping the consumer hands back what it held (nak) before the lease goes, so the
        # next holder gets those first.
        await self._deactivate()
        if was_active and self._kv is not None:
            try:
                await self._kv.delete(self._key, last=self._revision)
                logger.info("released the lease of consumer %s", self._durable)
            except NATS_FAILURES as exc:
                logger.warning("could not release the lease of %s (%r); it expires in %.1fs",
                               self._durable, exc, self._lease.lease_secs)

    def _holds(self) -> bool:
        return asyncio.get_running_loop().time() < self._valid_until

    async def _run(self) -> None:
        while True:
            try:
                if self._active is None:
                    await asyncio.sleep(self._poll_secs)
                    await self._try_acquire()
                else:
                    await asyncio.sleep(self._renew_secs)
                    await self._renew()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # NATS unreachable: a holder keeps its lease until valid_until, no longer.
                logger.warning("lease of consumer %s: %r", self._durable, exc)
                if self._active is not None and not self._holds():
                    logger.warning("lost the lease of consumer %s (could not renew it)",
                                   self._durable)
                    await self._deactivate()

    async def _try_acquire(self) -> bool:
        if not self._link.is_connected or self._kv is None:
            return False
        sent = asyncio.get_running_loop().time()
        try:
            self._revision = await self._kv.create(self._key, self._lease.holder.encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            return False  # another instance holds it
        self._valid_until = sent + self._lease.lease_secs - GUARD_SECS
        try:
            await self._activate()
        except BaseException:
            # Not consuming after all: let another instance have it now.
            self._valid_until = 0.0
            with contextlib.suppress(*NATS_FAILURES):
                await self._kv.delete(self._key, last=self._revision)
            raise
        return True

    async def _renew(self) -> None:
        assert self._kv is not None
        sent = asyncio.get_running_loop().time()
        try:
            self._revision = await self._kv.update(self._key, self._lease.holder.encode(),
                                                   last=self._revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            # It expired (we were cut off or paused) and maybe another instance holds it.
            logger.warning("lost the lease of consumer %s (it expired)", self._durable)
            self._valid_until = 0.0
            await self._deactivate()
            return
        self._valid_until = sent + self._lease.lease_secs - GUARD_SECS

    async def _activate(self) -> None:
        await self._catch_up()
        consumer = NatsConsumer(self._link, self._inner, self._durable, self._filters,
                                self._handler, self._max_deliver, self._on_dead_letter,
                                may_handle=self._holds)
        await consumer.start()
        self._inner.add(consumer)
        self._active = consumer
        logger.info("consuming %s: this instance holds its lease",
                    self._durable, extra={"fields": {"holder": self._lease.holder}})
        if self._lease.on_change is not None:
            self._lease.on_change(True)

    async def _deactivate(self) -> None:
        consumer, self._active = self._active, None
        if consumer is None:
            return
        await consumer.unsubscribe()
        logger.info("standing by for consumer %s", self._durable,
                    extra={"fields": {"holder": self._lease.holder}})
        if self._lease.on_change is not None:
            self._lease.on_change(False)

    async def _catch_up(self) -> None:
        """Apply, in stream order, what the consumer delivered and nobody acknowledged (a
        predecessor killed mid-batch), before fetching anything newer."""
        js = self._link.jetstream
        try:
            info = await js.consumer_info(EVENTS_STREAM, self._durable)
        except nats.js.errors.NotFoundError:
            return  # created on start, at the beginning: nothing was delivered
        if not info.num_ack_pending or info.ack_floor is None or info.delivered is None:
            return
        first = (info.ack_floor.stream_seq or 0) + 1
        last = info.delivered.stream_seq or 0
        applied = 0
        for seq in range(first, last + 1):
            if not self._holds():
                raise TimeoutError("the lease lapsed during the catch-up")
            try:
                raw = await js.get_msg(EVENTS_STREAM, seq)
            except nats.js.errors.NotFoundError:
                continue  # aged out of the stream
            if raw.subject is None or raw.data is None or not any(
                    subject_matches(f, raw.subject) for f in self._filters):
                continue
            try:
                event = CloudEvent.from_bytes(raw.data)
            except ValueError:
                continue  # the consumer terminates it when it comes round again
            try:
                await self._handler(event)
                applied += 1
            except Exception as exc:
                # Redelivered by the consumer later, with its retries and dead letters.
                logger.warning("consumer %s: catch-up of event %s failed: %r",
                               self._durable, event.id, exc)
        logger.info("consumer %s: caught up %d unacknowledged events (stream %d..%d)",
                    self._durable, applied, first, last,
                    extra={"fields": {"pending": info.num_ack_pending}})
