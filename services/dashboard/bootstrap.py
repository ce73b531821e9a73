"""The composition root: `wire()` builds every adapter from settings (each one overridable);
`start()`/`stop()` connect and release them. Nothing connects at import or in `wire()`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from services.dashboard import use_cases
from services.dashboard.adapters.inbound.subscriptions import consume_events, subscribe_live
from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.adapters.outbound.bus_broadcast import BusBroadcastChannel
from services.dashboard.adapters.outbound.sqla_store import (
    SqlaBroadcastStore,
    SqlaInstanceStore,
    SqlaStatsStore,
)
from services.dashboard.adapters.outbound.sqla_tables import metadata
from services.dashboard.adapters.outbound.sse_hub import SseHub
from services.dashboard.adapters.outbound.system import SystemClock
from services.dashboard.domain import DashboardState
from services.dashboard.ports import Clock, DashboardDeps
from services.dashboard.settings import DashboardSettings
from shared.auth import TokenKeys, TokenVerifier, follow_revocations
from shared.bus import EventBus, Subscription
from shared.bus.nats import NatsEventBus
from shared.contracts import SessionRevoked
from shared.db import Database, create_schema
from shared.observability import publish_heartbeats

log = logging.getLogger(__name__)
VERSION = "0.1.0"
# Even when every change is flushed at once, time still moves (staleness, sliding windows).
TICK_MAX_SECS = 1.0


@dataclass(eq=False)
class Dashboard:
    settings: DashboardSettings
    db: Database
    bus: EventBus
    deps: DashboardDeps
    hub: SseHub
    metrics: DashboardMetrics
    keys: TokenKeys
    started_at: datetime
    consuming: bool = False
    # Set on SIGTERM/SIGINT: readiness goes off while open streams end.
    stopping: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _subscriptions: list[Subscription] = field(default_factory=list)

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self.db.ping(), "nats": self.bus.is_connected,
                "consuming": self.consuming, "token_keys": self.keys.loaded,
                "accepting": not self.stopping}


def wire(settings: DashboardSettings, *, bus: EventBus | None = None,
         clock: Clock | None = None, verifier: TokenVerifier | None = None) -> Dashboard:
    db = Database(settings.resolved_database_url())
    bus = bus or NatsEventBus(settings.nats_url, name=settings.instance_id)
    clock = clock or SystemClock()
    started_at = clock.now()
    metrics = DashboardMetrics()
    # Ids grow across restarts: a Last-Event-ID from an earlier run is never in this range.
    hub = SseHub(metrics, queue_size=settings.client_queue_size,
                 ring_size=settings.delta_ring_size, retry_ms=settings.sse_retry_ms,
                 first_id=int(started_at.timestamp() * 1000) * 1000)
    if verifier is None and settings.jwt_public_key_pem:
        verifier = TokenVerifier.from_pem(settings.jwt_public_key_pem)
    state = DashboardState(started_at=started_at,
                           stale_factor=settings.heartbeat_stale_factor,
                           chat_heartbeat_secs=settings.chat_heartbeat_secs)
    deps = DashboardDeps(
        state=state,
        stats=SqlaStatsStore(db),
        instances=SqlaInstanceStore(db),
        broadcasts=SqlaBroadcastStore(db),
        feed=hub,
        channel=BusBroadcastChannel(bus, source="tertulia/dashboard"),
        clock=clock,
        delta_interval_secs=settings.delta_interval_secs,
        broadcast_sender=settings.broadcast_sender,
        broadcast_max_chars=settings.broadcast_max_chars,
        receipt_window_secs=settings.broadcast_receipt_window_secs,
        health_persist_secs=settings.health_persist_secs,
        instance_replaced_secs=settings.instance_replaced_secs,
    )
    return Dashboard(settings, db, bus, deps, hub, metrics, TokenKeys(verifier), started_at)


async def start(dashboard: Dashboard) -> None:
    settings = dashboard.settings
    if not dashboard.keys.loaded and not settings.jwks_url:
        raise RuntimeError("set DASHBOARD_JWT_PUBLIC_KEY_PEM or DASHBOARD_JWKS_URL: the "
                           "dashboard verifies administrators' tokens with chat's public key")
    await dashboard.db.prepare()
    await create_schema(dashboard.db, metadata)
    await use_cases.load(dashboard.deps)
    await dashboard.bus.connect()
    # Live subjects first: socket reports and heartbeats are what a restart knows least.
    dashboard._subscriptions = await subscribe_live(dashboard.bus, dashboard.deps,
                                                    dashboard.metrics)
    # Revoked sessions are in the set before the first request is answered.
    hub = dashboard.hub

    async def end_streams(event: SessionRevoked) -> None:
        hub.end_session(event.session_id)

    dashboard._subscriptions.append(await follow_revocations(
        dashboard.bus, dashboard.keys.revoked, on_revoked=end_streams))
    dashboard._subscriptions.append(await consume_events(
        dashboard.bus, dashboard.deps, dashboard.metrics,
        durable=settings.durable_name, max_deliver=settings.max_deliver))
    dashboard.consuming = True
    tasks = {
        "ticker": _ticker(dashboard),
        "pruner": _pruner(dashboard),
        "heartbeat": publish_heartbeats(
            dashboard.bus, service="dashboard", instance_id=settings.instance_id,
            version=VERSION, started_at=dashboard.started_at,
            interval_secs=settings.service_heartbeat_secs, readiness=dashboard.readiness,
            details=lambda: {"sse_clients": dashboard.hub.clients}),
    }
    if not dashboard.keys.loaded and settings.jwks_url:
        tasks["jwks"] = dashboard.keys.fetch(settings.jwks_url, settings.jwks_retry_secs)
    dashboard._tasks = [asyncio.create_task(coro, name=name) for name, coro in tasks.items()]
    log.info("dashboard service started",
             extra={"fields": {"instance_id": settings.instance_id}})


async def _ticker(dashboard: Dashboard) -> None:
    interval = dashboard.settings.delta_interval_secs
    period = min(interval, TICK_MAX_SECS) if interval > 0 else TICK_MAX_SECS
    while True:
        await asyncio.sleep(period)
        try:
            use_cases.tick(dashboard.deps)
        except Exception:
            log.exception("dashboard tick failed")


async def _pruner(dashboard: Dashboard) -> None:
    while True:
        try:
            await use_cases.prune(dashboard.deps)
        except Exception:
            log.exception("pruning the dashboard database failed; retrying later")
        await asyncio.sleep(dashboard.settings.prune_secs)


async def stop(dashboard: Dashboard) -> None:
    dashboard.consuming = False
    dashboard.hub.close_all()
    for sub in dashboard._subscriptions:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    for task in dashboard._tasks:
        task.cancel()
    for task in dashboard._tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    with contextlib.suppress(Exception):
        await dashboard.bus.close()
    await dashboard.db.dispose()
