"""The in-memory bot-token and hook stores keep the real stores' promises (the same checks
run against SQLite and PostgreSQL in `tests/integration/chat/test_bots.py`)."""

from __future__ import annotations

import pytest

from tests.unit.chat.test_fakes import FakeSubject

pytest.register_assert_rewrite("tests.unit.chat.bots_contract")
from tests.unit.chat.bots_contract import BotsContract  # noqa: E402


class TestInMemoryBots(BotsContract):
    @pytest.fixture
    def subject(self) -> FakeSubject:
        return FakeSubject()
