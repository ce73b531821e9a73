"""The interfaces the presence core needs; adapters implement them (NATS KV, SQLAlchemy, NATS)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.presence.domain import (
    Board,
    Connection,
    ManualStatus,
    Ownership,
    PresenceRecord,
    PresenceView,
    Status,
)
from shared.contracts import PresenceChanged


class ConnectionStore(Protocol):
    """One entry per open connection, forgotten by itself after the TTL unless written again.

    Best effort: a failed write is logged by the adapter and repeated by the next heartbeat;
    the process's own view stays the authority while it runs."""

    async def prepare(self) -> None:
        """Whatever the store needs before the first read (the KV bucket exists)."""

    async def save(self, connections: Sequence[Connection]) -> None: ...
    async def remove(self, connections: Sequence[Connection]) -> None: ...
    async def load_all(self) -> list[Connection]: ...


class PresenceRecords(Protocol):
    """The service's database: per user the last announced status and last seen."""

    async def save(self, records: Sequence[PresenceRecord]) -> None: ...
    async def get(self, user_ids: Sequence[int]) -> dict[int, PresenceRecord]: ...
    async def not_offline(self) -> list[PresenceRecord]: ...
    async def count_by_status(self) -> dict[Status, int]: ...


class PresenceEvents(Protocol):
    async def announce(self, change: PresenceChanged, at: datetime) -> None:
        """Queue `events.presence.changed`; delivery (and retrying it) is the adapter's job."""
        ...


class Peers(Protocol):
    """The other presence instances, asked about the users they compute (several instances
    only). Each answers from its own board; None means it did not answer in time."""

    async def views(self, instance: str, user_ids: list[int]) -> list[PresenceView] | None:
        ...
    async def present(self, instance: str) -> list[PresenceView] | None: ...
    async def in_room(self, instance: str, room_id: int) -> list[PresenceView] | None: ...
    async def counts(self, instance: str) -> dict[str, int] | None: ...
    async def set_status(self, instance: str, user_id: int, status: ManualStatus,
                         ) -> PresenceView | None:
        """The view after the change; None also when that instance no longer owns them."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Scheduler(Protocol):
    def wake_at(self, when: datetime | None) -> None:
        """Run `tick` at `when` (the board's next deadline; None: nothing is due)."""
        ...


@dataclass(slots=True)
class PresenceDeps:
    """Everything a use case may touch; `bootstrap.wire` builds it, tests pass fakes."""

    board: Board
    store: ConnectionStore
    records: PresenceRecords
    events: PresenceEvents
    clock: Clock
    scheduler: Scheduler
    page_max: int = 200
    # Which users this board computes: everyone, unless PRESENCE_PARTITIONS splits them.
    ownership: Ownership = field(default_factory=Ownership)
    peers: Peers | None = None
    # One step at a time: the live subscription, the timers and HTTP all change the board.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
