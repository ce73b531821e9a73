"""Word filters as use cases: who keeps which rules, what a block and a hold do to posts,
edits, room names and display names, held messages' review, and the audit entries."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.adapters.outbound.word_filter_cache import CachedWordFilters
from services.chat.domain import Actor, ChatError
from services.chat.domain.word_filter import RULES_MAX_PER_SCOPE
from services.chat.ports import ChatDeps
from tests.unit.chat.fakes import InMemoryChatUnitOfWork, RecordingLiveFeed

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


async def code_of(call: object) -> str:
    with pytest.raises(ChatError) as err:
        await call  # type: ignore[misc]
    return err.value.code


@pytest.fixture
async def people(deps: ChatDeps) -> dict[str, Actor]:
    return {"root": await sign_up(deps, "root", is_admin=True),
            "alice": await sign_up(deps, "alice"), "bob": await sign_up(deps, "bob"),
            "mod": await sign_up(deps, "mod")}


@pytest.fixture
async def room_id(deps: ChatDeps, people: dict[str, Actor]) -> int:
    room = await use_cases.create_room(deps, people["alice"], "general")
    for name in ("bob", "mod"):
        await use_cases.join_room(deps, people[name], room.id)
    await use_cases.change_role(deps, people["alice"], room.id,
                                people["mod"].user_id, "moderator")  # type: ignore[arg-type]
    return room.id


async def test_server_rules_are_for_admins_and_room_rules_for_room_admins(
        deps: ChatDeps, people: dict[str, Actor], room_id: int,
        uow: InMemoryChatUnitOfWork) -> None:
    root, alice, bob, mod = (people[n] for n in ("root", "alice", "bob", "mod"))
    assert await code_of(use_cases.add_word_filter(deps, alice, "spam", "block")) == "forbidden"
    assert await code_of(use_cases.add_word_filter(deps, mod, "spam", "block",
                                                   room_id)) == "not_room_admin"
    server = await use_cases.add_word_filter(deps, root, "Spam", "block")
    mine = await use_cases.add_word_filter(deps, alice, "eggs*", "hold", room_id)
    theirs = await use_cases.add_word_filter(deps, root, "ham", "block", room_id)
    assert [r.id for r in await use_cases.list_word_filters(deps, root)] == [server.id]
    assert [r.id for r in await use_cases.list_word_filters(deps, alice, room_id)] == [
        mine.id, theirs.id]
    assert await code_of(use_cases.list_word_filters(deps, bob, room_id)) == "not_room_admin"
    assert await code_of(use_cases.add_word_filter(deps, root, "SPAM", "hold")) == (
        "word_filter_exists")
    assert await code_of(use_cases.add_word_filter(deps, root, "s*", "hold")) == (
        "invalid_word_filter")
    # A rule is removed only through its own scope.
    assert await code_of(use_cases.remove_word_filter(deps, alice, server.id, room_id)) == (
        "word_filter_not_found")
    await use_cases.remove_word_filter(deps, alice, theirs.id, room_id)
    assert await code_of(use_cases.remove_word_filter(deps, alice, theirs.id, room_id)) == (
        "word_filter_not_found")
    assert [(e.action, e.target_id, e.room_id, e.actor_id) for e in uow.state.audit
            if e.action.startswith("word_filter")] == [
        ("word_filter.add", str(server.id), None, root.user_id),
        ("word_filter.add", str(mine.id), room_id, alice.user_id),
        ("word_filter.add", str(theirs.id), room_id, root.user_id),
        ("word_filter.remove", str(theirs.id), room_id, alice.user_id)]
    assert uow.state.audit[-1].details == {"pattern": "ham", "rule_action": "block"}


async def test_a_scope_holds_a_bounded_number_of_rules(deps: ChatDeps,
                                                       people: dict[str, Actor]) -> None:
    for i in range(RULES_MAX_PER_SCOPE):
        await use_cases.add_word_filter(deps, people["root"], f"word{i}", "block")
    assert await code_of(use_cases.add_word_filter(deps, people["root"], "onemore",
                                                   "block")) == "too_many_word_filters"
    assert len(deps.word_filters.current().server.block.pattern) > 0  # type: ignore[union-attr]


async def test_a_block_refuses_posts_edits_and_names_before_anything_is_stored(
        deps: ChatDeps, people: dict[str, Actor], room_id: int,
        uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    root, alice, bob = people["root"], people["alice"], people["bob"]
    await use_cases.add_word_filter(deps, root, "scam*", "block")
    await use_cases.add_word_filter(deps, alice, "ham", "block", room_id)
    await use_cases.add_word_filter(deps, root, "eggs", "hold")
    messages, sent = len(uow.state.messages), len(live.sent)
    with pytest.raises(ChatError) as err:
        await use_cases.post_message(deps, bob, room_id, "a SCAMMER here")
    assert (err.value.code, err.value.scope) == ("content_blocked", "server")  # type: ignore[attr-defined]
    with pytest.raises(ChatError) as err:
        await use_cases.post_message(deps, bob, room_id, "green eggs and ham!")
    assert err.value.scope == "room"  # type: ignore[attr-defined]  # a block wins over a hold
    assert (len(uow.state.messages), len(live.sent)) == (messages, sent)
    fine = await use_cases.post_message(deps, bob, room_id, "hamster")
    assert await code_of(use_cases.edit_message(deps, bob, fine.message.id,  # type: ignore[union-attr]
                                                "ham")) == "content_blocked"
    assert await code_of(use_cases.edit_message(deps, bob, fine.message.id,  # type: ignore[union-attr]
                                                "eggs")) == "content_blocked"  # hold = block
    assert uow.state.messages[fine.message.id].content == "hamster"  # type: ignore[union-attr]
    assert await code_of(use_cases.create_room(deps, bob, "Eggs club")) == "content_blocked"
    assert await code_of(use_cases.update_room(deps, alice, room_id,
                                               name="ham radio")) == "content_blocked"
    other = await use_cases.create_room(deps, bob, "ham radio")  # room rules stay in the room
    assert await code_of(use_cases.update_profile(deps, bob, {"display_name": "Scam Artist"})
                         ) == "content_blocked"
    assert (await use_cases.update_profile(deps, bob, {"display_name": "Ham"})
            ).display_name == "Ham"
    # Another room, no rules of its own: the server's still apply.
    assert await code_of(use_cases.post_message(deps, bob, other.id, "scam")) == (
        "content_blocked")


async def test_a_hold_keeps_the_post_out_of_the_room_until_a_moderator_approves(
        deps: ChatDeps, people: dict[str, Actor], room_id: int,
        uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    root, alice, bob, mod = (people[n] for n in ("root", "alice", "bob", "mod"))
    await use_cases.add_word_filter(deps, alice, "eggs", "hold", room_id)
    messages, sent = len(uow.state.messages), len(live.sent)
    posted = await use_cases.post_message(deps, bob, room_id, "I want Eggs @alice", "c-1")
    assert isinstance(posted, use_cases.Held)
    again = await use_cases.post_message(deps, bob, room_id, "I want Eggs @alice", "c-1")
    assert isinstance(again, use_cases.Held) and again.held.id == posted.held.id
    assert (len(uow.state.messages), len(live.sent)) == (messages, sent)
    assert posted.held.scope == "room" and posted.held.status == "pending"

    assert await code_of(use_cases.list_held(deps, bob, room_id=room_id)) == "not_moderator"
    assert await code_of(use_cases.approve_held(deps, bob, posted.held.id)) == "held_not_found"
    for who in (mod, root, alice):
        rows, more = await use_cases.list_held(deps, who)
        assert [h.id for h in rows] == [posted.held.id] and more is None
    assert (await use_cases.list_held(deps, bob))[0] == []  # moderates nothing

    held, message = await use_cases.approve_held(deps, mod, posted.held.id)
    assert (message.user_id, message.content, message.room_id) == (
        bob.user_id, "I want Eggs @alice", room_id)
    assert message.mentions == ["alice"]
    assert held.status == "approved" and held.message_id == message.id
    # The room got it like any post; the author is told.
    assert [f.data["id"] for f in live.frames("room", room_id, "message")][-1] == message.id
    told = live.frames("user", bob.user_id, "held_approved")
    assert [f.data["message_id"] for f in told] == [message.id]
    # Idempotent: the same message, no second post, no second entry.
    _again, same = await use_cases.approve_held(deps, root, posted.held.id)
    assert same.id == message.id
    assert sum(m.content == "I want Eggs @alice" for m in uow.state.messages.values()) == 1
    assert [e.action for e in uow.state.audit if e.action.startswith("held")] == [
        "held.approve"]
    assert await code_of(use_cases.reject_held(deps, mod, posted.held.id)) == "held_decided"
    assert (await use_cases.list_held(deps, mod))[0] == []


async def test_a_rejected_message_is_never_posted_and_its_author_is_told(
        deps: ChatDeps, people: dict[str, Actor], room_id: int,
        uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    root, bob, mod = people["root"], people["bob"], people["mod"]
    await use_cases.add_word_filter(deps, root, "eggs", "hold")
    posted = await use_cases.post_message(deps, bob, room_id, "eggs")
    assert isinstance(posted, use_cases.Held) and posted.held.scope == "server"
    assert await code_of(use_cases.reject_held(deps, mod, posted.held.id,
                                               "x" * 501)) == "invalid_note"
    held = await use_cases.reject_held(deps, mod, posted.held.id, " not here ")
    assert (held.status, held.note, held.decided_by) == ("rejected", "not here", mod.user_id)
    await use_cases.reject_held(deps, mod, posted.held.id, "twice")  # idempotent
    assert [f.data["note"] for f in live.frames("user", bob.user_id, "held_rejected")] == [
        "not here"]
    assert await code_of(use_cases.approve_held(deps, mod, posted.held.id)) == "held_decided"
    entries = [e for e in uow.state.audit if e.action.startswith("held")]
    assert [(e.action, e.reason, e.target_id) for e in entries] == [
        ("held.reject", "not here", str(posted.held.id))]
    rejected, _ = await use_cases.list_held(deps, mod, status="rejected")
    assert [h.id for h in rejected] == [held.id]
    assert not any(m.content == "eggs" for m in uow.state.messages.values())


async def test_a_refused_decision_writes_nothing(deps: ChatDeps, people: dict[str, Actor],
                                                 room_id: int,
                                                 uow: InMemoryChatUnitOfWork) -> None:
    await use_cases.add_word_filter(deps, people["root"], "eggs", "hold")
    posted = await use_cases.post_message(deps, people["bob"], room_id, "eggs")
    assert isinstance(posted, use_cases.Held)
    entries = len(uow.state.audit)
    assert await code_of(use_cases.reject_held(deps, people["alice"], 999)) == "held_not_found"
    assert await code_of(use_cases.reject_held(deps, people["bob"], posted.held.id)) == (
        "held_not_found")
    assert len(uow.state.audit) == entries
    assert uow.state.held[posted.held.id].status == "pending"


async def test_another_replica_sees_a_change_at_its_next_refresh(
        deps: ChatDeps, people: dict[str, Actor], room_id: int,
        uow: InMemoryChatUnitOfWork) -> None:
    other = CachedWordFilters(uow, refresh_secs=60)  # another replica over the same tables
    await other.refresh()
    rule = await use_cases.add_word_filter(deps, people["root"], "eggs", "block")
    assert deps.word_filters.current().check("eggs") is not None  # type: ignore[union-attr]
    assert other.current().check("eggs") is None  # until it refreshes
    await other.refresh()
    assert other.current().check("eggs") is not None
    loads = other.loads
    await other.refresh()
    assert other.loads == loads  # nothing changed: the rules are not read again
    await use_cases.remove_word_filter(deps, people["root"], rule.id)
    await other.refresh()
    assert other.current().check("eggs") is None


class FailingRefresh(CachedWordFilters):
    async def refresh(self) -> None:
        raise ConnectionError("database gone")


async def test_a_committed_change_stands_when_applying_it_here_fails(
        deps: ChatDeps, people: dict[str, Actor], uow: InMemoryChatUnitOfWork) -> None:
    deps.word_filters = FailingRefresh(uow, refresh_secs=60)
    rule = await use_cases.add_word_filter(deps, people["root"], "eggs", "block")
    assert [r.id for r in await use_cases.list_word_filters(deps, people["root"])] == [rule.id]
    await use_cases.remove_word_filter(deps, people["root"], rule.id)
    assert await use_cases.list_word_filters(deps, people["root"]) == []
