"""The unit of work tells the relay what each write committed: the outbox rows go to
`committed` right after the commit, in commit order, and nothing after a rollback. A use
case that writes events does nothing more for them to leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notifications.adapters.outbound.sqla_store import SqlaNotificationsUnitOfWork
from services.notifications.adapters.outbound.sqla_tables import outbox
from services.notifications.migrations import SCHEMA
from shared.contracts import NotificationRead
from shared.db import Database
from shared.migrations import upgrade
from shared.outbox import OutboxRow

pytestmark = pytest.mark.integration
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}")
    await database.prepare()
    await upgrade(database, SCHEMA)
    yield database
    await database.dispose()


def read_event(n: int) -> NotificationRead:
    return NotificationRead(notification_id=f"n{n}", user_id=n, reason="mention",
                            read_at=NOW)


async def test_each_commit_hands_its_rows_over_in_commit_order(db: Database) -> None:
    handed: list[list[OutboxRow]] = []
    uow = SqlaNotificationsUnitOfWork(db, committed=handed.append)
    async with uow.write() as tx:
        await tx.outbox.add(read_event(1), NOW)
        await tx.outbox.add(read_event(2), NOW)
        assert handed == []  # not before the commit
    async with uow.write():
        pass  # wrote no event: nothing to hand over
    async with uow.write() as tx:
        await tx.outbox.add(read_event(3), NOW)
    with pytest.raises(RuntimeError):
        async with uow.write() as tx:
            await tx.outbox.add(read_event(4), NOW)
            raise RuntimeError("rolled back")

    assert [[row.subject for row in rows] for rows in handed] == [
        ["events.notifications.read"] * 2, ["events.notifications.read"]]
    stored = [row.event_id for rows in handed for row in rows]
    async with db.read() as conn:
        in_table = list((await conn.execute(select(outbox.c.event_id)
                                            .order_by(outbox.c.id))).scalars())
    assert in_table == stored  # what was handed over is what committed, in that order
