"""Mutes, bans and slow mode: the rules (expiry by the clock, who may sanction whom, slow
mode inside one batch) and the use cases on fakes (what is refused, what goes live, what
is audited)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Forbidden, Invalid, Member, NotFound, Room
from services.chat.domain.moderation import (
    FOREVER,
    Banned,
    Muted,
    SlowMode,
    in_force,
    may_sanction,
    shown_until,
    slow_mode_wait,
    validate_sanction,
)
from services.chat.ports import ChatDeps
from services.chat.post_plan import PostContext, PostRequest, plan_batch
from services.chat.use_cases.moderation import impose, lift, sanctions
from tests.unit.chat.fakes import (
    T0,
    FixedClock,
    InMemoryChatUnitOfWork,
    RecordingLiveFeed,
    RecordingRevocations,
)

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


def uid(actor: Actor) -> int:
    assert actor.user_id is not None
    return actor.user_id


# --- rules --------------------------------------------------------------------------------

def test_a_sanction_is_in_force_until_its_end_by_the_clock() -> None:
    assert in_force(T0 + timedelta(seconds=1), T0)
    assert not in_force(T0, T0) and not in_force(None, T0)
    assert in_force(FOREVER, T0)
    assert shown_until(FOREVER) is None and shown_until(T0) == T0


def test_bad_sanctions_are_refused() -> None:
    for kind, until, code in (("gag", None, "invalid_kind"),
                              ("mute", T0, "invalid_until"),
                              ("mute", T0 - timedelta(days=1), "invalid_until"),
                              ("mute", T0.replace(tzinfo=None) + timedelta(days=1),
                               "invalid_until")):
        with pytest.raises(Invalid) as refused:
            validate_sanction(kind, until, None, T0)
        assert refused.value.code == code
    with pytest.raises(Invalid):
        validate_sanction("ban", None, "x" * 501, T0)
    assert validate_sanction("ban", None, "  ", T0) == ("ban", None, None)


def member(role: str) -> Member:
    return Member(1, 9, "m", role, T0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("actor", "actor_role", "target_admin", "target_role", "server",
                          "allowed"), [
    (Actor(1), "moderator", False, "member", False, True),
    (Actor(1), "moderator", False, None, False, True),  # a non-member (public room)
    (Actor(1), "moderator", False, "moderator", False, False),
    (Actor(1), "admin", False, "moderator", False, True),
    (Actor(1), "admin", False, "admin", False, False),
    (Actor(1), "member", False, "member", False, False),
    (Actor(1), None, False, "member", False, False),
    (Actor(1, is_admin=True), None, False, "admin", False, True),
    (Actor(1, is_admin=True), None, True, None, False, False),  # never an administrator
    (Actor(1, is_admin=True), None, False, None, True, True),
    (Actor(1), "admin", False, None, True, False),  # server-wide: administrators only
])
def test_who_may_sanction_whom(actor: Actor, actor_role: str | None, target_admin: bool,
                               target_role: str | None, server: bool, allowed: bool) -> None:
    assert may_sanction(actor, member(actor_role) if actor_role else None, target_admin,
                        member(target_role) if target_role else None,
                        server_wide=server) is allowed


def test_slow_mode_counts_whole_seconds_from_the_last_post() -> None:
    assert slow_mode_wait(0, T0, T0) == 0
    assert slow_mode_wait(30, None, T0) == 0
    assert slow_mode_wait(30, T0, T0) == 30
    assert slow_mode_wait(30, T0, T0 + timedelta(seconds=29.2)) == 1
    assert slow_mode_wait(30, T0, T0 + timedelta(seconds=30)) == 0


# --- mutes ----------------------------------------------------------------------------------

async def test_a_room_mute_refuses_posts_and_edits_until_it_ends(
        deps: ChatDeps, clock: FixedClock, live: RecordingLiveFeed,
        uow: InMemoryChatUnitOfWork) -> None:
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    other = await use_cases.create_room(deps, alice, "other")
    said = await use_cases.post_message(deps, bob, room.id, "before")
    until = T0 + timedelta(seconds=3)
    mute = await impose(deps, alice, "mute", uid(bob), room_id=room.id, until=until,
                        reason="flooding")
    assert (mute.until, mute.reason, mute.created_by) == (until, "flooding", alice.user_id)
    with pytest.raises(Muted) as refused:
        await use_cases.post_message(deps, bob, room.id, "still here")
    assert refused.value.code == "muted" and refused.value.status == 403
    assert refused.value.extra() == {"until": until.isoformat(), "scope": "room"}
    with pytest.raises(Muted):
        await use_cases.edit_message(deps, bob, said.message.id, "rewritten")
    # Another room is not this one's business.
    await use_cases.post_message(deps, bob, other.id, "elsewhere")
    frame = live.frames("user", uid(bob), "moderation_updated")[-1]
    assert frame.data == {"kind": "mute", "user_id": bob.user_id, "username": "bob",
                          "room_id": room.id, "scope": "room", "until": until.isoformat(),
                          "reason": "flooding", "created_by": alice.user_id,
                          "created_at": T0.isoformat(), "active": True}
    assert [(e.action, e.reason, e.details) for e in uow.state.audit] == [
        ("mute.add", "flooding", {"scope": "room", "until": until.isoformat()})]
    assert [s.user_id for s in await sanctions(deps, alice, "mute", room_id=room.id)] == [
        bob.user_id]
    clock.advance(seconds=3)  # nothing lifts it but the clock
    await use_cases.post_message(deps, bob, room.id, "free again")
    assert await sanctions(deps, alice, "mute", room_id=room.id) == []


async def test_a_room_mute_survives_leaving_and_rejoining(deps: ChatDeps) -> None:
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    await use_cases.join_room(deps, bob, room.id)
    await impose(deps, alice, "mute", uid(bob), room_id=room.id)
    await use_cases.leave_room(deps, bob, room.id)
    with pytest.raises(Muted) as refused:  # not a member: the first post would join
        await use_cases.post_message(deps, bob, room.id, "sneaky")
    assert refused.value.until is None  # until lifted
    await use_cases.join_room(deps, bob, room.id)
    with pytest.raises(Muted):
        await use_cases.post_message(deps, bob, room.id, "sneaky")
    await lift(deps, alice, "mute", uid(bob), room_id=room.id)
    await use_cases.post_message(deps, bob, room.id, "lifted")


async def test_a_server_mute_holds_in_every_room_until_lifted(
        deps: ChatDeps, live: RecordingLiveFeed, uow: InMemoryChatUnitOfWork) -> None:
    root = await sign_up(deps, "root", is_admin=True)
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    with pytest.raises(Forbidden):  # a room admin is not an administrator
        await impose(deps, alice, "mute", uid(bob))
    await impose(deps, root, "mute", uid(bob))
    for room_id in (room.id, (await use_cases.create_room(deps, alice, "b")).id):
        with pytest.raises(Muted) as refused:
            await use_cases.post_message(deps, bob, room_id, "hello")
        assert refused.value.extra() == {"until": None, "scope": "server"}
    await lift(deps, root, "mute", uid(bob))
    await use_cases.post_message(deps, bob, room.id, "hello")
    assert live.frames("user", uid(bob), "moderation_updated")[-1].data["active"] is False
    assert [e.action for e in uow.state.audit] == ["mute.add", "mute.lift"]
    with pytest.raises(NotFound) as none:
        await lift(deps, root, "mute", uid(bob))
    assert none.value.code == "not_sanctioned"


async def test_who_may_mute(deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root = await sign_up(deps, "root", is_admin=True)
    alice = await sign_up(deps, "alice")
    mod = await sign_up(deps, "mod")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    for who in (mod, bob):
        await use_cases.join_room(deps, who, room.id)
    await use_cases.change_role(deps, alice, room.id, uid(mod), "moderator")
    audited = len(uow.state.audit)
    for actor, target, error in ((bob, mod, Forbidden), (mod, alice, Forbidden),
                                 (mod, root, Forbidden), (mod, mod, Invalid)):
        with pytest.raises(error):
            await impose(deps, actor, "mute", uid(target), room_id=room.id)
    with pytest.raises(NotFound):
        await impose(deps, mod, "mute", 999, room_id=room.id)
    assert len(uow.state.audit) == audited  # nothing half-written
    await impose(deps, mod, "mute", uid(bob), room_id=room.id)
    await impose(deps, alice, "mute", uid(mod), room_id=room.id)
    with pytest.raises(Forbidden):  # lists and lifts are the moderators' too
        await sanctions(deps, bob, "mute", room_id=room.id)


# --- bans -----------------------------------------------------------------------------------

async def test_a_room_ban_removes_the_member_and_refuses_rejoining(
        deps: ChatDeps, clock: FixedClock, live: RecordingLiveFeed) -> None:
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    await use_cases.join_room(deps, bob, room.id)
    until = T0 + timedelta(hours=1)
    await impose(deps, alice, "ban", uid(bob), room_id=room.id, until=until, reason="spam")
    left = live.frames("room", room.id, "member_left")[-1]
    assert (left.data["user_id"], left.data["reason"]) == (bob.user_id, "banned")
    assert bob.user_id not in await use_cases.member_ids(deps, room.id)
    with pytest.raises(Banned) as refused:
        await use_cases.join_room(deps, bob, room.id)
    assert (refused.value.code, refused.value.status) == ("banned", 403)
    with pytest.raises(Banned):  # the first post in a public room would join it
        await use_cases.post_message(deps, bob, room.id, "let me back")
    with pytest.raises(Banned):
        await use_cases.invite_member(deps, alice, room.id, "bob")
    clock.set(until)
    await use_cases.join_room(deps, bob, room.id)


async def test_a_server_ban_revokes_every_session_and_refuses_sign_in(
        deps: ChatDeps, clock: FixedClock, uow: InMemoryChatUnitOfWork) -> None:
    root = await sign_up(deps, "root", is_admin=True)
    bob = await sign_up(deps, "bob")
    _, session = await use_cases.open_session(deps, uid(bob))
    await impose(deps, root, "ban", uid(bob), until=T0 + timedelta(days=1))
    revocations = deps.revocations
    assert isinstance(revocations, RecordingRevocations)
    assert revocations.ids == {session.id}
    with pytest.raises(Banned) as refused:
        await use_cases.open_session(deps, uid(bob))
    assert refused.value.extra()["scope"] == "server"
    clock.advance(days=1)
    await use_cases.open_session(deps, uid(bob))
    assert uow.state.users[uid(bob)].deactivated_at is None  # not a deactivation


# --- slow mode ------------------------------------------------------------------------------

async def test_slow_mode_allows_one_post_per_member_per_period_even_in_one_batch(
        deps: ChatDeps, clock: FixedClock, uow: InMemoryChatUnitOfWork) -> None:
    alice = await sign_up(deps, "alice")
    mod = await sign_up(deps, "mod")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    for who in (mod, bob):
        await use_cases.join_room(deps, who, room.id)
    await use_cases.change_role(deps, alice, room.id, uid(mod), "moderator")
    with pytest.raises(Forbidden):
        await use_cases.update_room(deps, bob, room.id, slow_mode_secs=10)
    with pytest.raises(Forbidden):  # moderators set slow mode, nothing else
        await use_cases.update_room(deps, mod, room.id, name="renamed", slow_mode_secs=10)
    with pytest.raises(Invalid):
        await use_cases.update_room(deps, mod, room.id, slow_mode_secs=21_601)
    updated = await use_cases.update_room(deps, mod, room.id, slow_mode_secs=10)
    assert updated.slow_mode_secs == 10
    post = use_cases.post_message
    # Two posts of bob in one batch: the second sees the first.
    results = await asyncio.gather(post(deps, bob, room.id, "one"),
                                   post(deps, bob, room.id, "two"),
                                   post(deps, mod, room.id, "a moderator is exempt"),
                                   post(deps, mod, room.id, "twice"),
                                   return_exceptions=True)
    assert isinstance(results[1], SlowMode)
    assert (results[1].code, results[1].retry_after_secs) == ("slow_mode", 10)
    assert [type(r).__name__ for r in results] == ["Posted", "SlowMode", "Posted", "Posted"]
    clock.advance(seconds=9.5)
    with pytest.raises(SlowMode) as refused:
        await post(deps, bob, room.id, "too soon")
    assert refused.value.extra() == {"retry_after_secs": 1}
    clock.advance(seconds=0.5)
    await post(deps, bob, room.id, "on time")
    await use_cases.update_room(deps, mod, room.id, slow_mode_secs=0)
    await post(deps, bob, room.id, "off")
    slow = [(e.action, e.details) for e in uow.state.audit if e.action == "room.slow_mode"]
    assert slow == [("room.slow_mode", {"slow_mode_secs": 10, "previous": 0}),
                    ("room.slow_mode", {"slow_mode_secs": 0, "previous": 10})]


async def test_a_first_post_in_a_slow_public_room_joins_and_counts(
        deps: ChatDeps, clock: FixedClock) -> None:
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    await use_cases.update_room(deps, alice, room.id, slow_mode_secs=5)
    await use_cases.post_message(deps, bob, room.id, "joined by posting")
    with pytest.raises(SlowMode):
        await use_cases.post_message(deps, bob, room.id, "again")


def test_the_batch_plan_sees_a_members_earlier_post_of_the_same_batch() -> None:
    """The rule itself, on one PostContext: no database, one batch of four posts."""
    room = Room(1, "slow", None, False, None, T0, last_seq=0, slow_mode_secs=30)
    bob = Member(1, 2, "bob", "member", T0, last_post_at=T0 - timedelta(seconds=40))
    carol = Member(1, 3, "carol", "member", T0, muted_until=T0 + timedelta(seconds=1))
    ids = iter(range(100, 200))
    ctx = PostContext(T0, {1: room},
                      {(1, 2): bob, (1, 3): carol}, {}, {}, ids.__next__,
                      server_mutes={2: None, 3: None, 4: T0 + timedelta(days=1)})
    requests = [PostRequest(Actor(2, "bob"), 1, "one", None),
                PostRequest(Actor(2, "bob"), 1, "two", None),
                PostRequest(Actor(3, "carol"), 1, "muted", None),
                PostRequest(Actor(4, "dave"), 1, "muted everywhere", None)]
    plan = plan_batch(requests, ctx)
    first, second, muted, server = plan.outcomes
    assert first.message is not None and first.error is None
    assert isinstance(second.error, SlowMode) and second.error.retry_after_secs == 30
    assert isinstance(muted.error, Muted) and muted.error.scope == "room"
    assert isinstance(server.error, Muted) and server.error.scope == "server"
    assert [m.content for m in plan.messages] == ["one"]
    assert plan.last_posts == {(1, 2): T0}  # written for the slow room only


def test_a_room_without_slow_mode_writes_no_last_post() -> None:
    room = Room(1, "fast", None, False, None, T0)
    bob = Member(1, 2, "bob", "member", T0)
    ids = iter(range(100, 200))
    ctx = PostContext(T0, {1: room}, {(1, 2): bob}, {}, {}, ids.__next__)
    plan = plan_batch([PostRequest(Actor(2, "bob"), 1, f"m{n}", None) for n in range(3)], ctx)
    assert len(plan.messages) == 3 and plan.last_posts == {}
