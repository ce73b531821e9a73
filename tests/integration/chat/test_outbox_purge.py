"""The outbox is purged: rows JetStream acknowledged before the retention window go, in
bounded batches; unsent rows and recent ones stay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.sqla_tables import outbox
from services.chat.migrations import SCHEMA
from shared.bus.memory import InMemoryEventBus
from shared.db import Database
from shared.migrations import upgrade
from shared.outbox import OutboxRelay
from tests.integration.chat.harness import chat_settings, replicas, sign_up

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=2)
CUTOFF = NOW - timedelta(days=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await db.prepare()
    await upgrade(db, SCHEMA)
    yield db
    await db.dispose()


async def _add(db: Database, prefix: str, count: int, *, created_at: datetime,
               sent_at: datetime | None) -> None:
    async with db.write() as conn:
        await conn.execute(insert(outbox), [
            {"event_id": f"{prefix}-{n}", "subject": "events.chat.test", "payload": b"{}",
             "created_at": created_at, "sent_at": sent_at} for n in range(count)])


async def _kinds(db: Database) -> dict[str, int]:
    prefix = func.substr(outbox.c.event_id, 1, 3)
    async with db.read() as conn:
        rows = (await conn.execute(select(prefix, func.count()).group_by(prefix))).all()
    return {str(kind): int(count) for kind, count in rows}


def _relay(db: Database) -> OutboxRelay:
    metrics = ChatMetrics()
    return OutboxRelay(db, InMemoryEventBus(), outbox, published=metrics.outbox_published,
                       pending=metrics.outbox_pending)


async def test_old_sent_rows_go_in_batches_and_unsent_or_recent_rows_stay(
        database: Database) -> None:
    # Interleaved, as a day of traffic with an outage in it leaves them.
    await _add(database, "old", 1500, created_at=OLD, sent_at=OLD + timedelta(seconds=1))
    await _add(database, "uns", 7, created_at=OLD, sent_at=None)
    await _add(database, "ol2", 1000, created_at=OLD, sent_at=OLD + timedelta(seconds=2))
    await _add(database, "new", 20, created_at=NOW, sent_at=NOW)
    await _add(database, "nun", 3, created_at=NOW, sent_at=None)
    relay = _relay(database)

    # One batch is at most `batch` rows: a writer on the hot path waits for no more.
    assert await relay.purge_sent(CUTOFF, batch=1000, max_batches=1) == 1000
    kinds = await _kinds(database)
    assert kinds.get("old", 0) + kinds.get("ol2", 0) == 1500

    assert await relay.purge_sent(CUTOFF, batch=1000) == 1500
    assert await _kinds(database) == {"uns": 7, "new": 20, "nun": 3}
    assert await relay.purge_sent(CUTOFF, batch=1000) == 0


async def _unsent(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )).scalar_one())


async def test_a_running_chat_replica_purges_its_outbox_in_the_background(
        tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, outbox_retention_secs=3600,
                             outbox_purge_interval_secs=0.2)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        for n in range(5):
            assert (await alice.post(room["id"], f"m{n}")).status_code == 201
        db = replica.chat.db
        # Published, and marked sent in the table (the relay marks in the background): a
        # mark landing after the ageing below would make those rows recent again.
        async with asyncio.timeout(20):
            while await replica.chat.relay.pending() or await _unsent(db):
                await asyncio.sleep(0.1)
        async with db.read() as conn:
            ids = sorted((await conn.execute(select(outbox.c.id))).scalars())
        aged, kept = ids[: len(ids) // 2], ids[len(ids) // 2:]
        async with db.write() as conn:  # as if written and acknowledged hours ago
            await conn.execute(update(outbox).where(outbox.c.id.in_(aged)).values(
                created_at=NOW - timedelta(hours=3), sent_at=NOW - timedelta(hours=2)))
        async with asyncio.timeout(20):
            while True:
                async with db.read() as conn:
                    left = sorted((await conn.execute(select(outbox.c.id))).scalars())
                if left != ids:
                    break
                await asyncio.sleep(0.1)
        assert left == kept
