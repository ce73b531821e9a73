"""Direct messages in the notifications core: a DM notifies its members of every message
by default (a room, of mentions), with the reason `direct_message`; a level the member
chose still wins; the room's kind comes from RoomCreated and stays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications import use_cases
from services.notifications.domain import (
    DM_DEFAULT_LEVEL,
    Decision,
    Member,
    PostedMessage,
    decide,
    default_level,
    explain,
    kind_for,
    message_notification,
)
from shared.contracts import (
    MemberJoined,
    MessageCreated,
    NotificationCreated,
    RoomCreated,
    RoomUpdated,
    UserRegistered,
)
from tests.unit.notifications.fakes import T0
from tests.unit.notifications.test_use_cases import World

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
DM = 9
ALICE, BOB, CAROL = 1, 2, 3


def test_a_dm_defaults_to_every_message_and_a_room_to_mentions() -> None:
    assert default_level("dm") == DM_DEFAULT_LEVEL == "all"
    assert default_level("room") == "mentions"


def test_in_a_dm_a_plain_message_is_a_direct_message_and_a_mention_stays_one() -> None:
    assert kind_for("bob", (), False, "dm") == "direct_message"
    assert kind_for("bob", ("room",), True, "dm") == "direct_message"  # @room means nothing
    assert kind_for("bob", ("bob",), False, "dm") == "mention"
    assert kind_for("bob", (), False) == "message"


def _decide(levels: dict[int, str], room_kind: str = "dm",
            mentions: tuple[str, ...] = ()) -> list[tuple[int, str, str | None]]:
    members = [Member(DM, ALICE, "alice", "member"), Member(DM, BOB, "bob", "member"),
               Member(DM, CAROL, "carol", "member")]
    message = PostedMessage(100, DM, 1, ALICE, "alice", "hi", mentions)
    return [(d.user_id, d.kind, d.suppressed_by)
            for d in decide(message, members, {}, levels, False, NOW, room_kind)]  # type: ignore[arg-type]


def test_a_dm_notifies_everyone_but_the_sender_unless_they_chose_otherwise() -> None:
    assert _decide({}) == [(BOB, "direct_message", None), (CAROL, "direct_message", None)]
    assert _decide({BOB: "mentions", CAROL: "nothing"}) == [
        (BOB, "direct_message", "mentions_only"), (CAROL, "direct_message", "muted")]
    assert _decide({BOB: "mentions"}, mentions=("bob",))[0] == (BOB, "mention", None)
    # The same message in a room: mentions only, by default.
    assert _decide({}, room_kind="room") == [(BOB, "message", "mentions_only"),
                                             (CAROL, "message", "mentions_only")]


def test_a_reply_in_a_dm_thread_is_a_direct_message_to_every_member() -> None:
    """A DM's members all read every message: a thread-only reply there reaches them too
    (as `direct_message`), where in a room it would reach only the thread's people."""
    members = [Member(DM, ALICE, "alice", "member"), Member(DM, BOB, "bob", "member"),
               Member(DM, CAROL, "carol", "member")]
    reply = PostedMessage(101, DM, 2, ALICE, "alice", "sure", (), "text",
                          thread_root_id=100, also_send_to_room=False)
    decided = [(d.user_id, d.kind, d.suppressed_by)
               for d in decide(reply, members, {}, {}, False, NOW, "dm",
                               participants=frozenset({BOB}))]
    assert decided == [(BOB, "direct_message", None), (CAROL, "direct_message", None)]
    in_a_room = [(d.user_id, d.kind, d.suppressed_by)
                 for d in decide(reply, members, {}, {}, False, NOW, "room",
                                 participants=frozenset({BOB}))]
    assert in_a_room == [(BOB, "thread_reply", None), (CAROL, "message", "not_in_thread")]


def test_the_notification_says_it_is_a_direct_message() -> None:
    decision = Decision(BOB, 100, DM, 1, "direct_message", None, NOW)
    assert "direct message" in explain(decision).lower()
    note = message_notification(decision, PostedMessage(100, DM, 1, ALICE, "alice", "psst"), 80)
    assert (note.kind, note.title, note.data["kind"]) == (
        "direct_message", "Direct message from alice", "direct_message")


@pytest.fixture
async def world() -> World:
    """alice, bob and carol in the DM `DM`, as chat's events say it."""
    the_world = World()
    await the_world.apply(RoomCreated(room_id=DM, name="dm:1,2,3", is_private=True,
                                      created_by=ALICE, created_at=T0, kind="dm"))
    for user_id, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
        await the_world.apply(UserRegistered(user_id=user_id, username=name, registered_at=T0))
        await the_world.apply(MemberJoined(room_id=DM, user_id=user_id, username=name,
                                           role="member", joined_at=T0))
    return the_world


def _posted(world: World, content: str) -> MessageCreated:
    world.seq += 1
    return MessageCreated(message_id=500 + world.seq, room_id=DM, seq=world.seq,
                          user_id=ALICE, username="alice", content=content, mentions=[],
                          created_at=world.clock.now())


async def test_a_plain_message_in_a_dm_reaches_the_inbox_with_its_reason(world: World) -> None:
    applied = await world.apply(_posted(world, "lunch?"))
    assert [(d.user_id, d.kind, d.suppressed_by) for d in applied.decisions] == [
        (BOB, "direct_message", None), (CAROL, "direct_message", None)]
    assert await world.inbox(BOB) == [("direct_message", "lunch?")]
    assert {e.reason for e in world.uow.events_of(NotificationCreated)} == {"direct_message"}


async def test_an_explicit_level_wins_and_mentions_is_kept_as_a_choice(world: World) -> None:
    prefs = await use_cases.set_preferences(world.deps, BOB, [(DM, "mentions")])
    assert [(p.room_id, p.level, p.kind) for p in prefs] == [(DM, "mentions", "dm")]
    assert [(p.level, p.kind) for p in await use_cases.preferences(world.deps, CAROL)] == [
        ("all", "dm")]
    applied = await world.apply(_posted(world, "lunch?"))
    assert [(d.user_id, d.suppressed_by) for d in applied.decisions] == [
        (BOB, "mentions_only"), (CAROL, None)]
    await use_cases.set_preferences(world.deps, BOB, [(DM, "all")])  # back to the default
    assert [p.level for p in await use_cases.preferences(world.deps, BOB)] == ["all"]


async def test_a_room_update_does_not_undo_the_kind(world: World) -> None:
    await world.apply(RoomUpdated(room_id=DM, name="dm:1,2,3", is_private=True,
                                  updated_by=ALICE, updated_at=T0))
    applied = await world.apply(_posted(world, "still a dm"))
    assert {d.kind for d in applied.decisions} == {"direct_message"}
