"""The presence store contracts against the real adapters: `NatsKvConnectionStore` on a
JetStream bucket of the session's nats-server (waiting for its TTL for real) and
`SqlaPresenceRecords` on a SQLite file — the checks the in-memory fakes pass in
`tests/unit/presence/test_fakes.py`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.presence.adapters.outbound.nats_kv_store import NatsKvConnectionStore
from services.presence.adapters.outbound.sqla_records import SqlaPresenceRecords
from services.presence.domain import Connection
from services.presence.migrations import SCHEMA
from shared.bus.nats import NatsEventBus
from shared.db import Database
from shared.migrations import upgrade

pytest.register_assert_rewrite("tests.unit.presence.store_contract")
from tests.unit.presence.store_contract import (  # noqa: E402
    TTL_SECS,
    ConnectionStoreContract,
    PresenceRecordsContract,
)

pytestmark = pytest.mark.integration
POLL_SECS = 0.05


class KvConnectionStore:
    def __init__(self, store: NatsKvConnectionStore) -> None:
        self.store = store

    async def let_pass(self, secs: float) -> None:
        await asyncio.sleep(secs)

    async def once_forgotten(self, connection_id: str) -> list[Connection]:
        async with asyncio.timeout(10 * TTL_SECS):
            while True:
                stored = await self.store.load_all()
                if all(c.connection_id != connection_id for c in stored):
                    return stored
                await asyncio.sleep(POLL_SECS)


class TestNatsKvConnectionStore(ConnectionStoreContract):
    @pytest.fixture
    async def subject(self, nats_url: str) -> AsyncIterator[KvConnectionStore]:
        bus = NatsEventBus(nats_url, name="presence-contract-tests")
        await bus.connect()
        bucket = f"PRESENCE_T{uuid.uuid4().hex[:10]}"  # the server is the session's
        store = NatsKvConnectionStore(bus, bucket, ttl_secs=TTL_SECS)
        await store.ensure_bucket()
        try:
            yield KvConnectionStore(store)
        finally:
            await bus.jetstream.delete_key_value(bucket)
            await bus.close()


class SqliteRecords:
    def __init__(self, db: Database) -> None:
        self.records = SqlaPresenceRecords(db)


class TestSqlaPresenceRecordsOnSqlite(PresenceRecordsContract):
    @pytest.fixture
    async def subject(self, tmp_path: Path) -> AsyncIterator[SqliteRecords]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'presence.db'}")
        await db.prepare()
        await upgrade(db, SCHEMA)  # a fresh file: the schema as every start makes it
        try:
            yield SqliteRecords(db)
        finally:
            await db.dispose()
