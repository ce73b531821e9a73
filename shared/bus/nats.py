"""`NatsEventBus`: live traffic on core NATS, durable events on the JetStream stream EVENTS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from shared.bus.port import (
    DeadLetterHandler,
    EventHandler,
    LiveHandler,
    LiveMessage,
    PublishFailed,
    RawEvent,
    RequestFailed,
    Responder,
)
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import EVENTS_STREAM

logger = logging.getLogger(__name__)

RECONNECT_WAIT_SECS = 0.5
FLUSH_TIMEOUT_SECS = 2.0
DRAIN_TIMEOUT_SECS = 5
STREAM_RETRY_SECS = 0.25
FETCH_BATCH = 64
FETCH_WAIT_SECS = 1.0
ACK_WAIT_SECS = 30.0
CONSUMER_RETRY_SECS = 0.5
# A follower's ephemeral consumer outlives a disconnect this long; after that it is gone and
# the follower makes another one from the last event it handled.
FOLLOW_INACTIVE_SECS = 60.0
# How long `follow` waits for the events stored before it to be handled.
FOLLOW_CATCH_UP_SECS = 10.0
# nats-py's outgoing buffer; past it a publish waits for the server to take data.
PENDING_BYTES = 8 * 1024 * 1024
# Live (best-effort) publishes are dropped once this much waits, so they never wait.
LIVE_DROP_PENDING_BYTES = 4 * 1024 * 1024

# Everything nats-py raises for "the server did not do it": its own errors (timeouts, no
# responders, closed/reconnecting, JetStream API errors) plus socket-level ones.
_NATS_FAILURES = (nats.errors.Error, TimeoutError, OSError)


def redelivery_delay_secs(num_delivered: int, base_secs: float, max_secs: float) -> float:
    """Back-off before redelivering an event that failed `num_delivered` times: doubling, capped."""
    return min(max_secs, base_secs * 2 ** max(0, num_delivered - 1))


class NatsEventBus:
    """The EventBus over one NATS connection that reconnects forever.

    `client` and `jetstream` are exposed for services that also need KV buckets.
    """

    def __init__(
        self,
        url: str,
        name: str,
        stream_subjects: Sequence[str] = ("events.>",),
        duplicate_window_secs: float = 120.0,
        publish_timeout_secs: float = 2.0,
        *,
        connect_timeout_secs: float = 10.0,
        redelivery_base_secs: float = 0.5,
        redelivery_max_secs: float = 30.0,
        echo: bool = True,
    ) -> None:
        self._url = url
        # False: the server never delivers this connection's own publishes back to its own
        # subscriptions (a chat replica delivers its frames to its own sockets directly).
        self._echo = echo
        self._name = name
        self._stream_subjects = list(stream_subjects)
        self._duplicate_window_secs = duplicate_window_secs
        self._publish_timeout_secs = publish_timeout_secs
        self._connect_timeout_secs = connect_timeout_secs
        self.redelivery_base_secs = redelivery_base_secs
        self.redelivery_max_secs = redelivery_max_secs
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._consumers: set[_NatsConsumer] = set()
        self._followers: set[_NatsFollower] = set()

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def client(self) -> Client:
        if self._nc is None:
            raise RuntimeError("NatsEventBus.connect() has not been called")
        return self._nc

    @property
    def jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("NatsEventBus.connect() has not been called")
        return self._js

    async def connect(self) -> None:
        """Connect and make sure the EVENTS stream exists, retrying for `connect_timeout_secs`
        because NATS may be starting alongside us."""
        if self._nc is not None and not self._nc.is_closed:
            return
        nc = Client()
        try:
            async with asyncio.timeout(self._connect_timeout_secs):
                await nc.connect(
                    servers=[self._url],
                    name=self._name,
                    no_echo=not self._echo,
                    pending_size=PENDING_BYTES,
                    max_reconnect_attempts=-1,  # the first attempt too: it retries until timeout
                    reconnect_time_wait=RECONNECT_WAIT_SECS,  # type: ignore[arg-type]
                    drain_timeout=DRAIN_TIMEOUT_SECS,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                self._nc, self._js = nc, nc.jetstream()
                await self._ensure_stream_retrying()
        except TimeoutError as exc:
            await self._abandon(nc)
            raise ConnectionError(
                f"NATS at {self._url} not ready within {self._connect_timeout_secs}s"
            ) from exc
        except BaseException:
            await self._abandon(nc)
            raise

    async def close(self) -> None:
        """Stop consumers, then drain: queued live messages are handled and publishes flushed."""
        for consumer in list(self._consumers):
            await consumer.unsubscribe()
        for follower in list(self._followers):
            await follower.unsubscribe()
        nc = self._nc
        if nc is None or nc.is_closed:
            return
        try:
            await nc.drain()
        except _NATS_FAILURES:
            # Mid-reconnect nats-py refuses to drain; nothing buffered can be delivered anyway.
            await nc.close()

    async def ensure_stream(self) -> None:
        """Create the EVENTS stream, or bring its subjects and duplicate window up to date.

        Safe to call from several services at once and again after NATS lost its store.
        """
        js = self.jetstream
        wanted = StreamConfig(
            name=EVENTS_STREAM,
            subjects=self._stream_subjects,
            storage=StorageType.FILE,
            duplicate_window=self._duplicate_window_secs,
        )
        try:
            info = await js.stream_info(EVENTS_STREAM)
        except nats.js.errors.NotFoundError:
            try:
                await js.add_stream(wanted)
                logger.info("created JetStream stream %s for %s", EVENTS_STREAM, wanted.subjects)
                return
            except nats.js.errors.BadRequestError:
                # Another service created it between our look-up and our create.
                info = await js.stream_info(EVENTS_STREAM)
        current = info.config
        if current.storage != StorageType.FILE:
            logger.warning("stream %s uses %s storage, which cannot change in place",
                           EVENTS_STREAM, current.storage)
        same_subjects = sorted(current.subjects or []) == sorted(self._stream_subjects)
        same_window = abs((current.duplicate_window or 0) - self._duplicate_window_secs) < 1e-3
        if not (same_subjects and same_window):
            await js.update_stream(
                current.evolve(
                    subjects=self._stream_subjects, duplicate_window=self._duplicate_window_secs
                )
            )
            logger.info("updated JetStream stream %s configuration", EVENTS_STREAM)

    async def publish(
        self, subject: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        nc = self.client
        if nc.pending_data_size > LIVE_DROP_PENDING_BYTES:
            # The server takes nothing (frozen, or a slow link): drop live traffic before
            # nats-py's buffer is full, where a publish would wait for the server.
            logger.debug("dropped live message on %s: %d bytes pending", subject,
                         nc.pending_data_size)
            return
        try:
            # While reconnecting nats-py buffers this and sends it once connected again.
            await nc.publish(subject, data, headers=dict(headers) if headers else None)
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionDrainingError,
            nats.errors.OutboundBufferLimitError,
        ) as exc:
            # Live traffic is best effort: whoever missed it recovers from the database.
            logger.debug("dropped live message on %s: %r", subject, exc)

    async def subscribe(self, subject: str, handler: LiveHandler, *,
                        flush: bool = True) -> _NatsLiveSubscription:
        async def on_message(msg: Msg) -> None:
            message = LiveMessage(msg.subject, msg.data, msg.headers or {})
            try:
                await handler(message)
            except Exception:
                logger.exception("live handler for %s failed on %s", subject, msg.subject)

        # With cb= nats-py feeds one task per subscription: handlers run one at a time, in order.
        sub = _NatsLiveSubscription(await self.client.subscribe(subject, cb=on_message))
        if flush:
            # The server knows the interest once flushed: a caller that reads its database
            # next (join recovery) must not miss a frame published in between.
            await self._flush_quietly()
        return sub

    async def _flush_quietly(self) -> None:
        try:
            await self.client.flush(timeout=FLUSH_TIMEOUT_SECS)
        except Exception as exc:  # disconnected: the subscription is re-sent on reconnect
            logger.debug("flush after subscribe failed: %s", exc)

    async def request(self, subject: str, data: bytes, timeout_secs: float = 1.0) -> bytes:
        try:
            reply = await self.client.request(subject, data, timeout=timeout_secs)
        except Exception as exc:
            raise RequestFailed(f"no answer on {subject}: {type(exc).__name__}") from exc
        return reply.data

    async def respond(self, subject: str, responder: Responder) -> _NatsLiveSubscription:
        async def on_request(msg: Msg) -> None:
            try:
                answer = await responder(msg.data)
            except Exception:
                logger.exception("responder for %s failed", subject)
                return
            if msg.reply:
                await msg.respond(answer)

        sub = await self.client.subscribe(subject, queue=f"q.{subject}", cb=on_request)
        await self._flush_quietly()
        return _NatsLiveSubscription(sub)

    async def publish_event(self, subject: str, event: CloudEvent) -> None:
        try:
            try:
                await self._publish_durable(subject, event)
            except nats.js.errors.NoStreamResponseError:
                # Nothing stores this subject: NATS came back with an empty store. Once more.
                logger.warning("no stream answered for %s; re-creating %s", subject, EVENTS_STREAM)
                await self.ensure_stream()
                await self._publish_durable(subject, event)
        except (*_NATS_FAILURES, RuntimeError) as exc:
            raise PublishFailed(
                f"event {event.id} ({event.type}) on {subject} not acknowledged: {exc!r}"
            ) from exc

    async def publish_events(self, events: Sequence[RawEvent]) -> list[bool]:
        acked = [False] * len(events)
        if not events or not self.is_connected:
            return acked  # fail fast, as publish_event does
        js = self.jetstream
        futures: list[asyncio.Future[object]] = []
        try:
            for event in events:
                futures.append(await js.publish_async(
                    event.subject, event.payload, wait_stall=self._publish_timeout_secs,
                    stream=EVENTS_STREAM, headers={"Nats-Msg-Id": event.event_id}))
        except (*_NATS_FAILURES, RuntimeError) as exc:
            logger.warning("pipelined publish stopped after %d of %d: %r", len(futures),
                           len(events), exc)
        if not futures:
            return acked
        try:
            async with asyncio.timeout(self._publish_timeout_secs):
                # Already all sent: this only collects the acknowledgements, in order.
                for future in futures:
                    with contextlib.suppress(Exception):  # read below, per event
                        await future
        except TimeoutError:
            for future in futures:
                if not future.done():
                    future.cancel()
        missing_stream = False
        for i, future in enumerate(futures):
            if future.cancelled():
                continue
            error = future.exception()
            acked[i] = error is None
            missing_stream |= isinstance(error, nats.js.errors.NoStreamResponseError)
        if missing_stream:
            # Nothing stores these subjects: NATS came back with an empty store.
            logger.warning("no stream answered; re-creating %s", EVENTS_STREAM)
            with contextlib.suppress(*_NATS_FAILURES):
                await self.ensure_stream()
        return acked

    async def consume(
        self,
        durable: str,
        filter_subjects: Sequence[str],
        handler: EventHandler,
        *,
        max_deliver: int = 5,
        on_dead_letter: DeadLetterHandler | None = None,
    ) -> _NatsConsumer:
        consumer = _NatsConsumer(
            self, durable, list(filter_subjects), handler, max_deliver, on_dead_letter
        )
        await consumer.start()
        self._consumers.add(consumer)
        return consumer

    async def follow(self, subject: str, handler: EventHandler, *,
                     since: datetime) -> _NatsFollower:
        follower = _NatsFollower(self, subject, handler, since)
        self._followers.add(follower)
        await follower.start()
        return follower

    async def _publish_durable(self, subject: str, event: CloudEvent) -> None:
        if not self.client.is_connected:
            # Fail fast rather than let nats-py buffer the request: a buffered copy would be
            # stored after reconnecting although we reported failure (harmless thanks to the
            # Nats-Msg-Id, but a surprise) and long outages would fill the buffer.
            raise nats.errors.ConnectionReconnectingError
        await self.jetstream.publish(
            subject,
            event.to_bytes(),
            timeout=self._publish_timeout_secs,
            stream=EVENTS_STREAM,  # refuse to land in some other stream that claims the subject
            headers={"Nats-Msg-Id": event.id},
        )

    async def _ensure_stream_retrying(self) -> None:
        # A clustered JetStream can answer 503 for a while after the server accepts clients;
        # the caller's deadline bounds the retries.
        while True:
            try:
                await self.ensure_stream()
                return
            except nats.js.errors.ServiceUnavailableError as exc:
                logger.info("JetStream not ready yet (%r); retrying", exc)
                await asyncio.sleep(STREAM_RETRY_SECS)

    async def _abandon(self, nc: Client) -> None:
        self._nc = self._js = None
        # Stops nats-py's retry loop; the client may be half-connected, so ignore its complaints.
        with contextlib.suppress(*_NATS_FAILURES):
            await nc.close()

    async def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, OSError | TimeoutError | nats.errors.StaleConnectionError):
            # Lost connections and each failed (re)connect attempt land here; the disconnect
            # itself is logged once, below.
            logger.debug("NATS connection attempt to %s failed: %r", self._url, exc)
        else:
            logger.warning("NATS error on %s: %r", self._url, exc)

    async def _on_disconnected(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            logger.warning("disconnected from NATS at %s; reconnecting", self._url)

    async def _on_reconnected(self) -> None:
        logger.info("reconnected to NATS at %s", self._url)


class _NatsLiveSubscription:
    def __init__(self, sub: NatsSubscription) -> None:
        self._sub = sub
        self._done = False

    async def unsubscribe(self) -> None:
        if self._done:
            return
        self._done = True
        # A closed or draining connection has already dropped the subscription.
        with contextlib.suppress(nats.errors.Error):
            await self._sub.unsubscribe()


class _NatsConsumer:
    """One durable pull consumer on EVENTS and the task that feeds its handler, in order."""

    def __init__(
        self,
        bus: NatsEventBus,
        durable: str,
        filter_subjects: list[str],
        handler: EventHandler,
        max_deliver: int,
        on_dead_letter: DeadLetterHandler | None,
    ) -> None:
        self._bus = bus
        self._durable = durable
        self._filter_subjects = filter_subjects
        self._handler = handler
        self._max_deliver = max_deliver
        self._on_dead_letter = on_dead_letter
        self._psub: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        # Bind once here so a bad configuration fails the caller instead of a background task.
        self._psub = await self._bind()
        self._task = asyncio.create_task(self._run(), name=f"consume:{self._durable}")

    async def unsubscribe(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._bus._consumers.discard(self)
        task = self._task
        if task is None:
            await self._unbind()
            return
        task.cancel()
        # From inside our own handler we cannot await ourselves; _run unbinds as it ends.
        if task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
            ack_wait=ACK_WAIT_SECS,
            max_deliver=self._max_deliver,
            **filters,  # type: ignore[arg-type]
        )

    async def _bind(self) -> JetStreamContext.PullSubscription:
        js = self._bus.jetstream
        wanted = self._config()
        try:
            info = await js.consumer_info(EVENTS_STREAM, self._durable)
        except nats.js.errors.NotFoundError:
            # Missing consumer, or the whole stream after NATS lost its store.
            await self._bus.ensure_stream()
            await js.add_consumer(EVENTS_STREAM, wanted)
        else:
            current = info.config
            current_filters = current.filter_subjects or [current.filter_subject]
            if (
                sorted(f for f in current_filters if f) != sorted(self._filter_subjects)
                or current.max_deliver != self._max_deliver
            ):
                # Same name, same position: the server updates the editable settings in place.
                await js.add_consumer(EVENTS_STREAM, wanted)
                logger.info("updated consumer %s to %s", self._durable, self._filter_subjects)
        return await js.pull_subscribe_bind(durable=self._durable, stream=EVENTS_STREAM)

    async def _unbind(self) -> None:
        psub, self._psub = self._psub, None
        if psub is not None:
            with contextlib.suppress(nats.errors.Error):
                await psub.unsubscribe()

    async def _run(self) -> None:
        try:
            while True:
                if not self._bus.is_connected:
                    # Fetching now would only pile pull requests into nats-py's reconnect buffer.
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                try:
                    if self._psub is None:
                        self._psub = await self._bind()
                    msgs = await self._psub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_SECS)
                except TimeoutError:
                    continue  # nothing new
                except Exception as exc:
                    # Disconnect, NATS restarted without our consumer, API hiccup. The position
                    # lives on the server, so binding again later loses nothing.
                    logger.warning("consumer %s: fetch failed (%r); rebinding", self._durable, exc)
                    await self._unbind()
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                await self._handle_batch(msgs)
        finally:
            await self._unbind()

    async def _handle_batch(self, msgs: list[Msg]) -> None:
        loop = asyncio.get_running_loop()
        held_since = loop.time()
        for i, msg in enumerate(msgs):
            if loop.time() - held_since > ACK_WAIT_SECS / 2:
                # Slow handlers: tell the server the rest of the batch is still ours, or it
                # redelivers them (counting towards max_deliver) while they wait their turn.
                for waiting in msgs[i:]:
                    await _reply(waiting.in_progress())
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
            await _reply(msg.term())
            return
        try:
            await self._handler(event)
        except Exception as exc:
            await self._failed(msg, event, exc)
        else:
            await _reply(msg.ack())

    async def _failed(self, msg: Msg, event: CloudEvent, exc: Exception) -> None:
        delivered = msg.metadata.num_delivered
        if delivered < self._max_deliver:
            delay = redelivery_delay_secs(
                delivered, self._bus.redelivery_base_secs, self._bus.redelivery_max_secs
            )
            logger.warning(
                "consumer %s: event %s (%s) failed on delivery %d/%d, retry in %.2fs: %r",
                self._durable, event.id, event.type, delivered, self._max_deliver, delay, exc,
            )
            await _reply(msg.nak(delay=delay))
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
        await _reply(msg.term())


class _NatsFollower:
    """An ephemeral pull consumer on EVENTS that this process alone reads (`follow`), made
    again after a failure from the stream sequence after the last event handled."""

    def __init__(self, bus: NatsEventBus, subject: str, handler: EventHandler,
                 since: datetime) -> None:
        self._bus = bus
        self._subject = subject
        self._handler = handler
        self._since = since
        self._last_seq = 0
        self._consumer: str | None = None
        self._psub: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"follow:{self._subject}")
        try:
            await asyncio.wait_for(self._caught_up.wait(), FOLLOW_CATCH_UP_SECS)
        except TimeoutError:
            logger.warning("following %s: not caught up within %.0fs; going on", self._subject,
                           FOLLOW_CATCH_UP_SECS)

    async def unsubscribe(self) -> None:
        self._bus._followers.discard(self)
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        if task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _config(self) -> ConsumerConfig:
        start: dict[str, object] = (
            {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE,
             "opt_start_seq": self._last_seq + 1}
            if self._last_seq else
            {"deliver_policy": DeliverPolicy.BY_START_TIME,
             "opt_start_time": self._since.isoformat()})
        return ConsumerConfig(
            ack_policy=AckPolicy.NONE, filter_subject=self._subject,
            inactive_threshold=FOLLOW_INACTIVE_SECS, mem_storage=True, num_replicas=1,
            **start)  # type: ignore[arg-type]

    async def _bind(self) -> JetStreamContext.PullSubscription:
        js = self._bus.jetstream
        if self._last_seq:
            try:
                state = (await js.stream_info(EVENTS_STREAM)).state
            except nats.js.errors.NotFoundError:
                await self._bus.ensure_stream()
                state = (await js.stream_info(EVENTS_STREAM)).state
            if state.last_seq < self._last_seq:
                self._last_seq = 0  # a new, empty stream (NATS lost its store): from `since`
        info = await js.add_consumer(EVENTS_STREAM, self._config())
        self._consumer = info.name
        if not info.num_pending:
            self._caught_up.set()
        return await js.pull_subscribe_bind(consumer=info.name, stream=EVENTS_STREAM)

    async def _unbind(self) -> None:
        psub, self._psub = self._psub, None
        consumer, self._consumer = self._consumer, None
        if psub is not None:
            with contextlib.suppress(nats.errors.Error):
                await psub.unsubscribe()
        if consumer is not None and self._bus.is_connected:
            with contextlib.suppress(*_NATS_FAILURES):
                await self._bus.jetstream.delete_consumer(EVENTS_STREAM, consumer)

    async def _run(self) -> None:
        try:
            while True:
                if not self._bus.is_connected:
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                try:
                    if self._psub is None:
                        self._psub = await self._bind()
                    msgs = await self._psub.fetch(FETCH_BATCH, timeout=FETCH_WAIT_SECS)
                except TimeoutError:
                    continue
                except Exception as exc:
                    logger.warning("following %s: fetch failed (%r); again from seq %d",
                                   self._subject, exc, self._last_seq + 1)
                    await self._unbind()
                    await asyncio.sleep(CONSUMER_RETRY_SECS)
                    continue
                for msg in msgs:
                    await self._handle(msg)
        finally:
            await self._unbind()

    async def _handle(self, msg: Msg) -> None:
        meta = msg.metadata
        self._last_seq = meta.sequence.stream
        try:
            await self._handler(CloudEvent.from_bytes(msg.data))
        except Exception:
            logger.exception("following %s: handler failed on stream seq %d", self._subject,
                             self._last_seq)
        if not meta.num_pending:
            self._caught_up.set()


async def _reply(ack: Awaitable[None]) -> None:
    try:
        await ack
    except nats.errors.Error as exc:
        # The server will redeliver after ack_wait; consumers are idempotent by event id.
        logger.warning("could not answer a JetStream delivery: %r", exc)
