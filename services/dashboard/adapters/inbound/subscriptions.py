"""NATS subscribers: the durable consumer of `events.>` and the live subjects the dashboard
watches (`live.connections`, `live.service.heartbeat`, `live.broadcast.receipts`)."""

from __future__ import annotations

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
EVENT_SUBJECTS = ("events.>",)


async def consume_events(bus: EventBus, deps: DashboardDeps, metrics: DashboardMetrics, *,
                         durable: str, max_deliver: int) -> Subscription:
    """Every durable event, from the dashboard's own durable consumer (its position lives
    in NATS, the counts in our database; a redelivery is recognised by event id)."""

    async def on_event(event: CloudEvent) -> None:
        outcome = await use_cases.record_event(deps, event)
        metrics.events.labels(outcome.value).inc()
        if outcome is use_cases.Outcome.UNREADABLE:
            log.warning("unreadable event skipped",
                        extra={"fields": {"event_id": event.id, "type": event.type}})

    async def on_dead_letter(event: CloudEvent, exc: BaseException) -> None:
        metrics.events_dead_lettered.inc()
        log.error("event not counted after every retry",
                  extra={"fields": {"event_id": event.id, "type": event.type,
                                    "error": repr(exc)}})

    return await bus.consume(durable, EVENT_SUBJECTS, on_event, max_deliver=max_deliver,
                             on_dead_letter=on_dead_letter)


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
