"""The durable JetStream consumer (chat and dashboard events) and the `live.viewing`
subscription, into the use cases."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from services.notifications import use_cases
from services.notifications.adapters.metrics import NotificationsMetrics
from services.notifications.ports import NotificationsDeps
from shared.bus import EventBus, Exclusive, LiveMessage, Subscription
from shared.contracts import (
    LIVE_VIEWING,
    BroadcastSent,
    CloudEvent,
    parse_viewing_message,
    spec_for,
)

log = logging.getLogger(__name__)

FILTER_SUBJECTS: tuple[str, ...] = (
    "events.chat.>",
    spec_for(BroadcastSent).subject,
)


async def consume_events(bus: EventBus, deps: NotificationsDeps, metrics: NotificationsMetrics,
                         *, durable: str, max_deliver: int,
                         exclusive: Exclusive | None = None) -> Subscription:
    """Handle every event once, in stream order; the position lives on the server, so a
    restarted service resumes where it stopped. With `exclusive`, instances sharing the
    durable take turns: one applies, the others stand by (`shared/bus/nats_exclusive.py`)."""

    async def on_event(event: CloudEvent) -> None:
        try:
            payload = event.payload()
        except KeyError:
            log.debug("ignoring event type %s", event.type)  # newer producer, not for us
            return
        except ValidationError as exc:
            # It will never parse: keep it for an operator instead of retrying it.
            await on_dead_letter(event, exc)
            return
        applied = await use_cases.apply_event(deps, event.id, payload, event.time)
        if applied.duplicate:
            metrics.events_duplicate.inc()
            log.info("skipped a redelivered event",
                     extra={"fields": {"event_id": event.id, "type": event.type}})
            return
        metrics.events_handled.labels(event.type).inc()
        for notification in applied.created:
            metrics.created.labels(notification.kind).inc()
        for decision in applied.decisions:
            if decision.suppressed_by is not None:
                metrics.suppressed.labels(decision.suppressed_by).inc()

    async def on_dead_letter(event: CloudEvent, exc: BaseException) -> None:
        metrics.events_dead_lettered.inc()
        log.error("event recorded as a dead letter",
                  extra={"fields": {"event_id": event.id, "type": event.type,
                                    "error": repr(exc)}})
        await use_cases.record_dead_letter(deps, event.id, event.type, event.to_bytes(),
                                           repr(exc))

    return await bus.consume(durable, FILTER_SUBJECTS, on_event, max_deliver=max_deliver,
                             on_dead_letter=on_dead_letter, exclusive=exclusive)


async def subscribe_viewing(bus: EventBus, deps: NotificationsDeps) -> Subscription:
    """Every chat replica's reports of the rooms on screen (core NATS, best effort: what is
    missed is repaired by the replica's next heartbeat)."""

    async def on_report(msg: LiveMessage) -> None:
        try:
            report = parse_viewing_message(msg.data)
        except ValueError:
            log.warning("unreadable viewing report on %s", msg.subject)
            return
        use_cases.record_viewing(deps, report)

    return await bus.subscribe(LIVE_VIEWING, on_report)
