"""Reactions, pins and editing history on fakes: the emoji rule, idempotence, the bound per
message, who may pin and read the history, what goes live and what the outbox records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Conflict, Forbidden, Invalid, NotFound, Room
from services.chat.domain.marks import Reaction
from services.chat.domain.reactions import REACTION_USERS_LISTED, summarise, validate_emoji
from services.chat.ports import ChatDeps
from shared.contracts import MessagePinned, MessageUnpinned, ReactionAdded, ReactionRemoved
from tests.unit.chat.fakes import FixedClock, InMemoryChatUnitOfWork, RecordingLiveFeed
from tests.unit.chat.test_use_cases import Cast, say

pytest_plugins = ["tests.unit.chat.test_use_cases"]  # its fixtures: alice, bob, room, cast


@pytest.mark.parametrize("emoji", [
    "👍", "❤️", "❤", "🎉", "👍🏽", "1️⃣", "#️⃣", "🇪🇸", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍🚀",
    "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",  # Scotland
    "©️", "✅", "☕",
])
def test_one_emoji_is_a_reaction(emoji: str) -> None:
    assert validate_emoji(emoji) == emoji


@pytest.mark.parametrize("text", [
    "", "ok", "lol", ":thumbsup:", "a", "1", "#", "👍👍", "👍 ", " 👍", "👍\n", "\x00",
    "\u200d", "👍\u200d", "\u200d👍", "🏽", "🇪", "🇪🇸🇫", "<script>", "é", "中",
    "👍" + "\U0001F3FB" * 20, "\U000E0067\U000E007F",
])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate_emoji(text)
    assert refused.value.code == "invalid_emoji"


async def test_reacting_twice_is_one_reaction(deps: ChatDeps, cast: Cast,
                                              uow: InMemoryChatUnitOfWork,
                                              live: RecordingLiveFeed) -> None:
    [msg] = await say(deps, cast.alice, cast.room.id, "ship it")
    first = await use_cases.add_reaction(deps, cast.bob, msg.id, "👍")
    again = await use_cases.add_reaction(deps, cast.bob, msg.id, "👍")
    assert first == again
    assert [(r.emoji, r.count, r.me) for r in again.reactions] == [("👍", 1, True)]
    assert len(uow.events_of(ReactionAdded)) == 1
    frames = [f.data for f in live.frames("room", cast.room.id) if f.type == "reaction"]
    assert frames == [{"message_id": msg.id, "room_id": cast.room.id, "emoji": "👍",
                       "user_id": cast.bob.user_id, "username": "bob", "action": "added",
                       "count": 1}]


async def test_removing_an_absent_reaction_changes_nothing(
        deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork,
        live: RecordingLiveFeed) -> None:
    [msg] = await say(deps, cast.alice, cast.room.id, "hello")
    await use_cases.add_reaction(deps, cast.bob, msg.id, "🎉")
    await use_cases.add_reaction(deps, cast.dave, msg.id, "🎉")
    after = await use_cases.remove_reaction(deps, cast.bob, msg.id, "🎉")
    assert [(r.emoji, r.count, r.me, r.users) for r in after.reactions] == [
        ("🎉", 1, False, ((cast.dave.user_id, "dave"),))]
    again = await use_cases.remove_reaction(deps, cast.bob, msg.id, "🎉")
    assert again == after
    assert [e.count for e in uow.events_of(ReactionRemoved)] == [0 + 1]
    removed = [f.data for f in live.frames("room", cast.room.id)
               if f.type == "reaction" and f.data["action"] == "removed"]
    assert [(f["user_id"], f["count"]) for f in removed] == [(cast.bob.user_id, 1)]


@pytest.mark.parametrize("deps_overrides", [{"reactions_max_per_message": 3}])
async def test_a_message_holds_a_bounded_set_of_emojis(deps: ChatDeps, cast: Cast) -> None:
    [msg] = await say(deps, cast.alice, cast.room.id, "vote")
    for emoji in ("👍", "👎", "🎉"):
        await use_cases.add_reaction(deps, cast.bob, msg.id, emoji)
    with pytest.raises(Conflict) as refused:
        await use_cases.add_reaction(deps, cast.dave, msg.id, "🚀")
    assert refused.value.code == "too_many_reactions"
    # More people with an emoji already there is always fine.
    result = await use_cases.add_reaction(deps, cast.dave, msg.id, "🎉")
    assert {r.emoji: r.count for r in result.reactions} == {"👍": 1, "👎": 1, "🎉": 2}


async def test_history_shows_counts_and_me_for_each_viewer(deps: ChatDeps, cast: Cast,
                                                           clock: FixedClock) -> None:
    [one, _] = await say(deps, cast.alice, cast.room.id, "one", "two")
    for who, emoji in (("bob", "👍"), ("dave", "👍"), ("dave", "❤️")):
        clock.advance(seconds=1)  # the emoji first used comes first
        await use_cases.add_reaction(deps, cast[who], one.id, emoji)
    for viewer, mine in ((cast.bob, {"👍"}), (cast.dave, {"👍", "❤️"}), (cast.alice, set())):
        page = await use_cases.history(deps, viewer, cast.room.id)
        first, second = page.messages
        assert [(r.emoji, r.count) for r in first.reactions or ()] == [("👍", 2), ("❤️", 1)]
        assert {r.emoji for r in first.reactions or () if r.me} == mine
        assert second.reactions == [] and second.pin is None


async def test_deleted_messages_take_no_reactions_and_show_none(deps: ChatDeps,
                                                                cast: Cast) -> None:
    [msg] = await say(deps, cast.bob, cast.room.id, "oops")
    await use_cases.add_reaction(deps, cast.dave, msg.id, "😂")
    await use_cases.delete_message(deps, cast.bob, msg.id)
    with pytest.raises(Conflict) as refused:
        await use_cases.add_reaction(deps, cast.dave, msg.id, "👍")
    assert refused.value.code == "message_deleted"
    page = await use_cases.history(deps, cast.dave, cast.room.id)
    assert page.messages[0].reactions == []


async def test_guests_and_outsiders_cannot_react(deps: ChatDeps, alice: Actor, bob: Actor,
                                                 private: Room) -> None:
    [msg] = await say(deps, alice, private.id, "members only")
    with pytest.raises(NotFound) as hidden:
        await use_cases.add_reaction(deps, bob, msg.id, "👍")
    assert hidden.value.code == "message_not_found"
    with pytest.raises(Invalid):
        await use_cases.add_reaction(deps, alice, msg.id, "nice")


async def test_moderators_pin_and_everyone_reads_the_pins(
        deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork,
        live: RecordingLiveFeed, clock: FixedClock) -> None:
    [old, new] = await say(deps, cast.bob, cast.room.id, "rules", "schedule")
    for who in ("bob", "dave"):
        with pytest.raises(Forbidden) as refused:
            await use_cases.pin_message(deps, cast[who], old.id)
        assert refused.value.code == "not_moderator"
    pinned = await use_cases.pin_message(deps, cast.carol, old.id)
    assert pinned.pin is not None and pinned.pin.pinned_by == cast.carol.user_id
    clock.advance(seconds=5)
    await use_cases.pin_message(deps, cast.root, new.id)  # a server admin
    await use_cases.pin_message(deps, cast.alice, new.id)  # again: the first pin stays
    pins = await use_cases.list_pins(deps, cast.dave, cast.room.id)
    assert [(m.id, m.pin.pinned_by if m.pin else None) for m in pins] == [
        (new.id, cast.root.user_id), (old.id, cast.carol.user_id)]
    page = await use_cases.history(deps, cast.dave, cast.room.id)
    assert [m.pin is not None for m in page.messages] == [True, True]
    assert len(uow.events_of(MessagePinned)) == 2
    assert [f.data["message_id"] for f in live.frames("room", cast.room.id)
            if f.type == "message_pinned"] == [old.id, new.id]
    await use_cases.unpin_message(deps, cast.erin, old.id)
    await use_cases.unpin_message(deps, cast.erin, old.id)
    assert len(uow.events_of(MessageUnpinned)) == 1
    assert [m.id for m in await use_cases.list_pins(deps, cast.bob, cast.room.id)] == [new.id]
    with pytest.raises(Forbidden):
        await use_cases.unpin_message(deps, cast.bob, new.id)


async def test_deleted_messages_leave_the_pins(deps: ChatDeps, cast: Cast) -> None:
    [msg] = await say(deps, cast.bob, cast.room.id, "temporary")
    await use_cases.pin_message(deps, cast.carol, msg.id)
    await use_cases.delete_message(deps, cast.carol, msg.id)
    assert await use_cases.list_pins(deps, cast.bob, cast.room.id) == []
    with pytest.raises(Conflict):
        await use_cases.pin_message(deps, cast.carol, msg.id)


async def test_edits_and_the_deletion_are_kept_for_moderators(deps: ChatDeps,
                                                              cast: Cast) -> None:
    [msg] = await say(deps, cast.bob, cast.room.id, "first words")
    await use_cases.edit_message(deps, cast.bob, msg.id, "second words")
    await use_cases.edit_message(deps, cast.bob, msg.id, "third words")
    await use_cases.delete_message(deps, cast.carol, msg.id)
    for reader in ("carol", "alice", "root"):
        message, edits = await use_cases.message_edits(deps, cast[reader], msg.id)
        assert message.id == msg.id
        assert [(e.action, e.editor_username, e.previous_content, e.new_content)
                for e in edits] == [
            ("deleted", "carol", "third words", None),
            ("edited", "bob", "second words", "third words"),
            ("edited", "bob", "first words", "second words")]
    for outsider in ("bob", "dave"):  # the author too: a moderator's deletion is theirs
        with pytest.raises(Forbidden) as refused:
            await use_cases.message_edits(deps, cast[outsider], msg.id)
        assert refused.value.code == "not_moderator"


async def test_a_refused_edit_records_nothing(deps: ChatDeps, cast: Cast,
                                              uow: InMemoryChatUnitOfWork) -> None:
    [msg] = await say(deps, cast.bob, cast.room.id, "mine")
    with pytest.raises(Forbidden):
        await use_cases.edit_message(deps, cast.dave, msg.id, "not yours")
    _, edits = await use_cases.message_edits(deps, cast.carol, msg.id)
    assert edits == []


def test_summaries_list_a_bounded_number_of_people() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [Reaction(1, uid, f"u{uid}", "👍", t0 + timedelta(seconds=uid))
            for uid in range(1, REACTION_USERS_LISTED + 6)]
    [summary] = summarise(reversed(rows), viewer_id=REACTION_USERS_LISTED + 5)
    assert summary.count == REACTION_USERS_LISTED + 5 and summary.me
    assert [uid for uid, _ in summary.users] == list(range(1, REACTION_USERS_LISTED + 1))
