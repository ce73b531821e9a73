"""What the notifications stores promise, checked the same way against the in-memory fakes
(`tests/unit/notifications/test_fakes.py`) and the SQLAlchemy adapter on a real SQLite file
(`tests/integration/notifications/test_fakes.py`), so the fakes the use-case tests run on
cannot drift from the database the service runs on.

A subclass provides one fixture, `subject`: a unit of work plus two ways to look at what
the ports cannot show (the committed outbox and dead letters)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import pytest

from services.notifications.domain import (
    Decision,
    KnownRoom,
    KnownUser,
    Member,
    NewNotification,
    Notification,
)
from services.notifications.ports import NotificationsTx, NotificationsUnitOfWork
from shared.contracts import NotificationRead, UserDeleted
from tests.unit.notifications.fakes import T0


class StoreSubject(Protocol):
    uow: NotificationsUnitOfWork

    async def outbox_subjects(self) -> list[str]:
        """The subjects of the committed outbox events, oldest first."""
        ...

    async def dead_letter_ids(self) -> list[str]:
        ...


ROOM, OTHER_ROOM = 7, 8
ALICE, BOB, CAROL = 1, 2, 3


def message(user_id: int, message_id: int, seq: int, *, room_id: int = ROOM,
            at: datetime = T0) -> NewNotification:
    return NewNotification(user_id=user_id, kind="message", title="New message from x",
                           content=f"text {message_id}",
                           data={"type": "chat_message", "room_id": room_id,
                                 "message_id": message_id, "kind": "message"},
                           created_at=at, room_id=room_id, message_id=message_id, seq=seq)


def broadcast(user_id: int, broadcast_id: str, at: datetime = T0) -> NewNotification:
    return NewNotification(user_id=user_id, kind="broadcast", title="Announcement from x",
                           content="hear ye", data={"type": "admin_broadcast",
                                                    "broadcast_id": broadcast_id},
                           created_at=at, broadcast_id=broadcast_id)


def decision(user_id: int, message_id: int, *, at: datetime = T0,
             suppressed: Any = None) -> Decision:
    return Decision(user_id, message_id, ROOM, message_id, "message", suppressed, at,
                    None if suppressed else f"ntf_{message_id}")


def gone(user_id: int) -> UserDeleted:
    return UserDeleted(user_id=user_id, username=f"user{user_id}", deleted_at=T0)


def pks(notifications: Sequence[Notification]) -> list[int]:
    return [n.pk for n in notifications]


async def add_all(tx: NotificationsTx, *new: NewNotification) -> list[Notification]:
    return [await tx.inbox.add(n) for n in new]


class StoreContract:
    # --- the unit of work ---------------------------------------------------------------

    async def test_a_write_commits_and_a_failed_one_leaves_nothing_behind(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.users.put(KnownUser(ALICE, "alice"))
            await tx.outbox.add(gone(99), T0)
        with pytest.raises(RuntimeError):
            async with subject.uow.write() as tx:
                await tx.users.put(KnownUser(BOB, "bob"))
                await tx.inbox.add(message(BOB, 100, 1))
                await tx.processed.claim("e-1", T0)
                await tx.outbox.add(gone(98), T0)
                raise RuntimeError("boom")
        async with subject.uow.read() as tx:
            assert await tx.users.ids() == [ALICE]
            assert await tx.inbox.unread_count(BOB) == 0
        async with subject.uow.write() as tx:
            assert await tx.processed.claim("e-1", T0) is True  # never recorded
        assert await subject.outbox_subjects() == ["events.chat.user.deleted"]

    # --- the projection of chat ---------------------------------------------------------

    async def test_users_are_upserted_listed_in_id_order_and_removed(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            for user_id, name in ((CAROL, "carol"), (ALICE, "alice"), (BOB, "bob")):
                await tx.users.put(KnownUser(user_id, name))
            await tx.users.put(KnownUser(ALICE, "alicia", is_admin=True))
            await tx.users.remove(CAROL)
            await tx.users.remove(404)  # unknown: nothing happens
        async with subject.uow.read() as tx:
            assert await tx.users.ids() == [ALICE, BOB]
            assert await tx.users.get(ALICE) == KnownUser(ALICE, "alicia", True)
            assert await tx.users.get(CAROL) is None

    async def test_room_names_are_upserted_and_only_known_rooms_named(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.rooms.put(KnownRoom(ROOM, "general", False))
            await tx.rooms.put(KnownRoom(ROOM, "lobby", True))
            await tx.rooms.put(KnownRoom(OTHER_ROOM, "random", False))
        async with subject.uow.read() as tx:
            assert await tx.rooms.names([ROOM, 404]) == {ROOM: "lobby"}
            assert await tx.rooms.names([]) == {}

    async def test_a_member_put_again_keeps_its_read_marker_which_only_moves_forward(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.members.put(Member(ROOM, BOB, "bob", "member"))
            await tx.members.put(Member(ROOM, ALICE, "alice", "admin"))
            await tx.members.put(Member(OTHER_ROOM, BOB, "bob", "member"))
            await tx.members.advance_read(ROOM, BOB, 5)
            await tx.members.advance_read(ROOM, BOB, 3)
            await tx.members.advance_read(ROOM, CAROL, 9)  # not a member: nothing
            await tx.members.put(Member(ROOM, BOB, "robert", "moderator", read_seq=0))
        async with subject.uow.read() as tx:
            assert await tx.members.of_room(ROOM) == [
                Member(ROOM, ALICE, "alice", "admin", 0),
                Member(ROOM, BOB, "robert", "moderator", 5)]
            assert await tx.members.rooms_of(BOB) == [ROOM, OTHER_ROOM]
        async with subject.uow.write() as tx:
            await tx.members.remove(ROOM, BOB)
            await tx.members.remove(ROOM, CAROL)
            assert [m.user_id for m in await tx.members.of_room(ROOM)] == [ALICE]
            assert await tx.members.rooms_of(BOB) == [OTHER_ROOM]

    async def test_the_default_level_is_no_entry_at_all(self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.preferences.put(BOB, ROOM, "all", T0)
            await tx.preferences.put(BOB, OTHER_ROOM, "nothing", T0)
            await tx.preferences.put(ALICE, ROOM, "nothing", T0)
            await tx.preferences.put(ALICE, ROOM, "mentions", T0)  # back to the default
            await tx.preferences.put(BOB, ROOM, "nothing", T0 + timedelta(seconds=1))
        async with subject.uow.read() as tx:
            assert await tx.preferences.of_user(BOB) == {ROOM: "nothing", OTHER_ROOM: "nothing"}
            assert await tx.preferences.of_user(ALICE) == {}
            assert await tx.preferences.in_room(ROOM) == {BOB: "nothing"}

    # --- the inbox ----------------------------------------------------------------------

    async def test_an_added_notification_reads_back_as_it_was_returned(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            added = await tx.inbox.add(message(BOB, 100, 4))
            told = await tx.inbox.add(broadcast(BOB, "b-1"))
        async with subject.uow.read() as tx:
            assert await tx.inbox.get(BOB, added.pk) == added
            assert await tx.inbox.get(BOB, told.pk) == told
            assert await tx.inbox.get(ALICE, added.pk) is None  # someone else's
            assert await tx.inbox.get(BOB, told.pk + 1000) is None
        assert (added.read, added.read_at, added.data["message_id"]) == (False, None, 100)
        assert told.pk > added.pk and told.room_id is None and told.broadcast_id == "b-1"

    async def test_one_notification_per_user_and_message_or_broadcast(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await add_all(tx, message(BOB, 100, 1), message(ALICE, 100, 1),
                          broadcast(BOB, "b-1"), broadcast(ALICE, "b-1"))
        for again in (message(BOB, 100, 1), broadcast(BOB, "b-1")):
            with pytest.raises(Exception):  # noqa: B017 - each store its own integrity error
                async with subject.uow.write() as tx:
                    await tx.inbox.add(again)

    async def test_ids_of_deleted_notifications_are_never_handed_out_again(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            first, last = await add_all(tx, message(BOB, 100, 1), message(BOB, 101, 2))
            await tx.changes.remove_user(BOB)
        async with subject.uow.write() as tx:
            again = await tx.inbox.add(message(BOB, 100, 1))
        assert again.pk > last.pk > first.pk

    async def test_pages_are_newest_first_and_count_only_unread(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            one, two, three, four = await add_all(tx, *(message(BOB, 100 + n, n)
                                                        for n in range(1, 5)))
            await tx.inbox.add(message(ALICE, 101, 1))
            await tx.changes.mark_read(BOB, [two.pk], T0)
        async with subject.uow.read() as tx:
            page = tx.inbox.page
            assert pks(await page(BOB, unread_only=False, before_pk=None, limit=10)) == [
                four.pk, three.pk, two.pk, one.pk]
            assert pks(await page(BOB, unread_only=False, before_pk=three.pk, limit=1)) == [
                two.pk]
            assert pks(await page(BOB, unread_only=True, before_pk=four.pk, limit=10)) == [
                three.pk, one.pk]
            assert await tx.inbox.unread_count(BOB) == 3
            assert await tx.inbox.unread_count(CAROL) == 0

    async def test_marking_read_returns_only_what_changed_oldest_first(
            self, subject: StoreSubject) -> None:
        later = T0 + timedelta(minutes=5)
        async with subject.uow.write() as tx:
            one, two, three = await add_all(tx, *(message(BOB, 100 + n, n)
                                                  for n in range(1, 4)))
            theirs = await tx.inbox.add(message(ALICE, 101, 1))
            first = await tx.changes.mark_read(BOB, [three.pk, one.pk, theirs.pk], T0)
            again = await tx.changes.mark_read(BOB, [one.pk], later)
            rest = await tx.changes.mark_read(BOB, None, later)
        assert pks(first) == [one.pk, three.pk]
        assert all(n.read and n.read_at == T0 for n in first)
        assert again == []
        assert [(n.pk, n.read_at) for n in rest] == [(two.pk, later)]
        async with subject.uow.read() as tx:
            assert (await tx.inbox.get(BOB, one.pk)).read_at == T0  # type: ignore[union-attr]
            assert (await tx.inbox.get(ALICE, theirs.pk)).read is False  # type: ignore[union-attr]

    async def test_reading_a_room_marks_its_message_notifications_up_to_the_seq(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            upto, beyond, elsewhere, told, _theirs = await add_all(
                tx, message(BOB, 100, 3), message(BOB, 101, 4),
                message(BOB, 102, 1, room_id=OTHER_ROOM), broadcast(BOB, "b-1"),
                message(ALICE, 100, 3))
            marked = await tx.changes.mark_room_read(BOB, ROOM, 3, T0)
            assert await tx.changes.mark_room_read(BOB, ROOM, 3, T0) == []
        assert [(n.pk, n.read, n.read_at) for n in marked] == [(upto.pk, True, T0)]
        async with subject.uow.read() as tx:
            unread = await tx.inbox.page(BOB, unread_only=True, before_pk=None, limit=10)
        assert pks(unread) == [told.pk, elsewhere.pk, beyond.pk]

    async def test_an_edit_rewrites_unread_text_and_a_deletion_removes_every_copy(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            for_bob, for_carol, other = await add_all(
                tx, message(BOB, 100, 1), message(CAROL, 100, 1), message(BOB, 101, 2))
            await tx.changes.mark_read(CAROL, None, T0)
            assert await tx.changes.rewrite_pending(100, "edited") == 1
            bob, carol = await tx.inbox.get(BOB, for_bob.pk), await tx.inbox.get(CAROL,
                                                                                  for_carol.pk)
            assert (bob.content, carol.content) == ("edited", "text 100")  # type: ignore[union-attr]
            assert await tx.changes.remove_message(100) == 2
            assert await tx.changes.remove_message(100) == 0
            assert await tx.changes.remove_user(BOB) == 1
        async with subject.uow.read() as tx:
            assert await tx.inbox.get(BOB, other.pk) is None
            assert await tx.inbox.unread_count(BOB) == 0

    async def test_purging_takes_only_old_read_notifications(
            self, subject: StoreSubject) -> None:
        cutoff = T0 + timedelta(days=30)
        async with subject.uow.write() as tx:
            old_read, _old_unread, new_read, carols = await add_all(
                tx, message(BOB, 100, 1), message(BOB, 101, 2),
                message(BOB, 102, 3, at=cutoff), message(CAROL, 100, 1))
            await tx.changes.mark_read(BOB, [old_read.pk, new_read.pk], cutoff)
            await tx.changes.mark_read(CAROL, [carols.pk], cutoff)
        async with subject.uow.write() as tx:
            # Bob's first and Carol's: read, and created before the cutoff.
            assert await tx.changes.purge_read(cutoff) == (2, 2)
            assert await tx.changes.purge_read(cutoff) == (0, 0)
            left = await tx.inbox.page(BOB, unread_only=False, before_pk=None, limit=10)
        assert [n.message_id for n in left] == [102, 101]

    # --- decisions and delivery bookkeeping ---------------------------------------------

    async def test_decisions_are_newest_first_per_user_and_unique_per_message(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.decisions.add([decision(BOB, 100), decision(CAROL, 100, suppressed="muted")])
            await tx.decisions.add([decision(BOB, 101, at=T0 + timedelta(days=2))])
            await tx.decisions.add([])
            assert await tx.decisions.about_message(100) is True
            assert await tx.decisions.about_message(102) is False
            assert await tx.decisions.of_user(BOB, None, 10) == [
                decision(BOB, 101, at=T0 + timedelta(days=2)), decision(BOB, 100)]
            assert await tx.decisions.of_user(BOB, None, 1) == [
                decision(BOB, 101, at=T0 + timedelta(days=2))]
            assert await tx.decisions.of_user(CAROL, 100, 10) == [
                decision(CAROL, 100, suppressed="muted")]
            assert await tx.decisions.of_user(CAROL, 101, 10) == []
        with pytest.raises(Exception):  # noqa: B017 - each store its own integrity error
            async with subject.uow.write() as tx:
                await tx.decisions.add([decision(BOB, 100)])
        async with subject.uow.write() as tx:
            assert await tx.decisions.purge(T0 + timedelta(days=1)) == 2
            assert [d.message_id for d in await tx.decisions.of_user(BOB, None, 10)] == [101]

    async def test_an_event_is_claimed_once_until_purged(self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            assert await tx.processed.claim("e-1", T0) is True
            assert await tx.processed.claim("e-1", T0 + timedelta(days=9)) is False
            assert await tx.processed.claim("e-2", T0 + timedelta(days=2)) is True
            assert await tx.processed.purge(T0 + timedelta(days=1)) == 1
            assert await tx.processed.claim("e-1", T0) is True
            assert await tx.processed.claim("e-2", T0) is False

    async def test_dead_letters_and_outbox_events_are_kept_in_order(
            self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.dead_letters.add("e-9", "tertulia.chat.message.created.v1", b"{}",
                                      "boom", T0)
            await tx.dead_letters.add("e-3", "tertulia.chat.message.created.v1", b"\x00",
                                      "again", T0)
            await tx.outbox.add(NotificationRead(
                notification_id="ntf_1", user_id=BOB, reason="message", room_id=ROOM,
                message_id=100, read_at=T0), T0)
            await tx.outbox.add(gone(BOB), T0)
        assert await subject.dead_letter_ids() == ["e-9", "e-3"]
        assert await subject.outbox_subjects() == ["events.notifications.read",
                                                   "events.chat.user.deleted"]

    async def test_thread_participants_are_kept_once_each(self, subject: StoreSubject) -> None:
        async with subject.uow.write() as tx:
            await tx.threads.add(100, {ALICE, BOB})
            await tx.threads.add(100, {BOB, CAROL})
            await tx.threads.add(101, set())
            await tx.threads.add(102, {CAROL})
        async with subject.uow.read() as tx:
            assert await tx.threads.of_thread(100) == {ALICE, BOB, CAROL}
            assert await tx.threads.of_thread(101) == set()
            assert await tx.threads.of_thread(102) == {CAROL}
