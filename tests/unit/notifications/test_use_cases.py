"""Notifications flows on fakes and a fixed clock: what each event leaves in the inbox, the
outbox and on open sockets, and what a user does with their inbox."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from services.notifications import use_cases
from services.notifications.domain import Invalid, NotFound
from services.notifications.ports import NotificationsDeps
from shared.contracts import (
    BroadcastSent,
    MemberJoined,
    MemberRead,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    NotificationCreated,
    NotificationRead,
    NotificationSuppressed,
    RoomCreated,
    UserDeleted,
    UserRegistered,
    UserViewing,
)
from tests.unit.notifications.fakes import (
    T0,
    FixedClock,
    InMemoryNotificationsUnitOfWork,
    RecordingLiveNotifier,
    make_deps,
)

ROOM = 7
ALICE, BOB, CAROL = 1, 2, 3
_event_ids = itertools.count(1)
_message_ids = itertools.count(100)


class World:
    """The notifications core on fakes, fed events as the chat service would send them."""

    def __init__(self, **overrides: Any) -> None:
        self.deps: NotificationsDeps = make_deps(**overrides)
        self.seq = 0

    @property
    def uow(self) -> InMemoryNotificationsUnitOfWork:
        assert isinstance(self.deps.uow, InMemoryNotificationsUnitOfWork)
        return self.deps.uow

    @property
    def live(self) -> RecordingLiveNotifier:
        assert isinstance(self.deps.live, RecordingLiveNotifier)
        return self.deps.live

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.deps.clock, FixedClock)
        return self.deps.clock

    async def apply(self, event: BaseModel, event_id: str | None = None,
                    age_secs: float = 0.0) -> use_cases.Applied:
        return await use_cases.apply_event(
            self.deps, event_id or f"e-{next(_event_ids)}", event,
            self.clock.now() - timedelta(seconds=age_secs))

    async def room_of(self, *members: tuple[int, str, str]) -> None:
        """Users (id, name, role) registered and members of ROOM."""
        await self.apply(RoomCreated(room_id=ROOM, name="general", is_private=False,
                                     created_by=ALICE, created_at=T0))
        for user_id, name, role in members:
            await self.apply(UserRegistered(user_id=user_id, username=name,
                                            registered_at=T0))
            await self.apply(MemberJoined(room_id=ROOM, user_id=user_id, username=name,
                                          role=role, joined_at=T0))  # type: ignore[arg-type]

    def message(self, sender: int, content: str, *mentions: str,
                message_type: str = "text") -> MessageCreated:
        self.seq += 1
        return MessageCreated(message_id=next(_message_ids), room_id=ROOM, seq=self.seq,
                              user_id=sender, username="alice", content=content,
                              mentions=list(mentions), created_at=self.clock.now(),
                              message_type=message_type)  # type: ignore[arg-type]

    async def inbox(self, user_id: int) -> list[tuple[str, str]]:
        page = await use_cases.list_inbox(self.deps, user_id)
        return [(n.kind, n.content) for n in page.notifications]


@pytest.fixture
async def world() -> World:
    """alice (room admin), bob and carol (members) in ROOM."""
    the_world = World()
    await the_world.room_of((ALICE, "alice", "admin"), (BOB, "bob", "member"),
                            (CAROL, "carol", "member"))
    return the_world


async def test_a_mention_notifies_once_and_says_so_everywhere(world: World) -> None:
    posted = world.message(ALICE, "hi @bob", "bob")
    applied = await world.apply(posted, "e-mention")
    again = await world.apply(posted, "e-mention")  # redelivered

    assert [(d.user_id, d.kind, d.suppressed_by) for d in applied.decisions] == [
        (BOB, "mention", None), (CAROL, "message", "mentions_only")]
    assert again == use_cases.Applied(duplicate=True)
    assert await world.inbox(BOB) == [("mention", "hi @bob")]
    assert await world.inbox(CAROL) == []
    [created] = world.uow.events_of(NotificationCreated)
    [suppressed] = world.uow.events_of(NotificationSuppressed)
    assert (created.user_id, created.reason) == (BOB, "mention")
    assert (suppressed.user_id, suppressed.reason) == (CAROL, "mentions_only")
    assert [n.id for n in world.live.pushed] == [created.notification_id]


async def test_the_same_message_under_another_event_id_changes_nothing(world: World) -> None:
    posted = world.message(ALICE, "@room, lunch", "room")
    first = await world.apply(posted)
    replayed = await world.apply(posted)
    assert [n.user_id for n in first.created] == [BOB, CAROL]
    assert (replayed.duplicate, replayed.created) == (False, ())
    assert len(world.uow.events_of(NotificationCreated)) == 2


async def test_old_events_reach_the_inbox_but_not_the_open_sockets(world: World) -> None:
    await world.apply(world.message(ALICE, "@bob, are you there?", "bob"),
                      age_secs=world.deps.live_max_age_secs + 1)
    assert await world.inbox(BOB) == [("mention", "@bob, are you there?")]
    assert world.live.pushed == []


async def test_viewing_the_room_suppresses_and_system_messages_notify_nobody(
        world: World) -> None:
    use_cases.record_viewing(world.deps, UserViewing(replica_id="chat-a", user_id=BOB,
                                                     rooms=[ROOM], at=T0))
    viewed = await world.apply(world.message(ALICE, "look @bob", "bob"))
    system = await world.apply(world.message(ALICE, "bob joined", "bob",
                                             message_type="system"))
    assert [(d.user_id, d.suppressed_by) for d in viewed.decisions] == [
        (BOB, "viewing_room"), (CAROL, "mentions_only")]
    assert system.decisions == () and await world.inbox(BOB) == []


async def test_reading_the_room_marks_its_notifications_read_once(world: World) -> None:
    await use_cases.set_preferences(world.deps, BOB, [(ROOM, "all")])
    for text in ("one", "two", "three"):
        await world.apply(world.message(ALICE, text))
    await world.apply(MemberRead(room_id=ROOM, user_id=BOB, read_seq=2, read_at=T0))
    await world.apply(MemberRead(room_id=ROOM, user_id=BOB, read_seq=1, read_at=T0))

    assert await use_cases.unread_count(world.deps, BOB) == 1
    assert [e.message_id for e in world.uow.events_of(NotificationRead)] == [
        world.uow.events_of(NotificationCreated)[0].data["message_id"],
        world.uow.events_of(NotificationCreated)[1].data["message_id"]]
    # Already read past it: the next message's decision says so.
    late = world.message(ALICE, "two and a half")
    await world.apply(MemberRead(room_id=ROOM, user_id=BOB, read_seq=late.seq, read_at=T0))
    applied = await world.apply(late)
    assert [(d.user_id, d.suppressed_by) for d in applied.decisions] == [
        (BOB, "already_read"), (CAROL, "mentions_only")]


async def test_posting_reads_the_room_up_to_ones_own_message(world: World) -> None:
    await world.apply(world.message(ALICE, "ping @bob", "bob"))
    await world.apply(world.message(BOB, "pong"))
    assert await use_cases.unread_count(world.deps, BOB) == 0
    [read] = world.uow.events_of(NotificationRead)
    assert read.user_id == BOB


async def test_edits_rewrite_unread_text_and_deletions_remove_it(world: World) -> None:
    posted = world.message(ALICE, "meet at 5 @bob @carol", "bob", "carol")
    await world.apply(posted)
    await use_cases.mark_all_read(world.deps, CAROL)
    await world.apply(MessageEdited(message_id=posted.message_id, room_id=ROOM,
                                    seq=posted.seq, user_id=ALICE, content="meet at 6",
                                    edited_by=ALICE, edited_at=T0))
    assert await world.inbox(BOB) == [("mention", "meet at 6")]
    assert await world.inbox(CAROL) == [("mention", "meet at 5 @bob @carol")]
    await world.apply(MessageDeleted(message_id=posted.message_id, room_id=ROOM,
                                     seq=posted.seq, user_id=ALICE, deleted_by=ALICE,
                                     deleted_at=T0))
    assert await world.inbox(BOB) == await world.inbox(CAROL) == []
    # The decision (no text) is still there to explain.
    [why] = await use_cases.decisions(world.deps, BOB, posted.message_id)
    assert why.kind == "mention"


async def test_a_broadcast_reaches_every_inbox_but_no_socket(world: World) -> None:
    await world.apply(BroadcastSent(broadcast_id="b-1", content="maintenance at 6",
                                    sender="ops", sent_by=ALICE, sent_at=T0))
    for user_id in (ALICE, BOB, CAROL):
        assert await world.inbox(user_id) == [("broadcast", "maintenance at 6")]
    assert world.live.pushed == []  # open sockets show `admin_broadcast` already


async def test_a_deleted_account_loses_its_inbox_and_hears_no_more(world: World) -> None:
    await world.apply(world.message(ALICE, "@bob hi", "bob"))
    await world.apply(UserDeleted(user_id=BOB, username="bob", deleted_at=T0))
    await world.apply(BroadcastSent(broadcast_id="b-2", content="hello all", sender="ops",
                                    sent_by=ALICE, sent_at=T0))
    assert await world.inbox(BOB) == []
    assert await world.inbox(CAROL) == [("broadcast", "hello all")]


async def test_marking_read_is_idempotent_and_only_for_the_owner(world: World) -> None:
    await world.apply(world.message(ALICE, "@bob one", "bob"))
    [mine] = (await use_cases.list_inbox(world.deps, BOB)).notifications
    first = await use_cases.mark_read(world.deps, BOB, mine.id)
    world.clock.advance(minutes=1)
    second = await use_cases.mark_read(world.deps, BOB, mine.id)
    assert first.read_at == second.read_at == T0
    assert len(world.uow.events_of(NotificationRead)) == 1
    with pytest.raises(NotFound) as theirs:
        await use_cases.mark_read(world.deps, CAROL, mine.id)
    assert theirs.value.code == "notification_not_found"


async def test_pages_go_to_older_notifications(world: World) -> None:
    await use_cases.set_preferences(world.deps, BOB, [(ROOM, "all")])
    for n in range(5):
        await world.apply(world.message(ALICE, f"m{n}"))
    first = await use_cases.list_inbox(world.deps, BOB, limit=2)
    rest = await use_cases.list_inbox(world.deps, BOB, before=first.next_before, limit=10)
    assert [n.content for n in first.notifications] == ["m4", "m3"] and first.has_more
    assert [n.content for n in rest.notifications] == ["m2", "m1", "m0"]
    assert rest.next_before is None
    with pytest.raises(Invalid):
        await use_cases.list_inbox(world.deps, BOB, limit=use_cases.PAGE_MAX + 1)


async def test_preferences_name_only_ones_rooms_and_a_bad_one_changes_nothing(
        world: World) -> None:
    with pytest.raises(NotFound) as other:
        await use_cases.set_preferences(world.deps, BOB, [(ROOM, "nothing"), (ROOM + 1, "all")])
    assert other.value.code == "room_not_found"
    assert [(p.room_id, p.room_name, p.level)
            for p in await use_cases.preferences(world.deps, BOB)] == [
        (ROOM, "general", "mentions")]
    assert world.uow.rollbacks == 1


async def test_retention_purges_old_read_notifications_decisions_and_event_ids(
        world: World) -> None:
    await world.apply(world.message(ALICE, "@bob old", "bob"))
    await use_cases.mark_all_read(world.deps, BOB)
    await world.apply(world.message(ALICE, "@carol unread", "carol"))
    world.clock.advance(days=31)
    purged = await use_cases.purge_expired(world.deps, retention_days=30)
    assert (purged.notifications, purged.users) == (1, 1)
    assert purged.decisions == 4 and purged.event_ids > 0
    assert await world.inbox(CAROL) == [("mention", "@carol unread")]


async def test_a_dead_letter_is_kept(world: World) -> None:
    await use_cases.record_dead_letter(world.deps, "e-x", "chat.message.created", b"{}", "boom")
    assert [row[:2] for row in world.uow.state.dead_letters] == [
        ("e-x", "chat.message.created")]
