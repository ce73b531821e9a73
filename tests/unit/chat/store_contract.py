"""What the chat stores promise the use cases, checked the same way against the in-memory
fakes (`tests/unit/chat/test_fakes.py`) and the real adapters on a SQLite file — the
SQLAlchemy stores and the hot path's `SqlitePostLog` (`tests/integration/chat/test_fakes.py`)
— so the fakes the use-case tests run on cannot drift from what the service runs on.

A subclass provides one fixture, `subject`: a fresh, empty database behind a unit of work
(counting its commits and rollbacks) and a post log."""

from __future__ import annotations

from typing import Protocol

import pytest

from services.chat.domain import Actor, Conflict, Member
from services.chat.ports import ChatUnitOfWork, PostLog
from services.chat.post_plan import PostRequest, plan_batch
from tests.unit.chat.fakes import T0


class StoreSubject(Protocol):
    uow: ChatUnitOfWork
    posts: PostLog
    commits: int
    rollbacks: int


async def seeded(subject: StoreSubject) -> StoreSubject:
    """alice (1) and bob (2) in room 1, with three messages by alice, the second to @bob,
    posted as the service posts."""
    async with subject.uow.write() as tx:
        for name in ("alice", "bob"):
            await tx.users.add(name, None, "h", False, T0)
        room = await tx.rooms.add("general", None, False, 1, T0)
        for user_id, name in ((1, "alice"), (2, "bob")):
            await tx.members.add(Member(room.id, user_id, name, "member", T0))
    alice = Actor(1, "alice")
    await subject.posts.commit(
        [PostRequest(alice, 1, text, f"c-{n}", ("bob",) if "@" in text else ())
         for n, text in enumerate(("one", "two @BOB", "three"), start=1)], plan_batch, T0)
    return subject


class StoreContract:
    async def test_a_failed_write_leaves_nothing_behind(self, subject: StoreSubject) -> None:
        await seeded(subject)
        commits = subject.commits
        with pytest.raises(RuntimeError):
            async with subject.uow.write() as tx:
                await tx.members.set_read_seq(1, 2, 3)
                await tx.users.add("carol", None, "h", False, T0)
                raise RuntimeError("boom")

        async with subject.uow.read() as tx:
            assert (await tx.members.get(1, 2)).read_seq == 0  # type: ignore[union-attr]
            assert await tx.users.by_username("carol") is None
        assert (subject.commits - commits, subject.rollbacks) == (0, 1)

    async def test_uniqueness(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            with pytest.raises(Conflict, match="taken") as user:
                await tx.users.add("ALICE", None, "h", False, T0)
        async with subject.uow.write() as tx:
            with pytest.raises(Conflict) as room:
                await tx.rooms.add("general", None, True, 1, T0)
        async with subject.uow.write() as tx:
            with pytest.raises(Conflict) as member:
                await tx.members.add(Member(1, 2, "bob", "member", T0))
        assert (user.value.code, room.value.code, member.value.code) == (
            "username_taken", "room_name_taken", "already_member")

    async def test_read_markers_never_move_backwards(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            await tx.members.set_read_seq(1, 2, 2)
            await tx.members.set_read_seq(1, 2, 1)
            assert (await tx.members.get(1, 2)).read_seq == 2  # type: ignore[union-attr]

    @pytest.mark.parametrize(("before_seq", "after_seq", "limit", "expected"), [
        (None, None, 2, [2, 3]),
        (3, None, 5, [1, 2]),
        (None, 1, 1, [2]),
        (None, 0, 5, [1, 2, 3]),
    ])
    async def test_pages_are_oldest_first(self, subject: StoreSubject, before_seq: int | None,
                                          after_seq: int | None, limit: int,
                                          expected: list[int]) -> None:
        await seeded(subject)
        async with subject.uow.read() as tx:
            page = await tx.messages.page(1, before_seq=before_seq, after_seq=after_seq,
                                          limit=limit)
        assert [m.seq for m in page] == expected

    async def test_unread_counts_others_messages_and_mentions(
            self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            [alice] = await tx.messages.unread(1)
            [bob] = await tx.messages.unread(2)
            second = await tx.messages.get(2)
            assert second is not None
            second.is_deleted = True
            await tx.messages.update(second)
            [bob_after] = await tx.messages.unread(2)

        assert (alice.count, alice.mentions) == (0, 0)  # her own messages
        assert (bob.count, bob.mentions, bob.last_seq) == (3, 1, 3)
        assert (bob_after.count, bob_after.mentions) == (2, 0)  # deleted: neither counts

    async def test_replies_count_on_their_root_and_stay_out_of_the_timeline(
            self, subject: StoreSubject) -> None:
        await seeded(subject)
        bob = Actor(2, "bob")
        [reply, also, nested] = await subject.posts.commit(
            [PostRequest(bob, 1, "in the thread @alice", "t-1", ("alice",), 1),
             PostRequest(bob, 1, "also in the room", "t-2", (), 1, True),
             PostRequest(bob, 1, "to the reply", "t-3", (), 4)], plan_batch, T0)
        async with subject.uow.read() as tx:
            root = await tx.messages.get(1)
            timeline = await tx.messages.page(1, before_seq=None, after_seq=None, limit=10,
                                              timeline=True)
            everything = await tx.messages.page(1, before_seq=None, after_seq=None, limit=10)
            replies = await tx.messages.replies(1, after_seq=None, limit=10)
            held = await tx.messages.thread_seqs(1, 1, None)
            [alice] = await tx.messages.unread(1)
        assert root is not None and (root.reply_count, root.last_reply_at) == (3, T0)
        assert [m.seq for m in timeline] == [1, 2, 3, 5]
        assert [m.seq for m in everything] == [1, 2, 3, 4, 5, 6]
        assert [(m.seq, m.thread_root_id, m.also_send_to_room) for m in replies] == [
            (4, 1, False), (5, 1, True), (6, 1, False)]
        assert held == [4, 6]
        assert (nested.message.thread_root_id, also.message.also_send_to_room,  # type: ignore[union-attr]
                reply.message.seq) == (1, True, 4)  # type: ignore[union-attr]
        # Bob's one message of the room's timeline is unread; the thread-only mention is not.
        assert (alice.count, alice.mentions) == (1, 0)

    async def test_avatars_are_set_cleared_and_read_in_one_go(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            await tx.avatars.set_avatar(1, "a" * 32)
            await tx.avatars.set_avatar(2, "b" * 32)
            await tx.avatars.set_avatar(2, None)
        async with subject.uow.read() as tx:
            assert await tx.avatars.avatar_of(1) == "a" * 32
            assert await tx.avatars.avatar_of(2) is None
            assert await tx.avatars.avatars_of([1, 2, 99]) == {1: "a" * 32}
            assert await tx.avatars.avatars_of([]) == {}
