"""The chat store contract against the real adapters on a SQLite file: the SQLAlchemy
stores behind `SqlaChatUnitOfWork` and the hot path's `SqlitePostLog` — the checks the
in-memory fakes pass in `tests/unit/chat/test_fakes.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from services.chat.adapters.outbound.sqla_store import SqlaChatTx, SqlaChatUnitOfWork
from services.chat.adapters.outbound.sqlite_posts import SqlitePostLog
from services.chat.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade

pytest.register_assert_rewrite("tests.unit.chat.store_contract")
from tests.unit.chat.store_contract import StoreContract  # noqa: E402

pytestmark = pytest.mark.integration


class SqliteSubject:
    """The real unit of work, counting how its writes end (the fake counts them itself)."""

    def __init__(self, db: Database, posts: SqlitePostLog) -> None:
        self._uow = SqlaChatUnitOfWork(db)
        self.uow = self
        self.posts = posts
        self.commits = 0
        self.rollbacks = 0

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlaChatTx]:
        try:
            async with self._uow.write() as tx:
                yield tx
        except BaseException:
            self.rollbacks += 1
            raise
        self.commits += 1

    def read(self) -> AbstractAsyncContextManager[SqlaChatTx]:
        return self._uow.read()


class TestSqliteStores(StoreContract):
    @pytest.fixture
    async def subject(self, tmp_path: Path) -> AsyncIterator[SqliteSubject]:
        path = tmp_path / "chat.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.prepare()
        await upgrade(db, SCHEMA)  # a fresh file: the schema as every start makes it
        posts = SqlitePostLog(str(path), db, source="tertulia/chat", committed=lambda rows: None)
        await posts.start()
        try:
            yield SqliteSubject(db, posts)
        finally:
            await posts.close()
            await db.dispose()
