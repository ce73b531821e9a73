"""The composition root: `wire()` builds every adapter from settings (each one overridable);
`running()` starts them and stops them again. Nothing connects at import or in `wire()`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.notifications.adapters.inbound.retention import run_retention
from services.notifications.adapters.inbound.subscriptions import (
    consume_events,
    subscribe_viewing,
)
from services.notifications.adapters.inbound.webhook_events import (
    consume_for_webhooks,
    delivery_handler,
)
from services.notifications.adapters.metrics import NotificationsMetrics
from services.notifications.adapters.outbound.bus_live_notifier import BusLiveNotifier
from services.notifications.adapters.outbound.clock import SystemClock
from services.notifications.adapters.outbound.memory_viewing import MemoryViewingBoard
from services.notifications.adapters.outbound.nats_delivery_queue import (
    MemoryDeliveryQueue,
    NatsDeliveryQueue,
)
from services.notifications.adapters.outbound.sqla_store import SqlaNotificationsUnitOfWork
from services.notifications.adapters.outbound.sqla_tables import outbox
from services.notifications.adapters.outbound.webhook_http import (
    DnsDestinationGuard,
    HttpWebhookSender,
)
from services.notifications.domain.ssrf import AddressPolicy
from services.notifications.domain.webhooks import WEBHOOK_SUBJECTS
from services.notifications.migrations import SCHEMA
from services.notifications.ports import Clock, NotificationsDeps, WebhookDeps
from services.notifications.settings import NotificationsSettings
from shared.auth import TokenKeys, TokenVerifier, follow_revocations
from shared.bus import EventBus, Exclusive, Subscription
from shared.bus.nats import NatsEventBus
from shared.bus.nats_at_end import create_at_end
from shared.db import Database
from shared.lifecycle import connect_bus, open_database, run_relay, run_task, subscribed
from shared.observability import publish_heartbeats
from shared.outbox import OutboxRelay

log = logging.getLogger(__name__)
VERSION = "0.1.0"
SERVICE = "notifications"


@dataclass(eq=False)
class Notifications:
    settings: NotificationsSettings
    db: Database
    bus: EventBus
    deps: NotificationsDeps
    relay: OutboxRelay
    metrics: NotificationsMetrics
    keys: TokenKeys
    webhooks: WebhookDeps
    sender: HttpWebhookSender
    queue: NatsDeliveryQueue | MemoryDeliveryQueue
    accepting: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    consumer: Subscription | None = None

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self.db.ping(), "nats": self.bus.is_connected,
                "consuming": self.consumer is not None, "token_keys": self.keys.loaded,
                "accepting": self.accepting}


def wire(settings: NotificationsSettings, *, bus: EventBus | None = None,
         clock: Clock | None = None, verifier: TokenVerifier | None = None) -> Notifications:
    keys = TokenKeys(verifier) if verifier is not None else TokenKeys.from_settings(
        settings.jwt_public_key_pem, settings.jwks_url, env_prefix="NOTIFICATIONS_")
    db = Database(settings.resolved_database_url())
    bus = bus or settings.nats_bus("notifications", settings.instance_id)
    metrics = NotificationsMetrics()
    relay = OutboxRelay(db, bus, outbox, published=metrics.outbox_published,
                        pending=metrics.outbox_pending, poll_secs=settings.outbox_poll_secs,
                        batch=settings.outbox_batch)
    deps = NotificationsDeps(
        uow=SqlaNotificationsUnitOfWork(db, committed=relay.committed),
        live=BusLiveNotifier(bus),
        clock=clock or SystemClock(),
        viewing=MemoryViewingBoard(default_interval_secs=settings.viewing_heartbeat_secs,
                                   expiry_factor=settings.viewing_expiry_factor),
        preview_chars=settings.preview_chars,
        broadcast_max_chars=settings.broadcast_max_chars,
        live_max_age_secs=settings.live_max_age_secs,
    )
    queue, sender, webhooks = _webhooks(settings, bus, deps)
    return Notifications(settings, db, bus, deps, relay, metrics, keys, webhooks, sender, queue)


def _webhooks(settings: NotificationsSettings, bus: EventBus, deps: NotificationsDeps
              ) -> tuple[NatsDeliveryQueue | MemoryDeliveryQueue, HttpWebhookSender,
                         WebhookDeps]:
    """Outgoing webhooks: their queue on JetStream (in memory beside the in-memory bus of
    tests), the HTTP sender and the guard both share."""
    queue: NatsDeliveryQueue | MemoryDeliveryQueue
    if isinstance(bus, NatsEventBus):
        queue = NatsDeliveryQueue(
            bus, stream=settings.webhook_stream, subject_prefix=settings.webhook_subject_prefix,
            durable=settings.webhook_deliveries_durable,
            max_attempts=settings.webhook_max_attempts,
            # An attempt takes at most the timeout; what is held longer was a dead instance's.
            ack_wait_secs=settings.webhook_timeout_secs + 30.0,
            max_age_secs=settings.webhook_queue_max_age_secs, replicas=settings.events_replicas)
    else:
        queue = MemoryDeliveryQueue(settings.webhook_max_attempts)
    guard = DnsDestinationGuard(AddressPolicy.of(settings.webhook_allow_private,
                                                 settings.webhook_allowed_networks))
    sender = HttpWebhookSender(guard, timeout_secs=settings.webhook_timeout_secs,
                               max_connections=settings.webhook_concurrency)
    webhooks = WebhookDeps(
        uow=deps.uow, clock=deps.clock, queue=queue, sender=sender, guard=guard,
        user_agent=f"Tertulia-Webhooks/{VERSION}", max_attempts=settings.webhook_max_attempts,
        retry_base_secs=settings.webhook_retry_base_secs,
        retry_max_secs=settings.webhook_retry_max_secs)
    return queue, sender, webhooks


async def _start_webhooks(stack: AsyncExitStack, svc: Notifications) -> None:
    """The deliveries' consumer first (its stream exists before anything is queued), then
    the fan-out from EVENTS; on exit the fan-out stops first, then in-flight attempts are
    handed back, then the HTTP client closes."""
    settings = svc.settings
    stack.push_async_callback(svc.sender.aclose)
    if isinstance(svc.queue, NatsDeliveryQueue):
        await svc.queue.setup()
        await create_at_end(svc.bus, settings.webhook_durable_name,  # type: ignore[arg-type]
                            WEBHOOK_SUBJECTS, settings.max_deliver)
    await subscribed(stack, svc.queue.serve(delivery_handler(svc.webhooks, svc.metrics),
                                            settings.webhook_concurrency))
    await subscribed(stack, consume_for_webhooks(
        svc.bus, svc.webhooks, svc.metrics, durable=settings.webhook_durable_name,
        max_deliver=settings.max_deliver))


@asynccontextmanager
async def running(svc: Notifications) -> AsyncIterator[Notifications]:
    """Start what `wire` built; on exit stop it, in reverse (`shared/lifecycle.py`):
    readiness off, the heartbeat ended, the consumer stopped (what is unacked goes back to
    the server), the other subscriptions gone, the tasks ended, NATS drained, the database
    closed. The outbox keeps whatever was not relayed yet."""
    settings = svc.settings
    async with AsyncExitStack() as stack:
        await open_database(stack, svc.db, SCHEMA,
                            auto_migrate=svc.settings.auto_migrate)
        await connect_bus(stack, svc.bus)
        run_relay(stack, svc.relay)
        run_task(stack, run_retention(
            svc.deps, svc.metrics, retention_days=settings.retention_days,
            interval_secs=settings.retention_interval_secs,
            purge_sent=svc.relay.purge_sent), "retention")
        if settings.jwks_url and not svc.keys.loaded:
            run_task(stack, svc.keys.fetch(settings.jwks_url, settings.jwks_retry_secs),
                     "jwks")
        # Revoked sessions are in the set before the first request is answered.
        await subscribed(stack, follow_revocations(svc.bus, svc.keys.revoked))
        # Before the consumer: a message decided now should know who is looking already.
        await subscribed(stack, subscribe_viewing(svc.bus, svc.deps))
        # Instances sharing the durable take turns on it: one applies events, in stream
        # order, the others stand by (and serve HTTP all the same).
        lease = Exclusive(settings.lease_bucket, settings.instance_id, settings.lease_secs,
                          on_change=svc.metrics.consumer_active.set)
        svc.consumer = await subscribed(stack, consume_events(
            svc.bus, svc.deps, svc.metrics, durable=settings.durable_name,
            max_deliver=settings.max_deliver, exclusive=lease))
        stack.callback(setattr, svc, "consumer", None)
        await _start_webhooks(stack, svc)
        run_task(stack, publish_heartbeats(
            svc.bus, service=SERVICE, instance_id=settings.instance_id, version=VERSION,
            started_at=svc.started_at, interval_secs=settings.service_heartbeat_secs,
            readiness=svc.readiness), "heartbeat")
        svc.accepting = True
        stack.callback(setattr, svc, "accepting", False)
        log.info("notifications service started",
                 extra={"fields": {"instance_id": settings.instance_id,
                                   "durable": settings.durable_name}})
        yield svc
