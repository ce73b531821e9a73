"""`NatsEventBus`: live traffic on core NATS, durable events on the JetStream stream EVENTS.

This module holds the connection and live messaging; the stream's setup (`nats_stream`),
durable publishes (`nats_publish`), the fetch loop (`nats_pull`), the durable consumer
(`nats_consumer`), the exclusive one (`nats_exclusive`) and the follower (`nats_follower`)
each have their own. Longer than 300 lines: the EventBus adapter is one object, and its
entry points to each of those parts (a few lines each) are here with the connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext

from shared.bus import nats_publish
from shared.bus.nats_consumer import ACK_WAIT_SECS, NatsConsumer, redelivery_delay_secs
from shared.bus.nats_exclusive import ExclusiveConsumer
from shared.bus.nats_follower import NatsFollower
from shared.bus.nats_link import NATS_FAILURES
from shared.bus.nats_options import NatsAuth, StreamLimits, redact_url, split_servers
from shared.bus.nats_pull import PullLoop
from shared.bus.nats_stream import ensure_stream, ensure_stream_retrying
from shared.bus.port import (
    DeadLetterHandler,
    EventHandler,
    Exclusive,
    LiveHandler,
    LiveMessage,
    RawEvent,
    RequestFailed,
    Responder,
    SequencedHandler,
)
from shared.contracts.envelope import CloudEvent

# Names callers import from here; each lives in the module of its concept.
__all__ = ["ACK_WAIT_SECS", "NatsConsumer", "NatsEventBus", "NatsFollower", "redelivery_delay_secs"]

logger = logging.getLogger(__name__)

RECONNECT_WAIT_SECS = 0.5
FLUSH_TIMEOUT_SECS = 2.0
DRAIN_TIMEOUT_SECS = 5
# nats-py's outgoing buffer; past it a publish waits for the server to take data.
PENDING_BYTES = 8 * 1024 * 1024
# Live (best-effort) publishes are dropped once this much waits, so they never wait.
LIVE_DROP_PENDING_BYTES = 4 * 1024 * 1024


class NatsEventBus:
    """The EventBus over one NATS connection that reconnects forever (`client`, `jetstream`
    exposed for services that also need KV buckets)."""

    def __init__(
        self,
        url: str | Sequence[str],
        name: str,
        stream_subjects: Sequence[str] = ("events.>",),
        duplicate_window_secs: float = 120.0,
        publish_timeout_secs: float = 2.0,
        *,
        connect_timeout_secs: float = 10.0,
        redelivery_base_secs: float = 0.5,
        redelivery_max_secs: float = 30.0,
        echo: bool = True,
        auth: NatsAuth | None = None,
        events: StreamLimits | None = None,
        kv_replicas: int = 1,
        ack_wait_secs: float = ACK_WAIT_SECS,
    ) -> None:
        # `url`: one server or several (a list, or comma-separated); nats-py tries each.
        self._servers = split_servers(url)
        # Only this form is ever logged: a URL may carry a password.
        self._where = ", ".join(redact_url(server) for server in self._servers)
        self._auth = auth or NatsAuth()
        self._events = events or StreamLimits()
        # Replicas of the KV buckets services make (`shared/bus/nats_kv.py`).
        self.kv_replicas = kv_replicas
        # The durable consumers' ack wait (`shared/bus/nats_consumer.py`).
        self.ack_wait_secs = ack_wait_secs
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
        self._consumers: set[PullLoop] = set()
        self._exclusive: set[ExclusiveConsumer] = set()
        self._followers: set[PullLoop] = set()

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
                    servers=self._servers,
                    name=self._name,
                    no_echo=not self._echo,
                    pending_size=PENDING_BYTES,
                    max_reconnect_attempts=-1,  # the first attempt too: it retries until timeout
                    reconnect_time_wait=RECONNECT_WAIT_SECS,  # type: ignore[arg-type]
                    drain_timeout=DRAIN_TIMEOUT_SECS,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    **self._auth.connect_kwargs(),
                )
                self._nc, self._js = nc, nc.jetstream()
                await ensure_stream_retrying(
                    self._js, self._stream_subjects, self._duplicate_window_secs,
                    self._events)
        except TimeoutError as exc:
            await self._abandon(nc)
            raise ConnectionError(
                f"NATS at {self._where} not ready within {self._connect_timeout_secs}s"
            ) from exc
        except BaseException:
            await self._abandon(nc)
            raise

    async def close(self) -> None:
        """Stop consumers, then drain: queued live messages are handled and publishes flushed."""
        for exclusive in list(self._exclusive):  # releasing its lease needs the connection
            await exclusive.unsubscribe()
        for consumer in list(self._consumers):
            await consumer.unsubscribe()
        for follower in list(self._followers):
            await follower.unsubscribe()
        nc = self._nc
        if nc is None or nc.is_closed:
            return
        try:
            await nc.drain()
        except NATS_FAILURES:
            # Mid-reconnect nats-py refuses to drain; nothing buffered can be delivered anyway.
            await nc.close()

    async def ensure_stream(self) -> None:
        """Create the EVENTS stream, or bring its subjects, duplicate window, replicas and
        retention up to date."""
        await ensure_stream(self.jetstream, self._stream_subjects, self._duplicate_window_secs,
                            self._events)

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
        await nats_publish.publish_event(self, subject, event,
                                         timeout_secs=self._publish_timeout_secs)

    async def publish_events(self, events: Sequence[RawEvent]) -> list[bool]:
        return await nats_publish.publish_events(self, events,
                                                 timeout_secs=self._publish_timeout_secs)

    async def consume(
        self,
        durable: str,
        filter_subjects: Sequence[str],
        handler: EventHandler,
        *,
        max_deliver: int = 5,
        on_dead_letter: DeadLetterHandler | None = None,
        exclusive: Exclusive | None = None,
    ) -> NatsConsumer | ExclusiveConsumer:
        if exclusive is not None:
            leased = ExclusiveConsumer(self, self._exclusive, durable, list(filter_subjects),
                                       handler, max_deliver, on_dead_letter, exclusive,
                                       kv_replicas=self.kv_replicas)
            await leased.start()
            self._exclusive.add(leased)
            return leased
        consumer = NatsConsumer(
            self, self._consumers, durable, list(filter_subjects), handler, max_deliver,
            on_dead_letter,
        )
        await consumer.start()
        self._consumers.add(consumer)
        return consumer

    async def follow(self, subject: str, handler: EventHandler, *, since: datetime
                     ) -> NatsFollower:
        return await NatsFollower(self, self._followers, subject, lambda _, e: handler(e),
                                  since).started()

    async def replay(self, subject: str, handler: SequencedHandler, *,
                     after_seq: int) -> NatsFollower:
        follower = NatsFollower(self, self._followers, subject, handler, None, after_seq)
        return await follower.started()

    async def _abandon(self, nc: Client) -> None:
        self._nc = self._js = None
        # Stops nats-py's retry loop; the client may be half-connected, so ignore its complaints.
        with contextlib.suppress(*NATS_FAILURES):
            await nc.close()

    async def _on_error(self, exc: Exception) -> None:
        if isinstance(exc, OSError | TimeoutError | nats.errors.StaleConnectionError):
            # Lost connections and each failed (re)connect attempt land here; the disconnect
            # itself is logged once, below.
            logger.debug("NATS connection attempt to %s failed: %r", self._where, exc)
        else:
            logger.warning("NATS error on %s: %r", self._where, exc)

    async def _on_disconnected(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            logger.warning("disconnected from NATS at %s; reconnecting", self._where)

    async def _on_reconnected(self) -> None:
        logger.info("reconnected to NATS at %s", self._where)


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
