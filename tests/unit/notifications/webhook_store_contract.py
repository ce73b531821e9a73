"""What the webhook store promises, checked against the in-memory fake
(`tests/unit/notifications/test_webhook_use_cases.py`) and the SQLAlchemy adapter on
SQLite and PostgreSQL (`tests/integration/notifications/test_webhook_store.py`). A
subclass provides `uow`, a fixture: a notifications unit of work on an empty store."""

from __future__ import annotations

from datetime import timedelta

from services.notifications.domain.webhooks import NewWebhook, WebhookStatus
from services.notifications.ports import NotificationsUnitOfWork
from tests.unit.notifications.fakes import T0


def new(url: str = "https://a.example/in") -> NewWebhook:
    return NewWebhook(url=url, room_ids=(3, 1), events=("message.created", "member.joined"),
                      secret="whsec_s", created_by=7, created_at=T0)


class WebhookStoreContract:
    async def test_webhooks_are_stored_listed_and_removed(
            self, uow: NotificationsUnitOfWork) -> None:
        async with uow.write() as tx:
            first = await tx.webhooks.add(new())
            second = await tx.webhooks.add(new("https://b.example/"))
        assert second.id > first.id
        async with uow.read() as tx:
            listed = await tx.webhooks.all()
            assert [w.id for w in listed] == [first.id, second.id]
            got = await tx.webhooks.get(first.id)
        assert got == first
        assert (got.room_ids, got.events, got.secret, got.created_at, got.status) == (
            (3, 1), ("message.created", "member.joined"), "whsec_s", T0, WebhookStatus())
        async with uow.write() as tx:
            assert await tx.webhooks.remove(first.id)
            assert not await tx.webhooks.remove(first.id)
        async with uow.write() as tx:
            third = await tx.webhooks.add(new())
        assert third.id > second.id  # a removed webhook's id is never handed out again
        async with uow.read() as tx:
            assert await tx.webhooks.get(first.id) is None

    async def test_attempts_are_counted(self, uow: NotificationsUnitOfWork) -> None:
        async with uow.write() as tx:
            hook = await tx.webhooks.add(new())
            later = T0 + timedelta(seconds=5)
            await tx.webhooks.record(hook.id, "retry", T0, "HTTP 503", False)
            await tx.webhooks.record(hook.id, "delivered", later, None, False)
            await tx.webhooks.record(hook.id, "give_up", later, "HTTP 410", True)
            await tx.webhooks.record(hook.id + 100, "delivered", later, None, False)  # gone
        async with uow.read() as tx:
            got = await tx.webhooks.get(hook.id)
        assert got is not None and got.status == WebhookStatus(
            delivered=1, failed_attempts=2, dead_lettered=1, last_success_at=later,
            last_failure_at=later, last_error="HTTP 410")
