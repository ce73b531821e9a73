"""`thread_reply`: who takes part in a thread hears of its new replies; nobody else does,
but by a mention; a participant's own `nothing` still wins."""

from __future__ import annotations

import pytest

from services.notifications import use_cases
from services.notifications.domain import (
    Decision,
    PostedMessage,
    explain,
    kind_for,
    suppression_for,
    thread_participants_after,
)
from shared.contracts import MessageCreated
from tests.unit.notifications.test_rules import NOW, ROOM, SEQ, member
from tests.unit.notifications.test_use_cases import ALICE, BOB, CAROL, World


def reply(mentions: tuple[str, ...] = (), also: bool = False) -> PostedMessage:
    return PostedMessage(101, ROOM, SEQ, 2, "bob", "x", mentions, "text", 100, also)


@pytest.mark.parametrize(("mentions", "in_thread", "expected"), [
    ((), True, "thread_reply"),
    ((), False, "message"),
    (("carol",), True, "mention"),  # a mention still says so
    (("room",), True, "room_mention"),
])
def test_kind_in_a_thread(mentions: tuple[str, ...], in_thread: bool, expected: str) -> None:
    assert kind_for("carol", mentions, True, in_thread=in_thread) == expected


@pytest.mark.parametrize(("kind", "level", "thread_only", "expected"), [
    ("thread_reply", "mentions", True, None),  # the default level lets it through
    ("thread_reply", "nothing", True, "muted"),  # the participant's own choice wins
    ("message", "all", True, "not_in_thread"),  # thread-only: not for outsiders
    ("message", "all", False, None),  # also sent to the room: a message of the room
    ("message", "mentions", False, "mentions_only"),
])
def test_suppression_in_a_thread(kind: str, level: str, thread_only: bool,
                                 expected: str | None) -> None:
    assert suppression_for(kind, member(3, "carol"), SEQ, frozenset(), level,  # type: ignore[arg-type]
                           thread_only) == expected


def test_participants_are_the_root_author_the_replier_and_who_it_mentions() -> None:
    members = [member(1, "alice"), member(2, "bob"), member(3, "carol"), member(4, "dave")]
    assert thread_participants_after(reply(("carol",)), members, 1) == {1, 2, 3}
    assert thread_participants_after(reply(), members, None) == {2}


def test_the_explanations_name_the_reason() -> None:
    told = Decision(3, 101, ROOM, SEQ, "thread_reply", None, NOW)
    left_out = Decision(4, 101, ROOM, SEQ, "message", "not_in_thread", NOW)
    assert "thread_reply" in explain(told) and "thread" in explain(left_out)


def _reply(world: World, sender: int, root: MessageCreated, *mentions: str,
           also: bool = False) -> MessageCreated:
    base = world.message(sender, "reply " + " ".join(f"@{m}" for m in mentions), *mentions)
    return base.model_copy(update={"thread_root_id": root.message_id,
                                   "thread_root_user_id": root.user_id,
                                   "also_send_to_room": also})


@pytest.fixture
async def world() -> World:
    the_world = World()
    await the_world.room_of((ALICE, "alice", "admin"), (BOB, "bob", "member"),
                            (CAROL, "carol", "member"), (4, "dave", "member"))
    return the_world


async def test_participants_hear_of_replies_and_others_do_not(world: World) -> None:
    await use_cases.set_preferences(world.deps, 4, [(ROOM, "all")])  # dave hears every message
    root = world.message(ALICE, "lunch?")
    await world.apply(root)
    first = await world.apply(_reply(world, BOB, root, "carol"))
    second = await world.apply(_reply(world, 4, root))

    assert [(d.user_id, d.kind, d.suppressed_by) for d in first.decisions] == [
        (ALICE, "thread_reply", None), (CAROL, "mention", None),
        (4, "message", "not_in_thread")]
    # Bob replied and Carol was mentioned: both are in the thread now.
    assert [(d.user_id, d.kind, d.suppressed_by) for d in second.decisions] == [
        (ALICE, "thread_reply", None), (BOB, "thread_reply", None),
        (CAROL, "thread_reply", None)]
    assert [kind for kind, _ in await world.inbox(ALICE)] == ["thread_reply", "thread_reply"]
    [latest, _] = (await use_cases.list_inbox(world.deps, ALICE)).notifications
    assert latest.title.endswith("replied in a thread")
    assert latest.data["thread_root_id"] == root.message_id


async def test_a_participant_who_chose_nothing_is_not_told(world: World) -> None:
    await use_cases.set_preferences(world.deps, ALICE, [(ROOM, "nothing")])
    root = world.message(ALICE, "root")
    await world.apply(root)
    applied = await world.apply(_reply(world, BOB, root))
    assert (applied.decisions[0].user_id, applied.decisions[0].kind,
            applied.decisions[0].suppressed_by) == (ALICE, "thread_reply", "muted")
    assert await world.inbox(ALICE) == []


async def test_a_reply_also_sent_to_the_room_is_a_message_for_outsiders(world: World) -> None:
    await use_cases.set_preferences(world.deps, 4, [(ROOM, "all")])
    root = world.message(ALICE, "root")
    await world.apply(root)
    applied = await world.apply(_reply(world, BOB, root, also=True))
    assert [(d.user_id, d.kind, d.suppressed_by) for d in applied.decisions] == [
        (ALICE, "thread_reply", None), (CAROL, "message", "mentions_only"),
        (4, "message", None)]


