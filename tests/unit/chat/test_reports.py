"""Reports on fakes: who may report what, who sees the queue, and each resolution applied
with the report's resolution (all or nothing), live to the moderators."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Conflict, Forbidden, Invalid, NotFound
from services.chat.domain.moderation import Muted
from services.chat.ports import ChatDeps
from services.chat.use_cases.reports import report_message, report_queue, resolve_report
from tests.unit.chat.fakes import T0, FixedClock, InMemoryChatUnitOfWork, RecordingLiveFeed

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


class Cast:
    def __init__(self, root: Actor, alice: Actor, mod: Actor, bob: Actor, carol: Actor,
                 room: int, other: int) -> None:
        self.root, self.alice, self.mod, self.bob, self.carol = root, alice, mod, bob, carol
        self.room, self.other = room, other


@pytest.fixture
async def cast(deps: ChatDeps) -> Cast:
    root = await sign_up(deps, "root", is_admin=True)
    alice, mod, bob, carol = [await sign_up(deps, n) for n in ("alice", "mod", "bob", "carol")]
    room = await use_cases.create_room(deps, alice, "general")
    other = await use_cases.create_room(deps, carol, "other")
    for who in (mod, bob, carol):
        await use_cases.join_room(deps, who, room.id)
    await use_cases.change_role(deps, alice, room.id, mod.user_id, "moderator")  # type: ignore[arg-type]
    return Cast(root, alice, mod, bob, carol, room.id, other.id)


async def test_reporting_rules(deps: ChatDeps, cast: Cast) -> None:
    said = await use_cases.post_message(deps, cast.bob, cast.room, "rude")
    for who, reason, error, code in ((cast.bob, "mine", Invalid, "cannot_report_own"),
                                     (cast.carol, "   ", Invalid, "invalid_reason"),
                                     (cast.carol, "x" * 501, Invalid, "invalid_reason")):
        with pytest.raises(error) as refused:
            await report_message(deps, who, said.message.id, reason)
        assert refused.value.code == code
    with pytest.raises(NotFound):
        await report_message(deps, cast.carol, 999, "gone")
    report = await report_message(deps, cast.carol, said.message.id, " rude words ")
    assert (report.reason, report.status, report.reporter_id) == (
        "rude words", "open", cast.carol.user_id)
    with pytest.raises(Conflict) as twice:
        await report_message(deps, cast.carol, said.message.id, "again")
    assert twice.value.code == "already_reported"
    await report_message(deps, cast.alice, said.message.id, "agreed")  # another reporter


async def test_moderators_and_administrators_hear_of_reports_live(
        deps: ChatDeps, cast: Cast, live: RecordingLiveFeed) -> None:
    said = await use_cases.post_message(deps, cast.bob, cast.room, "rude")
    report = await report_message(deps, cast.carol, said.message.id, "rude words")
    told = {s.id for s in live.sent if s.frame.type == "report_created"}
    # The room's admin (alice) and moderator, and the administrator; not bob nor carol.
    assert told == {cast.root.user_id, cast.alice.user_id, cast.mod.user_id}
    frame = live.frames("user", cast.mod.user_id, "report_created")[0]
    assert frame.data["id"] == report.id
    assert frame.data["message"]["content"] == "rude"
    assert frame.data["reporter_username"] == "carol"


async def test_the_queue_shows_moderators_their_rooms_and_administrators_all(
        deps: ChatDeps, cast: Cast) -> None:
    in_room = await use_cases.post_message(deps, cast.bob, cast.room, "here")
    await use_cases.join_room(deps, cast.bob, cast.other)
    elsewhere = await use_cases.post_message(deps, cast.bob, cast.other, "there")
    first = await report_message(deps, cast.carol, in_room.message.id, "one")
    second = await report_message(deps, cast.alice, elsewhere.message.id, "two")
    assert [r.id for r in (await report_queue(deps, cast.mod)).reports] == [first.id]
    assert [r.id for r in (await report_queue(deps, cast.root)).reports] == [
        second.id, first.id]
    assert (await report_queue(deps, cast.bob)).reports == []
    page = await report_queue(deps, cast.root, limit=1)
    assert page.next_before_id == second.id
    rest = await report_queue(deps, cast.root, limit=1, before_id=page.next_before_id)
    assert ([r.id for r in rest.reports], rest.next_before_id) == ([first.id], None)
    queued = (await report_queue(deps, cast.root, room_id=cast.room)).reports[0]
    assert queued.message is not None and queued.message.content == "here"
    assert queued.reporter_username == "carol"
    with pytest.raises(Invalid):
        await report_queue(deps, cast.root, status="closed")


async def test_resolving_with_a_mute_mutes_the_author_and_resolves_together(
        deps: ChatDeps, cast: Cast, clock: FixedClock, live: RecordingLiveFeed,
        uow: InMemoryChatUnitOfWork) -> None:
    said = await use_cases.post_message(deps, cast.bob, cast.room, "rude")
    report = await report_message(deps, cast.carol, said.message.id, "rude words")
    with pytest.raises(Forbidden):
        await resolve_report(deps, cast.carol, report.id, "mute")
    until = T0 + timedelta(seconds=3)
    resolved = await resolve_report(deps, cast.mod, report.id, "mute", until=until,
                                    note="cool off")
    assert (resolved.status, resolved.resolution, resolved.resolved_by) == (
        "resolved", "mute", cast.mod.user_id)
    with pytest.raises(Muted):
        await use_cases.post_message(deps, cast.bob, cast.room, "more")
    assert [e.action for e in uow.state.audit][-2:] == ["mute.add", "report.resolve"]
    assert uow.state.audit[-2].reason == "cool off"
    assert {s.id for s in live.sent if s.frame.type == "report_resolved"} == {
        cast.root.user_id, cast.alice.user_id, cast.mod.user_id}
    assert live.frames("user", cast.bob.user_id, "moderation_updated")[-1].data["until"] == (
        until.isoformat())
    with pytest.raises(Conflict) as again:
        await resolve_report(deps, cast.alice, report.id, "dismiss")
    assert again.value.code == "report_resolved"
    assert (await report_queue(deps, cast.mod)).reports == []
    assert [r.id for r in (await report_queue(deps, cast.mod, status="resolved")).reports] == [
        report.id]
    clock.set(until)
    await use_cases.post_message(deps, cast.bob, cast.room, "back")


async def test_a_resolution_whose_action_is_refused_leaves_the_report_open(
        deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork) -> None:
    said = await use_cases.post_message(deps, cast.alice, cast.room, "the room admin's words")
    report = await report_message(deps, cast.carol, said.message.id, "bossy")
    audited = len(uow.state.audit)
    with pytest.raises(Forbidden):  # a moderator cannot mute the room's admin
        await resolve_report(deps, cast.mod, report.id, "ban")
    with pytest.raises(Invalid):
        await resolve_report(deps, cast.mod, report.id, "shout")
    with pytest.raises(Invalid):
        await resolve_report(deps, cast.mod, report.id, "warn", until=T0 + timedelta(days=1))
    assert uow.state.reports[report.id].status == "open"
    assert len(uow.state.audit) == audited


async def test_delete_warn_ban_and_dismiss(deps: ChatDeps, cast: Cast,
                                           live: RecordingLiveFeed) -> None:
    posts = [await use_cases.post_message(deps, cast.bob, cast.room, f"m{n}") for n in range(4)]
    reports = [await report_message(deps, cast.carol, p.message.id, "bad") for p in posts]
    await resolve_report(deps, cast.mod, reports[0].id, "dismiss")
    await resolve_report(deps, cast.mod, reports[1].id, "delete")
    deleted = live.frames("room", cast.room, "message_deleted")[-1]
    assert deleted.data["id"] == posts[1].message.id
    await resolve_report(deps, cast.mod, reports[2].id, "warn", note="mind your words")
    warning = live.frames("user", cast.bob.user_id, "moderation_updated")[-1]
    assert (warning.data["kind"], warning.data["reason"], warning.data["message_id"]) == (
        "warn", "mind your words", posts[2].message.id)
    await resolve_report(deps, cast.mod, reports[3].id, "ban")
    assert cast.bob.user_id not in await use_cases.member_ids(deps, cast.room)
