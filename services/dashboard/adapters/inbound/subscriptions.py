"""NATS subscribers: the fold of `events.>` and the live subjects the dashboard watches
(`live.connections`, `live.service.heartbeat`, `live.broadcast.receipts`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel

from services.dashboard import use_cases
from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.ports import DashboardDeps
from shared.bus import EventBus, LiveMessage, Subscription
from shared.contracts import (
    LIVE_BROADCAST_RECEIPTS,
    LIVE_CONNECTIONS,
    LIVE_SERVICE_HEARTBEAT,
    BroadcastReceipt,
    CloudEvent,
    ServiceHeartbeat,
    parse_connections_message,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
EVENT_SUBJECTS = "events.>"
RETRY_BASE_SECS = 0.5
RETRY_MAX_SECS = 30.0


async def fold_events(bus: EventBus, deps: DashboardDeps, metrics: DashboardMetrics, *,
                      max_deliver: int) -> Subscription:
    """Every durable event after the database's fold position, in stream order, from an
    ephemeral consumer of this instance alone: every instance folds the whole stream, and
    nothing of an instance is left on the server once it is gone. An event that fails is
    tried again in place (in order: 0.5 s doubling to 30 s), `max_deliver` times in all,
    then given up (logged and counted)."""

    async def on_event(seq: int, event: CloudEvent) -> None:
        for attempt in range(1, max_deliver + 1):
            try:
                outcome = await use_cases.record_event(deps, event, seq)
            except Exception as exc:
                if attempt == max_deliver:
                    deps.state.folded(seq)
                    metrics.events_dead_lettered.inc()
                    log.error("event not counted after every retry",
                              extra={"fields": {"event_id": event.id, "type": event.type,
                                                "seq": seq, "error": repr(exc)}})
                    return
                delay = min(RETRY_MAX_SECS, RETRY_BASE_SECS * 2 ** (attempt - 1))
                log.warning("event %s (seq %d) failed on attempt %d/%d, again in %.1fs: %r",
                            event.id, seq, attempt, max_deliver, delay, exc)
                await asyncio.sleep(delay)
                continue
            metrics.events.labels(outcome.value).inc()
            if outcome is use_cases.Outcome.UNREADABLE:
                log.warning("unreadable event skipped",
                            extra={"fields": {"event_id": event.id, "type": event.type}})
            deps.folded.set()
            return

    return await bus.replay(EVENT_SUBJECTS, on_event, after_seq=deps.state.position)


async def subscribe_live(bus: EventBus, deps: DashboardDeps,
                         metrics: DashboardMetrics) -> list[Subscription]:
    async def on_connections(msg: LiveMessage) -> None:
        try:
            message = parse_connections_message(msg.data)
        except ValueError:
            metrics.live_unreadable.labels(LIVE_CONNECTIONS).inc()
            return
        use_cases.record_connections(deps, message)

    async def on_heartbeat(beat: ServiceHeartbeat) -> None:
        await use_cases.record_heartbeat(deps, beat)

    async def on_receipt(receipt: BroadcastReceipt) -> None:
        await use_cases.record_receipt(deps, receipt)

    return [
        await bus.subscribe(LIVE_CONNECTIONS, _counted(metrics, LIVE_CONNECTIONS, on_connections)),
        await bus.subscribe(LIVE_SERVICE_HEARTBEAT, _parsed(
            metrics, LIVE_SERVICE_HEARTBEAT, ServiceHeartbeat, on_heartbeat)),
        await bus.subscribe(LIVE_BROADCAST_RECEIPTS, _parsed(
            metrics, LIVE_BROADCAST_RECEIPTS, BroadcastReceipt, on_receipt)),
    ]


def _counted(metrics: DashboardMetrics, subject: str,
             handler: Callable[[LiveMessage], Awaitable[None]]
             ) -> Callable[[LiveMessage], Awaitable[None]]:
    async def handle(msg: LiveMessage) -> None:
        metrics.live_messages.labels(subject).inc()
        await handler(msg)

    return handle


def _parsed(metrics: DashboardMetrics, subject: str, model: type[M],
            handler: Callable[[M], Awaitable[None]]) -> Callable[[LiveMessage], Awaitable[None]]:
    async def handle(msg: LiveMessage) -> None:
        metrics.live_messages.labels(subject).inc()
        try:
            message = model.model_validate_json(msg.data)
        except ValueError:
            metrics.live_unreadable.labels(subject).inc()
            return
        await handler(message)

    return handle
