"""The composition root: `wire()` builds every adapter from settings (each one overridable);
`running()` starts them and stops them again. Nothing connects at import or in `wire()`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from services.dashboard import use_cases
from services.dashboard.adapters.inbound.subscriptions import fold_events, subscribe_live
from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.adapters.outbound.bus_broadcast import BusBroadcastChannel
from services.dashboard.adapters.outbound.sqla_store import (
    SqlaBroadcastStore,
    SqlaInstanceStore,
    SqlaStatsStore,
)
from services.dashboard.adapters.outbound.sse_hub import SseHub
from services.dashboard.adapters.outbound.system import SystemClock
from services.dashboard.domain import DashboardState
from services.dashboard.migrations import SCHEMA
from services.dashboard.ports import Clock, DashboardDeps
from services.dashboard.settings import DashboardSettings
from shared.auth import TokenKeys, TokenVerifier, follow_revocations
from shared.bus import EventBus
from shared.contracts import SessionRevoked
from shared.db import Database
from shared.lifecycle import connect_bus, open_database, quietly, run_task, subscribed
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

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self.db.ping(), "nats": self.bus.is_connected,
                "consuming": self.consuming, "token_keys": self.keys.loaded,
                "accepting": not self.stopping}


def wire(settings: DashboardSettings, *, bus: EventBus | None = None,
         clock: Clock | None = None, verifier: TokenVerifier | None = None) -> Dashboard:
    db = Database(settings.resolved_database_url())
    bus = bus or settings.nats_bus("dashboard", settings.instance_id)
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
                           chat_heartbeat_secs=settings.chat_heartbeat_secs,
                           fact_log_size=settings.resume_events)
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


@asynccontextmanager
async def running(dashboard: Dashboard) -> AsyncIterator[Dashboard]:
    """Start what `wire` built; on exit stop it, in reverse (`shared/lifecycle.py`):
    `consuming: false`, the heartbeat ended, every event stream ended, the consumer and the
    subscriptions stopped, the ticker, pruner (and the JWKS fetch, if still running) ended,
    NATS drained, the database closed."""
    settings = dashboard.settings
    if not dashboard.keys.loaded and not settings.jwks_url:
        raise RuntimeError("set DASHBOARD_JWT_PUBLIC_KEY_PEM or DASHBOARD_JWKS_URL: the "
                           "dashboard verifies administrators' tokens with chat's public key")
    async with AsyncExitStack() as stack:
        await open_database(stack, dashboard.db, SCHEMA,
                            auto_migrate=dashboard.settings.auto_migrate)
        await use_cases.load(dashboard.deps)
        await connect_bus(stack, dashboard.bus)
        run_task(stack, _ticker(dashboard), "ticker")
        run_task(stack, _pruner(dashboard), "pruner")
        if not dashboard.keys.loaded and settings.jwks_url:
            run_task(stack, dashboard.keys.fetch(settings.jwks_url, settings.jwks_retry_secs),
                     "jwks")
        # Live subjects first: socket reports and heartbeats are what a restart knows least.
        for subscribing in await subscribe_live(dashboard.bus, dashboard.deps,
                                                dashboard.metrics):
            stack.push_async_callback(quietly, "unsubscribing", subscribing.unsubscribe)
        hub = dashboard.hub

        async def end_streams(event: SessionRevoked) -> None:
            hub.end_session(event.session_id)

        # Revoked sessions are in the set before the first request is answered.
        await subscribed(stack, follow_revocations(
            dashboard.bus, dashboard.keys.revoked, on_revoked=end_streams))
        await subscribed(stack, fold_events(
            dashboard.bus, dashboard.deps, dashboard.metrics,
            max_deliver=settings.max_deliver))
        stack.callback(hub.close_all)
        run_task(stack, publish_heartbeats(
            dashboard.bus, service="dashboard", instance_id=settings.instance_id,
            version=VERSION, started_at=dashboard.started_at,
            interval_secs=settings.service_heartbeat_secs, readiness=dashboard.readiness,
            details=lambda: {"sse_clients": dashboard.hub.clients}), "heartbeat")
        dashboard.consuming = True
        stack.callback(setattr, dashboard, "consuming", False)
        log.info("dashboard service started",
                 extra={"fields": {"instance_id": settings.instance_id}})
        yield dashboard


async def _ticker(dashboard: Dashboard) -> None:
    interval = dashboard.settings.delta_interval_secs
    period = min(interval, TICK_MAX_SECS) if interval > 0 else TICK_MAX_SECS
    while True:
        await asyncio.sleep(period)
        try:
            use_cases.tick(dashboard.deps)
            await use_cases.save_position(dashboard.deps)
        except Exception:
            log.exception("dashboard tick failed")


async def _pruner(dashboard: Dashboard) -> None:
    while True:
        try:
            await use_cases.prune(dashboard.deps)
        except Exception:
            log.exception("pruning the dashboard database failed; retrying later")
        await asyncio.sleep(dashboard.settings.prune_secs)
