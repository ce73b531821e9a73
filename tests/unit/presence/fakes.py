"""In-memory stand-ins for the presence ports, a fake clock, and a driver that plays the chat
replicas and lets time pass without sleeping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from services.presence import use_cases
from services.presence.domain import Board, Connection, PresenceRecord, Status, Timing
from services.presence.ports import PresenceDeps
from shared.contracts import (
    ConnectionActivity,
    ConnectionClosed,
    ConnectionInfo,
    ConnectionOpened,
    ConnectionsHeartbeat,
    ConnectionStatusSet,
    PresenceChanged,
)
from tests.support.clocks import T0 as T0  # the fakes' start, imported by the tests from here
from tests.support.clocks import FixedClock

# The production defaults: the fake clock makes them free.
TIMING = Timing(grace_secs=5.0, idle_away_secs=300.0, ttl_secs=30.0, settle_secs=15.0)


class FakeScheduler:
    """Remembers the deadline it was given; `PresenceWorld.advance` runs it."""

    def __init__(self) -> None:
        self.next: datetime | None = None

    def wake_at(self, when: datetime | None) -> None:
        self.next = when


class InMemoryConnectionStore:
    """Like the KV bucket: an entry not written for `ttl_secs` (of the fake clock) is gone."""

    def __init__(self, clock: FixedClock, ttl_secs: float) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_secs)
        self._entries: dict[str, tuple[Connection, datetime]] = {}
        self.fail = False
        self.prepared = False

    def _live(self) -> dict[str, Connection]:
        now = self._clock.now()
        return {k: replace(c) for k, (c, at) in self._entries.items() if now - at < self._ttl}

    @property
    def entries(self) -> dict[str, Connection]:
        return self._live()

    async def prepare(self) -> None:
        self.prepared = True

    async def save(self, connections: Sequence[Connection]) -> None:
        if not self.fail:
            for conn in connections:
                self._entries[conn.connection_id] = (replace(conn), self._clock.now())

    async def remove(self, connections: Sequence[Connection]) -> None:
        if not self.fail:
            for conn in connections:
                self._entries.pop(conn.connection_id, None)

    async def load_all(self) -> list[Connection]:
        return list(self._live().values())


class InMemoryPresenceRecords:
    def __init__(self) -> None:
        self.rows: dict[int, PresenceRecord] = {}
        self.fail = False

    async def save(self, records: Sequence[PresenceRecord]) -> None:
        if self.fail:
            raise OSError("database is down")
        for record in records:
            # The column holds 32 characters, as `user_presence.username` does.
            self.rows[record.user_id] = replace(record, username=record.username[:32])

    async def get(self, user_ids: Sequence[int]) -> dict[int, PresenceRecord]:
        return {uid: self.rows[uid] for uid in user_ids if uid in self.rows}

    async def not_offline(self) -> list[PresenceRecord]:
        return [r for r in self.rows.values() if r.status != "offline"]

    async def count_by_status(self) -> dict[Status, int]:
        counts: dict[Status, int] = {}
        for record in self.rows.values():
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts


class RecordingPresenceEvents:
    def __init__(self) -> None:
        self.announced: list[PresenceChanged] = []

    async def announce(self, change: PresenceChanged, at: datetime) -> None:
        self.announced.append(change)


class PresenceWorld:
    """One presence process on fakes, and the chat replicas talking to it.

    `restart()` throws the process away and starts another on the same store and database.
    """

    def __init__(self, timing: Timing = TIMING) -> None:
        self.timing = timing
        self.clock = FixedClock()
        self.store = InMemoryConnectionStore(self.clock, timing.ttl_secs)
        self.records = InMemoryPresenceRecords()
        self.events = RecordingPresenceEvents()
        self.deps = self._deps()
        # What each fake replica holds, for its heartbeats: replica -> connection -> info.
        self.sockets: dict[str, dict[str, ConnectionInfo]] = {}

    def _deps(self) -> PresenceDeps:
        return PresenceDeps(board=Board(self.timing), store=self.store, records=self.records,
                            events=self.events, clock=self.clock, scheduler=FakeScheduler())

    @property
    def scheduler(self) -> FakeScheduler:
        assert isinstance(self.deps.scheduler, FakeScheduler)
        return self.deps.scheduler

    async def restart(self) -> None:
        self.deps = self._deps()
        await use_cases.restore(self.deps)

    # --- what happened ----------------------------------------------------------------

    def changes(self, user_id: int | None = None) -> list[tuple[int, str, str]]:
        """(user, status, reason) of every announcement so far."""
        return [(e.user_id, e.status, e.reason) for e in self.events.announced
                if user_id is None or e.user_id == user_id]

    def status(self, user_id: int) -> str:
        view = self.deps.board.view(user_id)
        return view.status if view else "offline"

    # --- the chat replicas ------------------------------------------------------------

    def info(self, conn_id: str, user_id: int | None, *, room: int | None = None,
             rooms: Sequence[int] = (), username: str | None = None,
             active: datetime | None = None) -> ConnectionInfo:
        now = self.clock.now()
        joined = list(rooms) or ([room] if room is not None else [])
        return ConnectionInfo(
            connection_id=conn_id, user_id=user_id,
            username=username or (f"user{user_id}" if user_id is not None else None),
            rooms=joined, current_room=room, opened_at=now, last_active_at=active or now)

    async def open(self, conn_id: str, user_id: int | None, *, replica: str = "chat-a",
                   **info: Any) -> None:
        connection = self.info(conn_id, user_id, **info)
        self.sockets.setdefault(replica, {})[conn_id] = connection
        await use_cases.report(self.deps, ConnectionOpened(replica_id=replica,
                                                           connection=connection))

    async def close(self, conn_id: str, user_id: int | None, *, replica: str = "chat-a") -> None:
        self.sockets.get(replica, {}).pop(conn_id, None)
        await use_cases.report(self.deps, ConnectionClosed(
            replica_id=replica, connection_id=conn_id, user_id=user_id,
            closed_at=self.clock.now(), code=1000))

    async def activity(self, conn_id: str, user_id: int, *, room: int | None = None,
                       replica: str = "chat-a") -> None:
        known = self.sockets.get(replica, {}).get(conn_id)
        if known is not None:
            self.sockets[replica][conn_id] = known.model_copy(update={
                "last_active_at": self.clock.now(), "current_room": room,
                "rooms": sorted({*known.rooms, *([room] if room is not None else [])})})
        await use_cases.report(self.deps, ConnectionActivity(
            replica_id=replica, connection_id=conn_id, user_id=user_id, current_room=room,
            at=self.clock.now()))

    async def set_status(self, conn_id: str, user_id: int, status: str, *,
                         replica: str = "chat-a") -> None:
        await use_cases.report(self.deps, ConnectionStatusSet(
            replica_id=replica, connection_id=conn_id, user_id=user_id,
            status=status, at=self.clock.now()))  # type: ignore[arg-type]

    async def heartbeat(self, replica: str = "chat-a") -> None:
        await use_cases.report(self.deps, ConnectionsHeartbeat(
            replica_id=replica, interval_secs=10.0,
            connections=list(self.sockets.get(replica, {}).values()), at=self.clock.now()))

    # --- time -------------------------------------------------------------------------

    async def advance(self, secs: float, *, heartbeats_every: float | None = None,
                      replicas: Sequence[str] = ("chat-a",), hearing: bool = True) -> None:
        """Let `secs` pass, running each timer at its deadline (and, if asked, the replicas'
        heartbeats every `heartbeats_every` seconds)."""
        target = self.clock.now() + timedelta(seconds=secs)
        beat_at = (self.clock.now() + timedelta(seconds=heartbeats_every)
                   if heartbeats_every else None)
        for _ in range(100_000):
            due = self.scheduler.next if hearing else None
            step = min((t for t in (due, beat_at) if t is not None and t <= target),
                       default=None)
            if step is None:
                break
            self.clock.set(max(step, self.clock.now()))
            if beat_at is not None and step == beat_at:
                for replica in replicas:
                    await self.heartbeat(replica)
                beat_at += timedelta(seconds=heartbeats_every or 0)
            else:
                await use_cases.tick(self.deps, hearing=hearing)
        else:
            raise AssertionError("timers never settled")
        self.clock.set(target)
        await use_cases.tick(self.deps, hearing=hearing)
