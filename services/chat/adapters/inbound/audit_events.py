"""The audit log's entries from other services: a durable consumer of `AuditRecorded`
(`events.notifications.audit.recorded`: outgoing webhooks created or deleted) that writes
each into `chat_audit` once, whichever replica gets it."""

from __future__ import annotations

import logging

from services.chat import use_cases
from services.chat.domain.audit import AUDIT_REASON_MAX_CHARS, AuditEntry
from services.chat.ports import ChatDeps
from services.chat.settings import ChatSettings
from shared.bus import EventBus, Subscription
from shared.bus.nats import NatsEventBus
from shared.bus.nats_at_end import create_at_end
from shared.contracts import AuditRecorded, CloudEvent, spec_for

log = logging.getLogger(__name__)

SUBJECT = spec_for(AuditRecorded).subject


async def consume_audit_events(bus: EventBus, deps: ChatDeps, settings: ChatSettings,
                               max_deliver: int = 10) -> Subscription:
    """On the durable `settings.audit_durable_name`, shared by the replicas, created at
    the stream's end on chat's first start: an audited action of another service needs an
    administrator's token, which chat issues, so chat has started before any."""

    async def on_event(event: CloudEvent) -> None:
        try:
            recorded = event.payload()
        except (KeyError, ValueError) as exc:  # never parses: acknowledged, logged
            log.error("unreadable audit event %s: %r", event.id, exc)
            return
        assert isinstance(recorded, AuditRecorded)
        written = await use_cases.record_recorded(deps, AuditEntry(
            at=recorded.at, actor_id=recorded.actor_id, action=recorded.action[:40],
            target_type=recorded.target_type[:20], target_id=recorded.target_id,
            room_id=recorded.room_id,
            reason=recorded.reason[:AUDIT_REASON_MAX_CHARS] if recorded.reason else None,
            details=dict(recorded.details)))
        if not written:
            log.info("audit event %s was written before", event.id)

    if isinstance(bus, NatsEventBus):
        await create_at_end(bus, settings.audit_durable_name, (SUBJECT,), max_deliver)
    return await bus.consume(settings.audit_durable_name, (SUBJECT,), on_event,
                             max_deliver=max_deliver)
