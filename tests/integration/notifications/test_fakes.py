"""The notifications store contract against the SQLAlchemy adapter on a real SQLite file:
the checks the in-memory fakes pass in `tests/unit/notifications/test_fakes.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.adapters.outbound.sqla_store import SqlaNotificationsUnitOfWork
from services.notifications.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade

pytest.register_assert_rewrite("tests.unit.notifications.store_contract")
from tests.unit.notifications.store_contract import StoreContract  # noqa: E402

pytestmark = pytest.mark.integration


class SqliteSubject:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.uow = SqlaNotificationsUnitOfWork(db)

    async def outbox_subjects(self) -> list[str]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(t.outbox.c.subject).order_by(t.outbox.c.id))
            return list(rows.scalars())

    async def dead_letter_ids(self) -> list[str]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(t.dead_letters.c.event_id)
                                      .order_by(t.dead_letters.c.pk))
            return list(rows.scalars())


class TestSqlaStoresOnSqlite(StoreContract):
    @pytest.fixture
    async def subject(self, tmp_path: Path) -> AsyncIterator[SqliteSubject]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}")
        await db.prepare()
        await upgrade(db, SCHEMA)  # a fresh file: the schema as every start makes it
        try:
            yield SqliteSubject(db)
        finally:
            await db.dispose()
