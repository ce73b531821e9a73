"""What this replica tells `live.viewing`: per user, the rooms a socket of theirs shows in a
visible tab (the `view` frame), when that set changes, and every `heartbeat_secs` the full
list, so a missed change is repaired and a replica that dies is forgotten."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson

from services.chat.adapters.outbound.connection import Connection
from shared.bus import EventBus
from shared.contracts import LIVE_VIEWING

log = logging.getLogger(__name__)


class ViewingReporter:
    def __init__(self, bus: EventBus, *, replica_id: str, heartbeat_secs: float) -> None:
        self._bus = bus
        self.replica_id = replica_id
        self._heartbeat_secs = heartbeat_secs
        # Per user, what was last said (users viewing nothing are left out).
        self._said: dict[int, frozenset[int]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._heartbeats(), name="viewing-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def rooms_of(self, user_id: int) -> frozenset[int]:
        return self._said.get(user_id, frozenset())

    async def sockets_changed(self, user_id: int, sockets: Iterable[Connection]) -> None:
        """Each tab counts: the user views every room one of their sockets here shows."""
        rooms = frozenset(c.viewing for c in sockets if c.viewing is not None and not c.closed)
        await self.update(user_id, rooms)

    async def update(self, user_id: int, rooms: frozenset[int]) -> None:
        """Say the user's rooms on screen, if they changed."""
        if self._said.get(user_id, frozenset()) == rooms:
            return
        if rooms:
            self._said[user_id] = rooms
        else:
            self._said.pop(user_id, None)
        await self._publish({"kind": "user", "replica_id": self.replica_id,
                             "user_id": user_id, "rooms": sorted(rooms),
                             "at": datetime.now(UTC).isoformat()})

    def heartbeat(self) -> dict[str, object]:
        return {"kind": "heartbeat", "replica_id": self.replica_id,
                "interval_secs": self._heartbeat_secs,
                "viewers": [{"user_id": uid, "rooms": sorted(rooms)}
                            for uid, rooms in self._said.items()],
                "at": datetime.now(UTC).isoformat()}

    async def _publish(self, message: dict[str, object]) -> None:
        try:
            await self._bus.publish(LIVE_VIEWING, orjson.dumps(message))
        except Exception:
            # Best effort: the next heartbeat says it again.
            log.warning("viewing report not published", exc_info=True)

    async def _heartbeats(self) -> None:
        while True:
            await self._publish(self.heartbeat())
            await asyncio.sleep(self._heartbeat_secs)
