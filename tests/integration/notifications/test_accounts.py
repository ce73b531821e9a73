"""A deleted account is told nothing more: its inbox goes, later messages and broadcasts
leave it out; the other members go on as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contracts import MemberLeft, UserDeleted
from tests.integration.notifications.harness import (
    Feed,
    Keys,
    NotificationsService,
    eventually,
    inboxes,
)

pytestmark = pytest.mark.integration


async def test_a_deleted_account_gets_no_more_notifications_and_loses_its_inbox(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob, carol = await events.users("alice", "bob", "carol")
    room = await events.room([(alice, "member"), (bob, "member"), (carol, "member")])
    async with inboxes(service, keys, bob, carol) as (bob_inbox, carol_inbox):
        await events.post(room, alice, "hi @bob and @carol")
        await eventually(lambda: _count_is(bob_inbox, 1), what="bob notified")
        await eventually(lambda: _count_is(carol_inbox, 1), what="carol notified")

        # As chat writes a deletion: the account leaves each room, then is deleted.
        now = datetime.now(UTC)
        await events.publish(MemberLeft(room_id=room, user_id=bob.id, username=bob.username,
                                        reason="left", left_at=now))
        await events.publish(UserDeleted(user_id=bob.id, username=bob.username,
                                         deleted_at=now))
        await eventually(lambda: _count_is(bob_inbox, 0), what="bob's inbox emptied")

        await events.post(room, alice, "@bob are you there? @carol?")
        await events.broadcast("maintenance tonight", alice)
        await eventually(lambda: _count_is(carol_inbox, 3), what="carol told twice more")
        assert await bob_inbox.list() == []


async def _count_is(inbox: object, count: int) -> bool:
    return len(await inbox.list()) == count  # type: ignore[attr-defined]
