"""The composition root: `wire()` builds every adapter from settings (each one overridable);
`running()` starts them and stops them again. Nothing connects at import or in `wire()`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.presence import use_cases
from services.presence.adapters.inbound.partitions import PartitionKeeper
from services.presence.adapters.inbound.peers import answer_peers
from services.presence.adapters.inbound.subscriptions import (
    answer_presence_queries,
    subscribe_connections,
)
from services.presence.adapters.inbound.ticker import Ticker
from services.presence.adapters.metrics import PresenceMetrics
from services.presence.adapters.outbound.bus_events import BusPresenceEvents
from services.presence.adapters.outbound.bus_peers import BusPeers
from services.presence.adapters.outbound.clock import SystemClock
from services.presence.adapters.outbound.nats_kv_store import NatsKvConnectionStore
from services.presence.adapters.outbound.nats_leases import NatsKvLeases
from services.presence.adapters.outbound.sqla_records import SqlaPresenceRecords
from services.presence.domain import Board, Ownership, Timing
from services.presence.migrations import SCHEMA
from services.presence.ports import Clock, ConnectionStore, PresenceDeps
from services.presence.settings import PresenceSettings
from shared.auth import TokenKeys, TokenVerifier, follow_revocations
from shared.bus import EventBus
from shared.bus.nats import NatsEventBus
from shared.db import Database
from shared.lifecycle import cancel, connect_bus, open_database, run_task, subscribed
from shared.observability import publish_heartbeats

log = logging.getLogger(__name__)
VERSION = "0.1.0"
DRAIN_EVENTS_SECS = 5.0


@dataclass(eq=False)
class Presence:
    settings: PresenceSettings
    db: Database
    bus: EventBus
    deps: PresenceDeps
    events: BusPresenceEvents
    ticker: Ticker
    keys: TokenKeys
    metrics: PresenceMetrics
    keeper: PartitionKeeper | None = None  # several instances (PRESENCE_PARTITIONS) only
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self.db.ping(), "nats": self.bus.is_connected,
                "restored": self.ready.is_set(), "token_keys": self.keys.loaded}

    def hearing(self) -> bool:
        return self.bus.is_connected


def _token_keys(settings: PresenceSettings, verifier: TokenVerifier | None) -> TokenKeys:
    if verifier is not None:
        return TokenKeys(verifier)
    return TokenKeys.from_settings(settings.jwt_public_key_pem, settings.jwks_url,
                                   env_prefix="PRESENCE_")


def wire(settings: PresenceSettings, *, bus: EventBus | None = None,
         store: ConnectionStore | None = None, clock: Clock | None = None,
         verifier: TokenVerifier | None = None) -> Presence:
    db = Database(settings.resolved_database_url())
    bus = bus or settings.nats_bus("presence", settings.instance_id)
    if store is None:
        if not isinstance(bus, NatsEventBus):
            raise ValueError("the NATS KV store needs a NatsEventBus; pass store= with others")
        store = NatsKvConnectionStore(bus, settings.kv_bucket, settings.resolved_kv_ttl_secs())
    clock = clock or SystemClock()
    timing = Timing(grace_secs=settings.grace_secs, idle_away_secs=settings.idle_away_secs,
                    ttl_secs=settings.resolved_kv_ttl_secs(),
                    settle_secs=settings.resolved_settle_secs())
    ticker = Ticker(clock, settings.sweep_secs)
    events = BusPresenceEvents(bus)
    deps = PresenceDeps(board=Board(timing), store=store, records=SqlaPresenceRecords(db),
                        events=events, clock=clock, scheduler=ticker,
                        page_max=settings.page_max,
                        ownership=Ownership(settings.partitions, settings.instance_id))
    keeper = None
    if settings.partitions:
        if db.sqlite:
            # "Last announced" must be one truth for all instances, or a hand-over would
            # compare against another instance's past and announce (or miss) changes.
            raise ValueError("PRESENCE_PARTITIONS needs a database every instance shares "
                             "(PRESENCE_DATABASE_URL=postgresql+asyncpg://...), not SQLite")
        if not isinstance(bus, NatsEventBus):
            raise ValueError("partition leases need a NatsEventBus")
        deps.peers = BusPeers(bus)
        leases = NatsKvLeases(bus, settings.lease_bucket, settings.lease_secs,
                              settings.instance_id)
        keeper = PartitionKeeper(leases, deps, renew_secs=settings.lease_renew_secs,
                                 drain=lambda: events.drain(DRAIN_EVENTS_SECS))
    metrics = PresenceMetrics()
    metrics.observe(deps.board, lambda: events.pending)
    return Presence(settings, db, bus, deps, events, ticker, _token_keys(settings, verifier),
                    metrics, keeper)


async def _every(secs: float, job: Callable[[], Awaitable[None]], name: str) -> None:
    while True:
        await asyncio.sleep(secs)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again in %.1fs", name, secs)


@asynccontextmanager
async def running(presence: Presence) -> AsyncIterator[Presence]:
    """Start what `wire` built; on exit stop it, in reverse (`shared/lifecycle.py`): the
    heartbeat, timers and flush ended, queries no longer answered, readiness off, no more
    listening, what changed stored and the queued events published, NATS drained, the
    database closed. Nobody is marked offline: the next process starts from the bucket and
    the database."""
    settings, deps = presence.settings, presence.deps
    async with AsyncExitStack() as stack:
        await open_database(stack, presence.db, SCHEMA,
                            auto_migrate=presence.settings.auto_migrate)
        await connect_bus(stack, presence.bus)
        await deps.store.prepare()
        if settings.jwks_url and not presence.keys.loaded:
            run_task(stack, presence.keys.fetch(settings.jwks_url, settings.jwks_retry_secs),
                     "jwks")
        events = asyncio.create_task(presence.events.run(), name="presence-events")
        stack.push_async_callback(_store_and_publish, presence, events)
        # Subscribe first and hold the messages until the board is restored: nothing said
        # in between is lost, and nothing is applied to a board that does not know its past
        # yet. Revoked sessions are in the set before the first request is answered.
        await subscribed(stack, follow_revocations(presence.bus, presence.keys.revoked))
        await subscribed(stack, subscribe_connections(
            presence.bus, deps, presence.metrics, ready=presence.ready,
            ttl_secs=settings.resolved_kv_ttl_secs()))
        await use_cases.restore(deps)
        presence.ready.set()
        stack.callback(presence.ready.clear)
        await subscribed(stack, answer_presence_queries(presence.bus, deps))
        if presence.keeper is not None:
            await subscribed(stack, answer_peers(presence.bus, deps))
            # On exit the renewals end first, then every partition is handed over at once.
            stack.push_async_callback(presence.keeper.stop)
            run_task(stack, presence.keeper.run(), "presence-leases")
        run_task(stack, presence.ticker.run(
            lambda: use_cases.tick(deps, hearing=presence.hearing())), "presence-timers")
        run_task(stack, _every(settings.persist_secs, lambda: use_cases.flush(deps),
                               "presence flush"), "presence-flush")
        run_task(stack, publish_heartbeats(
            presence.bus, service="presence", instance_id=settings.instance_id,
            version=VERSION, started_at=presence.started_at,
            interval_secs=settings.service_heartbeat_secs, readiness=presence.readiness,
            details=lambda: _details(deps)), "heartbeat")
        log.info("presence service started", extra={"fields": {
            "instance_id": settings.instance_id, "grace_secs": settings.grace_secs,
            "kv_ttl_secs": settings.resolved_kv_ttl_secs(), "bucket": settings.kv_bucket,
            "partitions": settings.partitions}})
        yield presence


def _details(deps: PresenceDeps) -> dict[str, object]:
    details: dict[str, object] = {"connections": len(deps.board.connections),
                                  **deps.board.counts()}
    if deps.ownership.partitioned:
        details["partitions"] = sorted(deps.ownership.mine)
    return details


async def _store_and_publish(presence: Presence, events: asyncio.Task[None]) -> None:
    """Store last activity and last seen, publish the queued presence events (waiting up
    to `DRAIN_EVENTS_SECS`), then end the publisher."""
    try:
        await use_cases.flush(presence.deps)
    except Exception:
        log.exception("storing presence while stopping failed")
    if not await presence.events.drain(DRAIN_EVENTS_SECS):
        log.warning("stopping with %d presence events unpublished", presence.events.pending)
    await cancel(events)
