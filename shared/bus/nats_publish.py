"""Durable publishes to EVENTS: one event awaited, or a batch pipelined (the outbox relay's)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import nats.errors
import nats.js.errors

from shared.bus.nats_link import NATS_FAILURES, NatsLink
from shared.bus.port import PublishFailed, RawEvent
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import EVENTS_STREAM

logger = logging.getLogger(__name__)

async def publish_event(
    link: NatsLink, subject: str, event: CloudEvent, *, timeout_secs: float
) -> None:
    """Store `event` once (de-duplicated by its id) or raise `PublishFailed`."""
    try:
        try:
            await _publish_durable(link, subject, event, timeout_secs)
        except nats.js.errors.NoStreamResponseError:
            # Nothing stores this subject: NATS came back with an empty store. Once more.
            logger.warning("no stream answered for %s; re-creating %s", subject, EVENTS_STREAM)
            await link.ensure_stream()
            await _publish_durable(link, subject, event, timeout_secs)
    except (*NATS_FAILURES, RuntimeError) as exc:
        raise PublishFailed(
            f"event {event.id} ({event.type}) on {subject} not acknowledged: {exc!r}"
        ) from exc


async def publish_events(
    link: NatsLink, events: Sequence[RawEvent], *, timeout_secs: float
) -> list[bool]:
    """Send all of `events` at once, then collect the acknowledgements: which were stored."""
    acked = [False] * len(events)
    if not events or not link.is_connected:
        return acked  # fail fast, as publish_event does
    js = link.jetstream
    futures: list[asyncio.Future[object]] = []
    try:
        for event in events:
            futures.append(await js.publish_async(
                event.subject, event.payload, wait_stall=timeout_secs,
                stream=EVENTS_STREAM, headers={"Nats-Msg-Id": event.event_id}))
    except (*NATS_FAILURES, RuntimeError) as exc:
        logger.warning("pipelined publish stopped after %d of %d: %r", len(futures),
                       len(events), exc)
    if not futures:
        return acked
    try:
        async with asyncio.timeout(timeout_secs):
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
        with contextlib.suppress(*NATS_FAILURES):
            await link.ensure_stream()
    return acked


async def _publish_durable(
    link: NatsLink, subject: str, event: CloudEvent, timeout_secs: float
) -> None:
    if not link.client.is_connected:
        # Fail fast rather than let nats-py buffer the request: a buffered copy would be
        # stored after reconnecting although we reported failure (harmless thanks to the
        # Nats-Msg-Id, but a surprise) and long outages would fill the buffer.
        raise nats.errors.ConnectionReconnectingError
    await link.jetstream.publish(
        subject,
        event.to_bytes(),
        timeout=timeout_secs,
        stream=EVENTS_STREAM,  # refuse to land in some other stream that claims the subject
        headers={"Nats-Msg-Id": event.id},
    )
