"""Group commit on fakes: posts that arrive together share a transaction and keep every rule."""

from __future__ import annotations

import asyncio

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, NotFound, Room, Unauthenticated
from services.chat.ports import ChatDeps
from services.chat.posting import PostQueue
from shared.contracts import MemberJoined, MessageCreated
from tests.unit.chat.fakes import (
    FixedClock,
    InMemoryChatUnitOfWork,
    InMemoryPostLog,
    RecordingLiveFeed,
    make_deps,
)

PASSWORD = "correct horse battery"


class Setup:
    def __init__(self) -> None:
        self.uow = InMemoryChatUnitOfWork()
        self.log = InMemoryPostLog(self.uow)
        self.live = RecordingLiveFeed()
        self.queue = PostQueue(self.log, self.live, FixedClock())
        self.deps: ChatDeps = make_deps(uow=self.uow, live=self.live, post=self.queue.submit)

    async def user(self, name: str) -> Actor:
        user = await use_cases.register(self.deps, name, PASSWORD)
        return Actor(user.id, user.username)


@pytest.fixture
async def setup() -> Setup:
    return Setup()


async def test_posts_that_arrive_together_share_one_transaction(setup: Setup) -> None:
    alice = await setup.user("alice")
    room = await use_cases.create_room(setup.deps, alice, "general")

    posted = await asyncio.gather(*(use_cases.post_message(setup.deps, alice, room.id, f"m{n}")
                                    for n in range(20)))

    assert setup.log.batch_sizes == [20]
    # In the order they were submitted, with gapless seqs, one event each.
    assert [p.message.content for p in posted] == [f"m{n}" for n in range(20)]
    assert [p.message.seq for p in posted] == list(range(1, 21))
    assert [e.seq for e in setup.uow.events_of(MessageCreated)] == list(range(1, 21))
    # Frames go out in seq order.
    assert [f.seq for f in setup.live.frames("room", room.id, "message")] == list(range(1, 21))


async def test_one_post_alone_is_a_batch_of_one(setup: Setup) -> None:
    alice = await setup.user("alice")
    room = await use_cases.create_room(setup.deps, alice, "general")

    for n in range(3):
        await use_cases.post_message(setup.deps, alice, room.id, f"m{n}")

    assert setup.log.batch_sizes == [1, 1, 1]


async def test_every_rule_holds_inside_one_batch(setup: Setup) -> None:
    alice = await setup.user("alice")
    bob = await setup.user("bob")
    carol = await setup.user("carol")
    public = await use_cases.create_room(setup.deps, alice, "general")
    private = await use_cases.create_room(setup.deps, alice, "secret", is_private=True)
    post = use_cases.post_message

    results = await asyncio.gather(
        post(setup.deps, bob, public.id, "first words, @carol", client_msg_id="b-1"),
        post(setup.deps, bob, public.id, "first words, @carol", client_msg_id="b-1"),
        post(setup.deps, carol, public.id, "hi @bob"),
        post(setup.deps, bob, private.id, "let me in"),
        post(setup.deps, bob, 999, "nowhere"),
        post(setup.deps, bob, public.id, "again"),
        return_exceptions=True)

    assert setup.log.batch_sizes == [6]
    first, retry, carols, refused, missing, again = results
    # The same client_msg_id twice in one batch is one message.
    assert (first.created, retry.created, retry.message.id) == (True, False, first.message.id)
    # Posting joined bob and carol once each; the later posts see the new memberships.
    joined = setup.uow.events_of(MemberJoined)
    assert [e.user_id for e in joined[-2:]] == [bob.user_id, carol.user_id]
    # A private room is not there for a non-member; a missing room neither.
    assert isinstance(refused, NotFound) and refused.code == "room_not_found"
    assert isinstance(missing, NotFound)
    assert [p.message.seq for p in (first, carols, again)] == [1, 2, 3]
    # A mention reaches a member who joined earlier in the same batch (bob), not someone who
    # was not a member yet when mentioned (carol, in bob's first post).
    mentions = setup.uow.state.mentions
    assert (carols.message.id, bob.user_id) in mentions
    assert (first.message.id, carol.user_id) not in mentions
    # Each author's read marker is at their own latest post.
    unread_carol = {u.room_id: u for u in await use_cases.unread_counts(setup.deps, carol)}
    assert (unread_carol[public.id].read_seq, unread_carol[public.id].count) == (2, 1)
    events = [type(e).__name__ for e in setup.uow.events
              if isinstance(e, MemberJoined | MessageCreated)]
    assert events[-5:] == ["MemberJoined", "MessageCreated", "MemberJoined", "MessageCreated",
                           "MessageCreated"]
    assert [s.frame.type for s in setup.live.sent[-5:]] == [
        "member_joined", "message", "member_joined", "message", "message"]


async def test_a_guest_is_refused_before_anything_is_queued(setup: Setup) -> None:
    alice = await setup.user("alice")
    room = await use_cases.create_room(setup.deps, alice, "general")
    with pytest.raises(Unauthenticated) as refused:
        await use_cases.post_message(setup.deps, Actor(None), room.id, "hi")
    assert refused.value.code == "not_authenticated"
    assert setup.log.batch_sizes == []


async def test_a_failed_batch_is_stored_post_by_post(setup: Setup) -> None:
    alice = await setup.user("alice")
    room = await use_cases.create_room(setup.deps, alice, "general")
    setup.log.fail_next = RuntimeError("disk I/O error")

    posted = await asyncio.gather(*(use_cases.post_message(setup.deps, alice, room.id, f"m{n}")
                                    for n in range(3)))

    assert [p.message.seq for p in posted] == [1, 2, 3]
    assert setup.log.batch_sizes == [1, 1, 1]  # the failed batch wrote nothing


async def test_a_post_that_keeps_failing_reports_the_error_and_stores_nothing(
        setup: Setup) -> None:
    alice = await setup.user("alice")
    room = await use_cases.create_room(setup.deps, alice, "general")
    events = len(setup.uow.events)

    class Flaky(InMemoryPostLog):
        async def commit(self, requests, plan, now):  # type: ignore[no-untyped-def]
            raise RuntimeError("database is locked")

    queue = PostQueue(Flaky(setup.uow), setup.live, FixedClock())
    deps = make_deps(uow=setup.uow, live=setup.live, post=queue.submit)
    with pytest.raises(RuntimeError):
        await use_cases.post_message(deps, alice, room.id, "lost?")

    assert len(setup.uow.events) == events
    assert setup.live.frames(type="message") == []


async def test_a_poster_that_goes_away_does_not_cancel_its_post(setup: Setup) -> None:
    alice = await setup.user("alice")
    room = await use_cases.create_room(setup.deps, alice, "general")

    poster = asyncio.create_task(use_cases.post_message(setup.deps, alice, room.id, "bye"))
    await asyncio.sleep(0)  # queued
    poster.cancel()
    await setup.queue.drain()

    history = await use_cases.history(setup.deps, alice, room.id)
    assert [m.content for m in history.messages] == ["bye"]
    assert len(setup.live.frames(type="message")) == 1


async def test_posts_queued_behind_a_batch_go_in_the_next(setup: Setup) -> None:
    alice = await setup.user("alice")
    room: Room = await use_cases.create_room(setup.deps, alice, "general")
    release = asyncio.Event()
    real_commit = setup.log.commit

    async def slow_commit(requests, plan, now):  # type: ignore[no-untyped-def]
        await release.wait()
        return await real_commit(requests, plan, now)

    setup.log.commit = slow_commit  # type: ignore[method-assign]
    first = asyncio.create_task(use_cases.post_message(setup.deps, alice, room.id, "first"))
    await asyncio.sleep(0.01)  # the first batch is in flight
    rest = [asyncio.create_task(use_cases.post_message(setup.deps, alice, room.id, f"m{n}"))
            for n in range(5)]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(first, *rest)

    assert setup.log.batch_sizes == [1, 5]
