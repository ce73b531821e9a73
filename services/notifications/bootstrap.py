"""The composition root: `wire()` builds every adapter from settings (each one overridable);
`start()`/`stop()` connect and release them. Nothing connects at import or in `wire()`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.notifications.adapters.inbound.retention import run_retention
from services.notifications.adapters.inbound.subscriptions import (
    consume_events,
    subscribe_viewing,
)
from services.notifications.adapters.metrics import NotificationsMetrics
from services.notifications.adapters.outbound.bus_live_notifier import BusLiveNotifier
from services.notifications.adapters.outbound.clock import SystemClock
from services.notifications.adapters.outbound.memory_viewing import MemoryViewingBoard
from services.notifications.adapters.outbound.sqla_store import SqlaNotificationsUnitOfWork
from services.notifications.adapters.outbound.sqla_tables import metadata, outbox
from services.notifications.ports import Clock, NotificationsDeps
from services.notifications.settings import NotificationsSettings
from shared.auth import TokenKeys, TokenVerifier, follow_revocations
from shared.bus import EventBus, Subscription
from shared.bus.nats import NatsEventBus
from shared.db import Database, create_schema
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
    accepting: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    consumer: Subscription | None = None
    viewing: Subscription | None = None
    revocations: Subscription | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self.db.ping(), "nats": self.bus.is_connected,
                "consuming": self.consumer is not None, "token_keys": self.keys.loaded,
                "accepting": self.accepting}


def wire(settings: NotificationsSettings, *, bus: EventBus | None = None,
         clock: Clock | None = None, verifier: TokenVerifier | None = None) -> Notifications:
    keys = TokenKeys(verifier) if verifier is not None else TokenKeys.from_settings(
        settings.jwt_public_key_pem, settings.jwks_url, env_prefix="NOTIFICATIONS_")
    db = Database(settings.resolved_database_url())
    bus = bus or NatsEventBus(settings.nats_url, name=settings.instance_id)
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
    return Notifications(settings, db, bus, deps, relay, metrics, keys)


async def start(svc: Notifications) -> None:
    settings = svc.settings
    await svc.db.prepare()
    await create_schema(svc.db, metadata)
    await svc.bus.connect()
    # Revoked sessions are in the set before the first request is answered.
    svc.revocations = await follow_revocations(svc.bus, svc.keys.revoked)
    # Before the consumer: a message decided now should know who is looking already.
    svc.viewing = await subscribe_viewing(svc.bus, svc.deps)
    svc.consumer = await consume_events(svc.bus, svc.deps, svc.metrics,
                                        durable=settings.durable_name,
                                        max_deliver=settings.max_deliver)
    if settings.jwks_url and not svc.keys.loaded:
        svc._tasks.append(asyncio.create_task(
            svc.keys.fetch(settings.jwks_url, settings.jwks_retry_secs), name="jwks"))
    svc._tasks += [
        asyncio.create_task(svc.relay.run(), name="outbox-relay"),
        asyncio.create_task(run_retention(
            svc.deps, svc.metrics, retention_days=settings.retention_days,
            interval_secs=settings.retention_interval_secs,
            purge_sent=svc.relay.purge_sent), name="retention"),
        asyncio.create_task(publish_heartbeats(
            svc.bus, service=SERVICE, instance_id=settings.instance_id, version=VERSION,
            started_at=svc.started_at, interval_secs=settings.service_heartbeat_secs,
            readiness=svc.readiness), name="heartbeat"),
    ]
    svc.accepting = True
    log.info("notifications service started",
             extra={"fields": {"instance_id": settings.instance_id,
                               "durable": settings.durable_name}})


async def stop(svc: Notifications) -> None:
    """Readiness off, stop consuming (what is unacked goes back to the server), tasks
    cancelled, NATS drained. The outbox keeps whatever was not relayed yet."""
    svc.accepting = False
    consumer, svc.consumer = svc.consumer, None
    for sub in (consumer, svc.viewing, svc.revocations):
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
    svc.viewing = svc.revocations = None
    for task in svc._tasks:
        task.cancel()
    for task in svc._tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    svc._tasks = []
    with contextlib.suppress(Exception):
        await svc.bus.close()
    await svc.db.dispose()
