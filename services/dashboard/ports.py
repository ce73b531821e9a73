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
    StorageRow,
    UserRecord,
)
from shared.contracts import BroadcastSent


class EventTx(Protocol):
    """One database transaction for one durable event."""

    async def claim(self, event_id: str, now: datetime, seq: int | None = None) -> bool:
        """Record the event as handled (by stream message `seq`); False if it already was."""
        ...

    async def claimed_by(self, event_id: str) -> int | None:
        """The stream sequence that counted a claimed event (None: not known)."""
        ...

    async def advance(self, seq: int) -> None:
        """The database has folded the stream up to `seq` (a lower one changes nothing)."""
        ...

    async def count(self, kind: str, key: str, minute: datetime, n: int) -> None: ...
    async def save_room(self, room: RoomRecord) -> None: ...
    async def save_user(self, user: UserRecord) -> None: ...
    async def save_storage(self, row: StorageRow) -> None:
        """A kind's storage totals as they are after this event (the whole row)."""
        ...


class StatsStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[EventTx]:
        """Commits when the block ends normally; rolls back on an exception."""
        ...

    async def load(self, since: datetime) -> tuple[list[CountRow], list[UserRecord],
                                                   list[RoomRecord], int, list[StorageRow]]:
        """Counters from `since` on, every known user and room, the stream sequence they
        reflect (`advance`) and the storage totals, read together."""
        ...

    async def advance(self, seq: int) -> None:
        """As `EventTx.advance`, alone (events that counted nothing move it too)."""
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
    async def get(self, broadcast_id: str) -> Broadcast | None:
        """One broadcast, whichever instance sent it."""
        ...

    async def delete(self, broadcast_id: str) -> None: ...
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


class FoldSignal:
    """Wakes whoever waits for the fold to move on; a fresh event per wait, so none misses
    one."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


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
    # The fold position last written by `save_position`.
    saved_position: int = 0
    # Set after each folded event (a resuming stream waits for a position it was shown).
    folded: FoldSignal = field(default_factory=lambda: FoldSignal())
    # When each instance's heartbeat last reached the database.
    instance_saved_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
