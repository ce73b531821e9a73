"""Outgoing webhooks: configured by server administrators (each change recorded for the
audit log: `AuditRecorded` through the outbox, in the same transaction), fed by chat's
events (`fan_out`: one queued delivery per matching webhook), delivered one attempt at a
time (`attempt_delivery`: sign, POST, judge the answer, count it)."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

import orjson

from services.notifications.domain import Invalid, NotFound
from services.notifications.domain.webhooks import (
    WEBHOOKS_MAX,
    Delivery,
    NewWebhook,
    Webhook,
    checked_choice,
    delivery_id,
    event_name,
    parse_url,
    retry_delay_secs,
    signature,
    verdict_of_status,
)
from services.notifications.ports import Outcome, WebhookDeps
from shared.contracts import AuditRecorded

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
ERROR_MAX_CHARS = 500


def _audit(action: str, webhook: Webhook, actor_id: int, at: datetime) -> AuditRecorded:
    # The URL's host only: a path or query may carry the receiver's own secret.
    host = parse_url(webhook.url).host
    return AuditRecorded(at=at, actor_id=actor_id, action=action, target_type="outgoing_hook",
                         target_id=str(webhook.id),
                         details={"host": host, "room_ids": list(webhook.room_ids),
                                  "events": list(webhook.events)})


async def create_webhook(deps: WebhookDeps, actor_id: int, url: str, room_ids: list[int],
                         events: list[str]) -> Webhook:
    """A new webhook with a fresh secret (the returned one carries it; shown once). The
    URL must be http(s) and its host must resolve to addresses webhooks may reach."""
    target = parse_url(url)
    rooms, names = checked_choice(room_ids, events)
    await deps.guard.check(target)
    now = deps.clock.now()
    async with deps.uow.write() as tx:
        if len(await tx.webhooks.all()) >= WEBHOOKS_MAX:
            raise Invalid("too_many_webhooks", f"At most {WEBHOOKS_MAX} webhooks")
        webhook = await tx.webhooks.add(NewWebhook(
            url=url, room_ids=rooms, events=names,
            secret=SECRET_PREFIX + secrets.token_urlsafe(32), created_by=actor_id,
            created_at=now))
        await tx.outbox.add(_audit("outgoing_hook.create", webhook, actor_id, now), now)
    log.info("webhook created", extra={"fields": {"webhook_id": webhook.id,
                                                  "host": target.host, "by": actor_id}})
    return webhook


async def list_webhooks(deps: WebhookDeps) -> list[Webhook]:
    async with deps.uow.read() as tx:
        return await tx.webhooks.all()


async def delete_webhook(deps: WebhookDeps, actor_id: int, webhook_id: int) -> None:
    """Its queued deliveries are dropped as they come up (`attempt_delivery` finds no webhook)."""
    now = deps.clock.now()
    async with deps.uow.write() as tx:
        webhook = await tx.webhooks.get(webhook_id)
        if webhook is None or not await tx.webhooks.remove(webhook_id):
            raise NotFound("webhook_not_found", "No such webhook")
        await tx.outbox.add(_audit("outgoing_hook.delete", webhook, actor_id, now), now)


async def fan_out(deps: WebhookDeps, subject: str, event_id: str, data: dict[str, Any],
                  occurred_at: datetime) -> int:
    """Queue one delivery of this chat event per webhook that wants it (its room and its
    type); how many. Raising leaves the event to be handed out again: the deliveries
    queued already are stored once (their ids are derived from the event's)."""
    name = event_name(subject)
    room_id = data.get("room_id")
    if name is None or not isinstance(room_id, int):
        return 0
    async with deps.uow.read() as tx:
        wanted = [w for w in await tx.webhooks.all() if w.wants(name, room_id)]
    if wanted:
        await deps.queue.enqueue([
            Delivery(delivery_id(event_id, w.id), w.id, name, data, event_id, occurred_at)
            for w in wanted])
    return len(wanted)


async def fan_out_failed(deps: WebhookDeps, event_id: str, event_type: str, payload: bytes,
                         error: str) -> None:
    """An event whose deliveries could not be queued however often it was tried (the
    queue's stream away): kept in `ntf_dead_letters` for an operator, as the inbox's are."""
    async with deps.uow.write() as tx:
        await tx.dead_letters.add(event_id, event_type, payload, f"webhook fan-out: {error}",
                                  deps.clock.now())


def delivery_body(delivery: Delivery, timestamp: int) -> bytes:
    return orjson.dumps({"event": delivery.event, "data": delivery.data,
                         "delivery_id": delivery.delivery_id, "ts": timestamp})


async def attempt_delivery(deps: WebhookDeps, delivery: Delivery, attempt_no: int
                           ) -> Outcome:
    """Attempt `attempt_no` of a delivery: signed with the webhook's secret over
    `<ts>.<body>` and POSTed. 2xx: delivered. A network error, a timeout, 408, 429 or
    5xx: tried again after a back-off, until `max_attempts`. Anything else, or a refused
    destination: given up. A given-up delivery is counted (`dead_lettered`) and logged."""
    async with deps.uow.read() as tx:
        webhook = await tx.webhooks.get(delivery.webhook_id)
    if webhook is None:
        return Outcome("give_up", error="webhook deleted")
    timestamp = int(deps.clock.now().timestamp())
    body = delivery_body(delivery, timestamp)
    sent = await deps.sender.send(webhook.url, body, {
        "Content-Type": "application/json",
        "User-Agent": deps.user_agent,
        "X-Tertulia-Signature": signature(webhook.secret, timestamp, body),
        "X-Tertulia-Timestamp": str(timestamp),
        "X-Tertulia-Delivery": delivery.delivery_id,
        "X-Tertulia-Event": delivery.event,
    })
    if sent.status is not None:
        verdict = verdict_of_status(sent.status)
        error = None if verdict == "delivered" else f"HTTP {sent.status}"
    else:
        verdict = "retry" if sent.retryable else "give_up"
        error = (sent.error or "failed")[:ERROR_MAX_CHARS]
    if verdict == "retry" and attempt_no >= deps.max_attempts:
        verdict = "give_up"
    dead = verdict == "give_up"
    async with deps.uow.write() as tx:
        await tx.webhooks.record(webhook.id, verdict, deps.clock.now(), error, dead)
    if dead:
        log.error("webhook delivery given up", extra={"fields": {
            "webhook_id": webhook.id, "delivery_id": delivery.delivery_id,
            "event": delivery.event, "attempts": attempt_no, "error": error}})
        return Outcome("give_up", dead=True, error=error)
    if verdict == "retry":
        delay = retry_delay_secs(attempt_no, deps.retry_base_secs, deps.retry_max_secs)
        log.info("webhook delivery failed; retrying", extra={"fields": {
            "webhook_id": webhook.id, "delivery_id": delivery.delivery_id,
            "attempt": attempt_no, "retry_in_secs": delay, "error": error}})
        return Outcome("retry", retry_in_secs=delay, error=error)
    return Outcome("delivered")
