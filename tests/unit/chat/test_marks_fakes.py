"""The in-memory reaction, pin and edit-log stores keep the real stores' promises (the same
checks run against SQLite in `tests/integration/chat/test_marks_stores.py`)."""

from __future__ import annotations

import pytest

from tests.unit.chat.test_fakes import FakeSubject

pytest.register_assert_rewrite("tests.unit.chat.marks_contract")
from tests.unit.chat.marks_contract import MarksContract  # noqa: E402


class TestInMemoryMarks(MarksContract):
    @pytest.fixture
    def subject(self) -> FakeSubject:
        return FakeSubject()
