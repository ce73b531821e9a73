"""The webhook store contract (`tests/unit/notifications/webhook_store_contract.py`) on the
SQLAlchemy adapter, on a real SQLite file and on PostgreSQL, schema by the migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.notifications.adapters.outbound.sqla_store import SqlaNotificationsUnitOfWork
from services.notifications.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade

pytest.register_assert_rewrite("tests.unit.notifications.webhook_store_contract")
from tests.unit.notifications.webhook_store_contract import WebhookStoreContract  # noqa: E402

pytestmark = pytest.mark.integration


async def _uow(url: str) -> AsyncIterator[SqlaNotificationsUnitOfWork]:
    db = Database(url)
    await db.prepare()
    await upgrade(db, SCHEMA)
    try:
        yield SqlaNotificationsUnitOfWork(db)
    finally:
        await db.dispose()


class TestOnSqlite(WebhookStoreContract):
    @pytest.fixture
    async def uow(self, tmp_path: Path) -> AsyncIterator[SqlaNotificationsUnitOfWork]:
        async for made in _uow(f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"):
            yield made


@pytest.mark.postgres
class TestOnPostgres(WebhookStoreContract):
    @pytest.fixture
    async def uow(self, postgres_url: str) -> AsyncIterator[SqlaNotificationsUnitOfWork]:
        async for made in _uow(postgres_url):
            yield made
