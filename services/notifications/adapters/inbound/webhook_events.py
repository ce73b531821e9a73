"""The outgoing webhooks' two consumers: the fan-out, a durable of its own on EVENTS (chat's
room events), which queues one delivery per matching webhook and acknowledges the event
only once they are stored; and the deliveries' consumer on the queue, which makes the HTTP
attempts. Neither is on chat's path: chat has published and moved on long before."""

from __future__ import annotations

import logging

from services.notifications import use_cases
from services.notifications.adapters.metrics import NotificationsMetrics
from services.notifications.domain.webhooks import WEBHOOK_SUBJECTS, Delivery
from services.notifications.ports import DeliveryHandler, Outcome, WebhookDeps
from shared.bus import EventBus, Subscription
from shared.contracts import CloudEvent, spec_for_type

log = logging.getLogger(__name__)


async def consume_for_webhooks(bus: EventBus, deps: WebhookDeps, metrics: NotificationsMetrics,
                               *, durable: str, max_deliver: int) -> Subscription:
    async def on_event(event: CloudEvent) -> None:
        try:
            subject = spec_for_type(event.type).subject
        except KeyError:
            return  # a newer producer's event: no webhook asked for it
        queued = await use_cases.fan_out(deps, subject, event.id, event.data, event.time)
        if queued:
            metrics.webhook_deliveries_queued.inc(queued)

    async def on_dead_letter(event: CloudEvent, exc: BaseException) -> None:
        metrics.events_dead_lettered.inc()
        log.error("webhook fan-out gave up on an event", extra={"fields": {
            "event_id": event.id, "type": event.type, "error": repr(exc)}})
        await use_cases.fan_out_failed(deps, event.id, event.type, event.to_bytes(), repr(exc))

    return await bus.consume(durable, WEBHOOK_SUBJECTS, on_event, max_deliver=max_deliver,
                             on_dead_letter=on_dead_letter)


def delivery_handler(deps: WebhookDeps, metrics: NotificationsMetrics) -> DeliveryHandler:
    async def on_delivery(delivery: Delivery, attempt: int) -> Outcome:
        outcome = await use_cases.attempt_delivery(deps, delivery, attempt)
        metrics.webhook_attempts.labels(outcome.verdict).inc()
        if outcome.dead:
            metrics.webhook_dead_lettered.inc()
        return outcome

    return on_delivery
