"""The interfaces the dashboard core needs; adapters implement them (SQLAlchemy, NATS, SSE)."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.dashboard.domain import (
    Broadcast,
    Changes,
    CountRow,
    DashboardState,
    Instance,
    RoomRecord,
    UserRecord,
)
from shared.contracts import BroadcastSent


class EventTx(Protocol):
    """One database transaction for one durable event."""

    async def claim(self, event_id: str, now: datetime) -> bool:
        """Record the event as handled; False if it already was (a redelivery)."""
        ...

    async def count(self, kind: str, key: str, minute: datetime, n: int) -> None: ...
    async def save_room(self, room: RoomRecord) -> None: ...
    async def save_user(self, user: UserRecord) -> None: ...


class StatsStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[EventTx]:
        """Commits when the block ends normally; rolls back on an exception."""
        ...

    async def load(self, since: datetime) -> tuple[list[CountRow], list[UserRecord],
                                                   list[RoomRecord]]:
        """Counters from `since` on, every known user and room."""
        ...

    async def prune(self, before: datetime) -> None:
        """Forget counters and handled event ids older than `before`."""
        ...


class InstanceStore(Protocol):
    async def save(self, instance: Instance) -> None: ...
    async def load(self) -> list[Instance]: ...
    async def forget(self, instances: list[Instance]) -> None: ...


class BroadcastStore(Protocol):
    async def save(self, b: Broadcast) -> None: ...
    async def recent(self, limit: int) -> list[Broadcast]: ...


class DeltaFeed(Protocol):
    """Tells every connected client what changed, in its own wire shapes (and keeps what it
    sent for resuming clients)."""

    def publish(self, state: DashboardState, changes: Changes, now: datetime) -> None: ...


class BroadcastChannel(Protocol):
    async def announce(self, event: BroadcastSent, event_id: str) -> None:
        """The durable record (notifications fills inboxes from it); raises PublishFailed."""
        ...

    async def send(self, broadcast: Broadcast) -> None:
        """The live `admin_broadcast` frame to every socket; each chat replica answers with a
        receipt."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(slots=True)
class DashboardDeps:
    """Everything a use case may touch; `bootstrap.wire` builds it, tests pass fakes."""

    state: DashboardState
    stats: StatsStore
    instances: InstanceStore
    broadcasts: BroadcastStore
    feed: DeltaFeed
    channel: BroadcastChannel
    clock: Clock
    # 0: every change becomes a delta at once; otherwise the ticker flushes this often.
    delta_interval_secs: float = 0.5
    broadcast_sender: str = "Administrador"
    broadcast_max_chars: int = 4000
    receipt_window_secs: float = 1.0
    health_persist_secs: float = 60.0
    instance_replaced_secs: float = 600.0
    source: str = "tertulia/dashboard"
    # Broadcasts waiting for their receipts: set when every expected replica answered.
    receipt_waits: dict[str, asyncio.Event] = field(default_factory=dict)
    # When each instance's heartbeat last reached the database.
    instance_saved_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
