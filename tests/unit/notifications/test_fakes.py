"""The in-memory notifications stores keep the promises of the SQLAlchemy ones (the same
checks run against a real SQLite file in `tests/integration/notifications/test_fakes.py`)."""

from __future__ import annotations

import pytest

from shared.outbox import outbox_row
from tests.unit.notifications.fakes import T0, InMemoryNotificationsUnitOfWork
from tests.unit.notifications.store_contract import StoreContract


class FakeSubject:
    def __init__(self) -> None:
        self.uow = InMemoryNotificationsUnitOfWork()

    async def outbox_subjects(self) -> list[str]:
        return [outbox_row(e, source=self.uow.source, now=T0).subject for e in self.uow.events]

    async def dead_letter_ids(self) -> list[str]:
        return [event_id for event_id, *_ in self.uow.state.dead_letters]


class TestInMemoryStores(StoreContract):
    @pytest.fixture
    def subject(self) -> FakeSubject:
        return FakeSubject()


async def test_reads_cannot_write() -> None:
    uow = InMemoryNotificationsUnitOfWork()
    with pytest.raises(AssertionError):
        async with uow.read() as tx:
            await tx.processed.claim("e-1", T0)
