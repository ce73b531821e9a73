"""The in-memory presence stores keep the promises of the real ones (the same checks run
against NATS KV and SQLite in `tests/integration/presence/test_fakes.py`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.presence.domain import Connection
from tests.unit.presence.fakes import FixedClock, InMemoryConnectionStore, InMemoryPresenceRecords
from tests.unit.presence.store_contract import (
    TTL_SECS,
    ConnectionStoreContract,
    PresenceRecordsContract,
)

STEP = timedelta(seconds=0.05)


class FakeConnectionStore:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.store = InMemoryConnectionStore(self.clock, TTL_SECS)

    async def let_pass(self, secs: float) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=secs))

    async def once_forgotten(self, connection_id: str) -> list[Connection]:
        for _ in range(int(10 * TTL_SECS / STEP.total_seconds())):
            stored = await self.store.load_all()
            if all(c.connection_id != connection_id for c in stored):
                return stored
            self.clock.set(self.clock.now() + STEP)
        raise AssertionError(f"{connection_id} was never forgotten")


class TestInMemoryConnectionStore(ConnectionStoreContract):
    @pytest.fixture
    def subject(self) -> FakeConnectionStore:
        return FakeConnectionStore()


class FakeRecords:
    def __init__(self) -> None:
        self.records = InMemoryPresenceRecords()


class TestInMemoryPresenceRecords(PresenceRecordsContract):
    @pytest.fixture
    def subject(self) -> FakeRecords:
        return FakeRecords()
