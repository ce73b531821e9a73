"""NATS inbound: `live.connections` from the chat replicas, and `rpc.presence.users` questions."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError

from services.presence import use_cases
from services.presence.adapters.metrics import PresenceMetrics
from services.presence.ports import PresenceDeps
from shared.bus import EventBus, LiveMessage, Subscription
from shared.contracts import (
    LIVE_CONNECTIONS,
    PRESENCE_USERS_RPC,
    ConnectionsHeartbeat,
    PresenceQuery,
    PresenceSnapshot,
    UserPresence,
    parse_connections_message,
)

log = logging.getLogger(__name__)
# A question about more users than this is answered for the first ones only.
RPC_MAX_USERS = 10_000


async def subscribe_connections(bus: EventBus, deps: PresenceDeps, metrics: PresenceMetrics,
                                *, ready: asyncio.Event, ttl_secs: float) -> Subscription:
    """Messages wait for `ready` (set once the board is restored) and then run in order."""
    warned: set[str] = set()

    async def on_message(msg: LiveMessage) -> None:
        await ready.wait()
        try:
            message = parse_connections_message(msg.data)
        except ValueError as exc:  # bad JSON and failed validation alike
            metrics.live_messages.labels("invalid").inc()
            log.warning("unreadable live.connections message: %s", exc)
            return
        metrics.live_messages.labels(message.kind).inc()
        if isinstance(message, ConnectionsHeartbeat) and message.replica_id not in warned \
                and message.interval_secs * 2 > ttl_secs:
            warned.add(message.replica_id)
            log.warning("replica %s beats every %.1fs but presence entries live %.1fs: one "
                        "late heartbeat expires its sockets (raise PRESENCE_KV_TTL_SECS)",
                        message.replica_id, message.interval_secs, ttl_secs)
        await use_cases.report(deps, message)

    return await bus.subscribe(LIVE_CONNECTIONS, on_message)


async def answer_presence_queries(bus: EventBus, deps: PresenceDeps) -> Subscription:
    async def respond(raw: bytes) -> bytes:
        try:
            query = PresenceQuery.model_validate_json(raw)
        except ValidationError as exc:
            log.warning("bad %s request: %s", PRESENCE_USERS_RPC, exc)
            return PresenceSnapshot(users=[]).model_dump_json().encode()
        views = await use_cases.snapshot(deps, query.user_ids[:RPC_MAX_USERS])
        return PresenceSnapshot(users=[
            UserPresence(user_id=v.user_id, username=v.username, status=v.status,
                         current_room=v.current_room, last_active_at=v.last_active_at,
                         connections=v.connections)
            for v in views]).model_dump_json().encode()

    return await bus.respond(PRESENCE_USERS_RPC, respond)
