"""The fakes keep the promises of the real stores the use case tests rely on (the same
checks run against SQLite in `tests/integration/chat/test_fakes.py`)."""

from __future__ import annotations

import pytest

from tests.unit.chat.fakes import InMemoryChatUnitOfWork, InMemoryPostLog

pytest.register_assert_rewrite("tests.unit.chat.store_contract")
from tests.unit.chat.store_contract import StoreContract  # noqa: E402


class FakeSubject:
    def __init__(self) -> None:
        self.uow = InMemoryChatUnitOfWork()
        self.posts = InMemoryPostLog(self.uow)

    @property
    def commits(self) -> int:
        return self.uow.commits

    @property
    def rollbacks(self) -> int:
        return self.uow.rollbacks


class TestInMemoryStores(StoreContract):
    @pytest.fixture
    def subject(self) -> FakeSubject:
        return FakeSubject()


async def test_reads_cannot_write() -> None:
    uow = InMemoryChatUnitOfWork()
    with pytest.raises(AssertionError):
        async with uow.read() as tx:
            await tx.members.set_read_seq(1, 2, 3)
