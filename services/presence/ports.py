"""The interfaces the presence core needs; adapters implement them (NATS KV, SQLAlchemy, NATS)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.presence.domain import Board, Connection, PresenceRecord, Status
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
    # One step at a time: the live subscription, the timers and HTTP all change the board.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
