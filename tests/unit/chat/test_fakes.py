"""The fakes keep the promises of the SQLAlchemy stores the use case tests rely on."""

from __future__ import annotations

import pytest

from services.chat.domain import Actor, Conflict, Member
from services.chat.post_plan import PostRequest, plan_batch
from tests.unit.chat.fakes import T0, InMemoryChatTx, InMemoryChatUnitOfWork, InMemoryPostLog


async def _seed(tx: InMemoryChatTx) -> None:
    """alice (1) and bob (2) in room 1."""
    for name in ("alice", "bob"):
        await tx.users.add(name, None, "h", False, T0)
    room = await tx.rooms.add("general", None, False, 1, T0)
    for user_id, name in ((1, "alice"), (2, "bob")):
        await tx.members.add(Member(room.id, user_id, name, "member", T0))


@pytest.fixture
async def uow() -> InMemoryChatUnitOfWork:
    """...with three messages by alice, the second to @bob, posted as the service posts."""
    uow = InMemoryChatUnitOfWork()
    async with uow.write() as tx:
        await _seed(tx)
    alice = Actor(1, "alice")
    await InMemoryPostLog(uow).commit(
        [PostRequest(alice, 1, text, f"c-{n}", ("bob",) if "@" in text else ())
         for n, text in enumerate(("one", "two @BOB", "three"), start=1)], plan_batch, T0)
    return uow


async def test_a_failed_write_leaves_nothing_behind(uow: InMemoryChatUnitOfWork) -> None:
    with pytest.raises(RuntimeError):
        async with uow.write() as tx:
            await tx.members.set_read_seq(1, 2, 3)
            await tx.users.add("carol", None, "h", False, T0)
            raise RuntimeError("boom")

    async with uow.read() as tx:
        assert (await tx.members.get(1, 2)).read_seq == 0  # type: ignore[union-attr]
        assert await tx.users.by_username("carol") is None
    assert (uow.commits, uow.rollbacks) == (2, 1)  # the seed and the posts, then this


async def test_reads_cannot_write(uow: InMemoryChatUnitOfWork) -> None:
    with pytest.raises(AssertionError):
        async with uow.read() as tx:
            await tx.members.set_read_seq(1, 2, 3)


async def test_uniqueness(uow: InMemoryChatUnitOfWork) -> None:
    async with uow.write() as tx:
        with pytest.raises(Conflict, match="taken") as user:
            await tx.users.add("ALICE", None, "h", False, T0)
        with pytest.raises(Conflict) as room:
            await tx.rooms.add("general", None, True, 1, T0)
    assert (user.value.code, room.value.code) == ("username_taken", "room_name_taken")


async def test_read_markers_never_move_backwards(uow: InMemoryChatUnitOfWork) -> None:
    async with uow.write() as tx:
        await tx.members.set_read_seq(1, 2, 2)
        await tx.members.set_read_seq(1, 2, 1)
        assert (await tx.members.get(1, 2)).read_seq == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(("before_seq", "after_seq", "limit", "expected"), [
    (None, None, 2, [2, 3]),
    (3, None, 5, [1, 2]),
    (None, 1, 1, [2]),
    (None, 0, 5, [1, 2, 3]),
])
async def test_pages_are_oldest_first(uow: InMemoryChatUnitOfWork, before_seq: int | None,
                                      after_seq: int | None, limit: int,
                                      expected: list[int]) -> None:
    async with uow.read() as tx:
        page = await tx.messages.page(1, before_seq=before_seq, after_seq=after_seq,
                                      limit=limit)
    assert [m.seq for m in page] == expected


async def test_unread_counts_others_messages_and_mentions(uow: InMemoryChatUnitOfWork) -> None:
    async with uow.write() as tx:
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
