"""In-memory stand-ins for the dashboard's ports, and a player for the recorded session."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.adapters.views import Delta
from services.dashboard.domain import (
    Broadcast,
    Changes,
    CountRow,
    DashboardState,
    Instance,
    RoomRecord,
    StorageRow,
    UserRecord,
)
from services.dashboard.ports import DashboardDeps
from shared.bus import PublishFailed
from shared.contracts import (
    BroadcastReceipt,
    BroadcastSent,
    CloudEvent,
    ServiceHeartbeat,
    parse_connections_message,
)

SESSION = Path(__file__).parent / "data" / "session.jsonl"
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class SteppingClock:
    def __init__(self, start: datetime = T0) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class DatabaseDown(Exception):
    pass


@dataclass
class Tables:
    counts: dict[tuple[str, str, datetime], int] = field(default_factory=dict)
    processed: dict[str, datetime] = field(default_factory=dict)
    claimed_seq: dict[str, int | None] = field(default_factory=dict)
    position: int = 0
    users: dict[int, UserRecord] = field(default_factory=dict)
    rooms: dict[int, RoomRecord] = field(default_factory=dict)
    storage: dict[str, StorageRow] = field(default_factory=dict)


class InMemoryEventTx:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def claim(self, event_id: str, now: datetime, seq: int | None = None) -> bool:
        if event_id in self._t.processed:
            return False
        self._t.processed[event_id] = now
        self._t.claimed_seq[event_id] = seq
        return True

    async def claimed_by(self, event_id: str) -> int | None:
        return self._t.claimed_seq.get(event_id)

    async def advance(self, seq: int) -> None:
        self._t.position = max(self._t.position, seq)

    async def count(self, kind: str, key: str, minute: datetime, n: int) -> None:
        k = (kind, key, minute)
        self._t.counts[k] = self._t.counts.get(k, 0) + n

    async def save_room(self, room: RoomRecord) -> None:
        self._t.rooms[room.room_id] = room

    async def save_user(self, user: UserRecord) -> None:
        self._t.users[user.user_id] = user

    async def save_storage(self, row: StorageRow) -> None:
        self._t.storage[row.kind] = row


class InMemoryStatsStore:
    """Transactions roll back on an exception, as the database does; `fail_writes` makes the
    next transaction fail at commit."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.fail_writes = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[InMemoryEventTx]:
        work = copy.deepcopy(self.tables)
        yield InMemoryEventTx(work)
        if self.fail_writes:
            raise DatabaseDown("commit failed")
        self.tables = work

    async def load(self, since: datetime) -> tuple[list[CountRow], list[UserRecord],
                                                   list[RoomRecord], int, list[StorageRow]]:
        t = self.tables
        return ([CountRow(k, key, m, n) for (k, key, m), n in t.counts.items() if m >= since],
                list(t.users.values()), list(t.rooms.values()), t.position,
                list(t.storage.values()))

    async def advance(self, seq: int) -> None:
        self.tables.position = max(self.tables.position, seq)

    async def prune(self, before: datetime) -> None:
        t = self.tables
        t.counts = {k: n for k, n in t.counts.items() if k[2] >= before}
        t.processed = {i: at for i, at in t.processed.items() if at >= before}


class InMemoryInstanceStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Instance] = {}
        self.saves = 0

    async def save(self, instance: Instance) -> None:
        self.saves += 1
        self.rows[instance.key] = copy.copy(instance)

    async def load(self) -> list[Instance]:
        return [copy.copy(i) for i in self.rows.values()]

    async def forget(self, instances: list[Instance]) -> None:
        for instance in instances:
            self.rows.pop(instance.key, None)


class InMemoryBroadcastStore:
    def __init__(self) -> None:
        self.rows: dict[str, Broadcast] = {}

    async def save(self, b: Broadcast) -> None:
        self.rows[b.broadcast_id] = copy.deepcopy(b)

    async def get(self, broadcast_id: str) -> Broadcast | None:
        b = self.rows.get(broadcast_id)
        return copy.deepcopy(b) if b is not None else None

    async def delete(self, broadcast_id: str) -> None:
        self.rows.pop(broadcast_id, None)

    async def recent(self, limit: int) -> list[Broadcast]:
        rows = sorted(self.rows.values(), key=lambda b: b.sent_at, reverse=True)[:limit]
        return [copy.deepcopy(b) for b in rows]


class RecordingFeed:
    def __init__(self) -> None:
        self.deltas: list[Delta] = []

    def publish(self, state: DashboardState, changes: Changes, now: datetime) -> None:
        self.deltas.extend(views.deltas(state, changes, now))

    def of(self, delta_type: str) -> list[dict[str, Any]]:
        return [d.data for d in self.deltas if d.type == delta_type]


class FakeBroadcastChannel:
    """Records what would go on NATS; `on_send` plays the chat replicas' answers."""

    def __init__(self) -> None:
        self.announced: list[tuple[BroadcastSent, str]] = []
        self.sent: list[tuple[str, dict[str, object]]] = []
        self.on_send: Callable[[str], Awaitable[None]] | None = None
        self.fail_announce = False

    async def announce(self, event: BroadcastSent, event_id: str) -> None:
        if self.fail_announce:
            raise PublishFailed("simulated outage")
        self.announced.append((event, event_id))

    async def send(self, broadcast: Broadcast) -> None:
        # The frame as `BusBroadcastChannel` encodes it (its data from the same function).
        frame = {"type": "admin_broadcast", "data": views.admin_broadcast_data(broadcast)}
        self.sent.append((broadcast.broadcast_id, frame))
        if self.on_send is not None:
            await self.on_send(broadcast.broadcast_id)


def shown_stats(deps: DashboardDeps) -> dict[str, Any]:
    """`/stats` as the HTTP route renders it now."""
    return views.stats(deps.state, deps.clock.now())


def shown_snapshot(deps: DashboardDeps) -> dict[str, Any]:
    """The `initial_data` snapshot as the SSE stream renders it now."""
    return views.snapshot(deps.state, deps.clock.now())


@dataclass
class Stores:
    """What survives a restart: hand the same one to a second `make_deps`."""

    stats: InMemoryStatsStore = field(default_factory=InMemoryStatsStore)
    instances: InMemoryInstanceStore = field(default_factory=InMemoryInstanceStore)
    broadcasts: InMemoryBroadcastStore = field(default_factory=InMemoryBroadcastStore)


def make_deps(clock: SteppingClock | None = None, stores: Stores | None = None,
              **overrides: Any) -> DashboardDeps:
    clock = clock or SteppingClock()
    stores = stores or Stores()
    values: dict[str, Any] = {
        "state": DashboardState(started_at=clock.now(), stale_factor=3.0,
                                chat_heartbeat_secs=10.0),
        "stats": stores.stats,
        "instances": stores.instances,
        "broadcasts": stores.broadcasts,
        "feed": RecordingFeed(),
        "channel": FakeBroadcastChannel(),
        "clock": clock,
        "delta_interval_secs": 0.0,
        "receipt_window_secs": 0.2,
    }
    values.update(overrides)
    return DashboardDeps(**values)


@dataclass(frozen=True)
class Line:
    at: datetime
    subject: str
    data: dict[str, Any]


def session() -> list[Line]:
    return [Line(datetime.fromisoformat(d["at"]), d["subject"], d["data"])
            for d in map(orjson.loads, SESSION.read_bytes().splitlines())]


async def play(deps: DashboardDeps, lines: list[Line],
               clock: SteppingClock) -> list[use_cases.Outcome]:
    """Hand each recorded message to the use case its subscriber would call, at its time."""
    outcomes = []
    for line in lines:
        clock.at = line.at
        if line.subject.startswith("events."):
            outcomes.append(await use_cases.record_event(deps, CloudEvent.model_validate(
                line.data)))
        elif line.subject == "live.connections":
            use_cases.record_connections(deps, parse_connections_message(orjson.dumps(
                line.data)))
        elif line.subject == "live.service.heartbeat":
            await use_cases.record_heartbeat(deps, ServiceHeartbeat.model_validate(line.data))
        elif line.subject == "live.broadcast.receipts":
            await use_cases.record_receipt(deps, BroadcastReceipt.model_validate(line.data))
    return outcomes
