"""What this replica tells `live.connections`: sockets opened and closed, activity, manual
status, and every `heartbeat_secs` the full list of its open sockets.

Each socket's entry of that list is encoded once and kept until the socket changes (joins,
leaves, is active), so a heartbeat of 10,000 sockets joins stored bytes instead of
serialising every socket again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from services.chat.adapters.outbound.connection import Connection
from shared.bus import EventBus
from shared.contracts import LIVE_CONNECTIONS

log = logging.getLogger(__name__)
# Every slow-consumer close uses it (a full send buffer, too far behind while recovering, a
# reply that waited too long for the buffer): docs/protocol.md, close codes.
CLOSE_SLOW_CONSUMER = 1013


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def info_json(conn: Connection) -> bytes:
    """The socket as a `ConnectionInfo` (shared/contracts/live.py), cached on the socket."""
    cached = conn.info_cache
    if cached is None:
        # A copy of orjson's output: orjson's own buffer is at least 4 KiB, which every
        # idle socket would keep.
        cached = conn.info_cache = bytes(memoryview(orjson.dumps({
            "connection_id": conn.id, "user_id": conn.actor.user_id,
            "username": conn.actor.username, "rooms": list(conn.rooms),
            "current_room": conn.current_room, "opened_at": _iso(conn.opened_at),
            "last_active_at": _iso(conn.last_active_at)})))
    return cached


class ConnectionsReporter:
    def __init__(self, bus: EventBus, *, replica_id: str, heartbeat_secs: float,
                 activity_secs: float) -> None:
        self._bus = bus
        self.replica_id = replica_id
        self._heartbeat_secs = heartbeat_secs
        self._activity_secs = activity_secs
        self._task: asyncio.Task[None] | None = None

    def start(self, connections: Mapping[str, Connection]) -> None:
        self._task = asyncio.create_task(self._heartbeats(connections),
                                         name="connections-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def opened(self, conn: Connection) -> None:
        conn.reported_room = conn.current_room
        await self._publish(b'{"kind":"opened","replica_id":%s,"connection":%s}'
                            % (orjson.dumps(self.replica_id), info_json(conn)))

    async def closed(self, conn: Connection, code: int | None) -> None:
        await self._send({"kind": "closed", "replica_id": self.replica_id,
                          "connection_id": conn.id, "user_id": conn.actor.user_id,
                          "closed_at": _iso(datetime.now(UTC)), "code": code,
                          "slow_consumer": code == CLOSE_SLOW_CONSUMER})

    async def activity(self, conn: Connection, now: datetime, loop_time: float) -> None:
        """Report what a person did, at most once per `activity_secs` per socket, and at once
        when the socket shows another room than the last report said."""
        conn.last_active_at = now
        if conn.actor.user_id is None:
            return
        if loop_time - conn.last_activity_report < self._activity_secs and \
                conn.current_room == conn.reported_room:
            return
        conn.last_activity_report = loop_time
        conn.reported_room = conn.current_room
        conn.info_cache = None  # last_active_at moved on in what heartbeats say
        await self._send({"kind": "activity", "replica_id": self.replica_id,
                          "connection_id": conn.id, "user_id": conn.actor.user_id,
                          "current_room": conn.current_room, "at": _iso(now)})

    async def status(self, conn: Connection, status: str, now: datetime) -> None:
        assert conn.actor.user_id is not None
        await self._send({"kind": "status", "replica_id": self.replica_id,
                          "connection_id": conn.id, "user_id": conn.actor.user_id,
                          "status": status, "at": _iso(now)})

    def heartbeat(self, connections: Mapping[str, Connection]) -> bytes:
        listed = b",".join(info_json(c) for c in connections.values())
        return b'{"kind":"heartbeat","replica_id":%s,"interval_secs":%s,"connections":[%s],' \
               b'"at":%s}' % (orjson.dumps(self.replica_id), orjson.dumps(self._heartbeat_secs),
                              listed, orjson.dumps(_iso(datetime.now(UTC))))

    async def _send(self, message: dict[str, Any]) -> None:
        await self._publish(orjson.dumps(message))

    async def _publish(self, data: bytes) -> None:
        await self._bus.publish(LIVE_CONNECTIONS, data)

    async def _heartbeats(self, connections: Mapping[str, Connection]) -> None:
        while True:
            try:
                await self._publish(self.heartbeat(connections))
            except Exception:
                log.exception("connections heartbeat failed")
            await asyncio.sleep(self._heartbeat_secs)
