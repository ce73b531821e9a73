"""The reaction, pin and edit-log store contract against the SQLAlchemy stores on a SQLite
file: the checks the in-memory fakes pass in `tests/unit/chat/test_marks_fakes.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.chat.adapters.outbound.sqlite_posts import SqlitePostLog
from services.chat.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade
from tests.integration.chat.test_fakes import SqliteSubject

pytest.register_assert_rewrite("tests.unit.chat.marks_contract")
from tests.unit.chat.marks_contract import MarksContract  # noqa: E402

pytestmark = pytest.mark.integration


class TestSqliteMarks(MarksContract):
    @pytest.fixture
    async def subject(self, tmp_path: Path) -> AsyncIterator[SqliteSubject]:
        path = tmp_path / "chat.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.prepare()
        await upgrade(db, SCHEMA)
        posts = SqlitePostLog(str(path), db, source="tertulia/chat", committed=lambda rows: None)
        await posts.start()
        try:
            yield SqliteSubject(db, posts)
        finally:
            await posts.close()
            await db.dispose()
