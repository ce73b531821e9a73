"""Direct messages on the fakes: the key rule, the size limits, the refusals, privacy,
what the outbox records and who hears of a new DM live."""

from __future__ import annotations

import asyncio

import pytest

from services.chat import use_cases
from services.chat.domain import (
    DM_MAX_MEMBERS,
    Actor,
    ChatError,
    Conflict,
    Invalid,
    NotFound,
    dm_key,
    dm_people,
    validate_room_name,
)
from services.chat.ports import ChatDeps
from shared.contracts import MemberJoined, RoomCreated
from tests.unit.chat.dm_fakes import InMemoryDmStore
from tests.unit.chat.fakes import InMemoryChatUnitOfWork, RecordingLiveFeed
from tests.unit.chat.test_fakes import FakeSubject

pytest.register_assert_rewrite("tests.unit.chat.dm_store_contract")
from tests.unit.chat.dm_store_contract import DmStoreContract  # noqa: E402

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


async def people(deps: ChatDeps, *names: str) -> list[Actor]:
    return [await sign_up(deps, name) for name in names]


# --- the rules --------------------------------------------------------------------------------

def test_the_same_people_in_any_order_have_one_key() -> None:
    assert dm_key([12, 3, 7]) == dm_key([7, 12, 3]) == dm_key([3, 3, 7, 12]) == "3,7,12"
    assert dm_key([1, 2]) != dm_key([1, 2, 3])
    assert dm_key([2, 10]) == "2,10"  # by number, not as text


def test_the_opener_is_in_and_repeats_count_once() -> None:
    assert dm_people(5, [9, 2, 9, 5]) == [2, 5, 9]


def test_a_dm_with_oneself_alone_is_refused() -> None:
    for others in ([], [4], [4, 4]):
        with pytest.raises(Invalid) as refused:
            dm_people(4, others)
        assert refused.value.code == "dm_with_self"


def test_at_most_eight_people_the_opener_included() -> None:
    assert len(dm_people(1, range(2, DM_MAX_MEMBERS + 1))) == DM_MAX_MEMBERS == 8
    with pytest.raises(Invalid) as refused:
        dm_people(1, range(2, DM_MAX_MEMBERS + 2))
    assert refused.value.code == "dm_too_many_members"


def test_room_names_cannot_take_a_dm_name() -> None:
    for name in ("dm:1,2", "DM:anything", "  dm:x"):
        with pytest.raises(Invalid) as refused:
            validate_room_name(name)
        assert refused.value.code == "room_name_reserved"
    assert validate_room_name("dms and more") == "dms and more"


# --- opening ----------------------------------------------------------------------------------

async def test_opening_makes_a_private_dm_with_everyone_as_plain_members(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    alice, bob, carol = await people(deps, "alice", "bob", "carol")
    opened = await use_cases.open_dm(deps, alice, [carol.user_id, bob.user_id])  # type: ignore[list-item]
    assert opened.created
    room = opened.room
    assert (room.kind, room.is_private, room.dm_key) == ("dm", True, "1,2,3")
    assert [(m.user_id, m.username, m.role) for m in opened.members] == [
        (1, "alice", "member"), (2, "bob", "member"), (3, "carol", "member")]
    [created] = uow.events_of(RoomCreated)
    assert (created.kind, created.is_private, created.room_id) == ("dm", True, room.id)
    joined = uow.events_of(MemberJoined)
    assert [(e.user_id, e.invited_by) for e in joined] == [(1, None), (2, 1), (3, 1)]
    # Each member's own sockets hear of it: the page shows the DM without a reload.
    frames = [(s.target, s.id, s.frame.type, s.frame.data["user_id"]) for s in live.sent]
    assert frames == [("user", 1, "member_joined", 1), ("user", 2, "member_joined", 2),
                      ("user", 3, "member_joined", 3)]


async def test_the_same_people_get_the_same_dm_whoever_opens_it(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    alice, bob, carol = await people(deps, "alice", "bob", "carol")
    first = await use_cases.open_dm(deps, alice, [bob.user_id])  # type: ignore[list-item]
    sent = len(live.sent)
    again = await use_cases.open_dm(deps, bob, [alice.user_id, bob.user_id])  # type: ignore[list-item]
    assert (again.created, again.room.id) == (False, first.room.id)
    assert [m.user_id for m in again.members] == [1, 2]
    assert len(live.sent) == sent and len(uow.events_of(RoomCreated)) == 1
    group = await use_cases.open_dm(deps, alice, [bob.user_id, carol.user_id])  # type: ignore[list-item]
    assert group.created and group.room.id != first.room.id


async def test_two_openers_at_once_make_one_dm(deps: ChatDeps,
                                               uow: InMemoryChatUnitOfWork) -> None:
    alice, bob = await people(deps, "alice", "bob")
    both = await asyncio.gather(use_cases.open_dm(deps, alice, [bob.user_id]),  # type: ignore[list-item]
                                use_cases.open_dm(deps, bob, [alice.user_id]))  # type: ignore[list-item]
    assert len({o.room.id for o in both}) == 1
    assert sorted(o.created for o in both) == [False, True]
    assert len(uow.events_of(RoomCreated)) == 1


async def test_a_lost_insert_race_reads_the_winner(deps: ChatDeps,
                                                   uow: InMemoryChatUnitOfWork) -> None:
    """The key's uniqueness is the last word: another opener committed between this one's
    look-up and its insert (what PostgreSQL's unique index settles)."""
    alice, bob = await people(deps, "alice", "bob")
    winner = await use_cases.open_dm(deps, bob, [alice.user_id])  # type: ignore[list-item]
    original = InMemoryDmStore.by_key
    calls = 0

    async def blind_once(self: InMemoryDmStore, key: str):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return None if calls == 1 else await original(self, key)

    InMemoryDmStore.by_key = blind_once  # type: ignore[method-assign]
    try:
        lost = await use_cases.open_dm(deps, alice, [bob.user_id])  # type: ignore[list-item]
    finally:
        InMemoryDmStore.by_key = original  # type: ignore[method-assign]
    assert (lost.created, lost.room.id) == (False, winner.room.id)
    assert [m.user_id for m in lost.members] == [1, 2]
    assert len([r for r in uow.state.rooms.values() if r.kind == "dm"]) == 1


@pytest.mark.parametrize("others, code", [
    ([], "dm_with_self"), ([1], "dm_with_self"), (list(range(2, 10)), "dm_too_many_members"),
])
async def test_size_refusals(deps: ChatDeps, others: list[int], code: str) -> None:
    alice, *_ = await people(deps, *(f"user{n}" for n in range(1, 10)))
    with pytest.raises(Invalid) as refused:
        await use_cases.open_dm(deps, alice, others)
    assert refused.value.code == code


async def test_unknown_deleted_and_deactivated_people_are_refused(deps: ChatDeps) -> None:
    admin, alice, bob, carol = await people(deps, "root", "alice", "bob", "carol")
    admin = Actor(admin.user_id, admin.username, True)
    with pytest.raises(NotFound) as unknown:
        await use_cases.open_dm(deps, alice, [99])
    assert (unknown.value.code, unknown.value.status) == ("user_not_found", 404)
    await use_cases.delete_account(deps, bob, PASSWORD)
    with pytest.raises(NotFound) as deleted:
        await use_cases.open_dm(deps, alice, [bob.user_id])  # type: ignore[list-item]
    assert deleted.value.code == "user_not_found"
    await use_cases.deactivate_user(deps, admin, carol.user_id)  # type: ignore[arg-type]
    with pytest.raises(Invalid) as deactivated:
        await use_cases.open_dm(deps, alice, [carol.user_id])  # type: ignore[list-item]
    assert (deactivated.value.code, deactivated.value.status) == ("user_deactivated", 422)


# --- private to its members, fixed members ------------------------------------------------------

async def test_non_members_cannot_see_read_join_or_post(deps: ChatDeps) -> None:
    alice, bob, eve = await people(deps, "alice", "bob", "eve")
    admin = Actor((await sign_up(deps, "root")).user_id, "root", is_admin=True)
    room = (await use_cases.open_dm(deps, alice, [bob.user_id])).room  # type: ignore[list-item]
    await use_cases.post_message(deps, alice, room.id, "just us")
    for outsider in (eve, admin):
        assert room.id not in [r.id for r in await use_cases.list_rooms(deps, outsider)]
        for attempt in (use_cases.get_room(deps, outsider, room.id),
                        use_cases.history(deps, outsider, room.id),
                        use_cases.join_room(deps, outsider, room.id),
                        use_cases.list_members(deps, outsider, room.id),
                        use_cases.post_message(deps, outsider, room.id, "hi")):
            with pytest.raises(ChatError) as refused:
                await attempt
            assert refused.value.code in ("room_not_found", "forbidden", "not_a_member")
        assert await use_cases.dm_members(deps, outsider, [room.id]) == {}
    for member in (alice, bob):
        assert room.id in [r.id for r in await use_cases.list_rooms(deps, member)]
    assert [m.username for m in (await use_cases.dm_members(deps, bob, [room.id]))[room.id]] \
        == ["alice", "bob"]


async def test_a_dm_is_not_renamed_invited_into_kicked_from_or_left(deps: ChatDeps) -> None:
    alice, bob, _carol = await people(deps, "alice", "bob", "carol")
    admin = Actor(alice.user_id, alice.username, is_admin=True)  # even a server admin in it
    room = (await use_cases.open_dm(deps, alice, [bob.user_id])).room  # type: ignore[list-item]
    attempts = {
        "dm_not_editable": [use_cases.update_room(deps, admin, room.id, name="ours"),
                            use_cases.update_room(deps, alice, room.id, is_private=False)],
        "dm_members_fixed": [use_cases.invite_member(deps, admin, room.id, "carol"),
                             use_cases.kick_member(deps, admin, room.id, bob.user_id),  # type: ignore[arg-type]
                             use_cases.change_role(deps, admin, room.id, bob.user_id,  # type: ignore[arg-type]
                                                   "admin")],
        "dm_cannot_leave": [use_cases.leave_room(deps, bob, room.id)],
    }
    for code, calls in attempts.items():
        for call in calls:
            with pytest.raises(Conflict) as refused:
                await call
            assert (refused.value.code, refused.value.status) == (code, 409)
    members = await use_cases.list_members(deps, alice, room.id)
    assert [(m.username, m.role) for m in members] == [("alice", "member"), ("bob", "member")]
    (fresh, _) = await use_cases.get_room(deps, bob, room.id)
    assert (fresh.name, fresh.is_private) == (room.name, True)


async def test_a_room_cannot_be_named_like_a_dm(deps: ChatDeps) -> None:
    alice, bob = await people(deps, "alice", "bob")
    with pytest.raises(Invalid) as refused:
        await use_cases.create_room(deps, alice, "dm:1,2")
    assert refused.value.code == "room_name_reserved"
    room = await use_cases.create_room(deps, alice, "general")
    with pytest.raises(Invalid):
        await use_cases.update_room(deps, alice, room.id, name="dm:1,2")
    assert (await use_cases.open_dm(deps, alice, [bob.user_id])).created  # type: ignore[list-item]


async def test_members_post_and_read_as_in_a_private_room(deps: ChatDeps) -> None:
    alice, bob = await people(deps, "alice", "bob")
    room = (await use_cases.open_dm(deps, alice, [bob.user_id])).room  # type: ignore[list-item]
    await use_cases.post_message(deps, alice, room.id, "hello bob")
    page = await use_cases.history(deps, bob, room.id)
    assert [m.content for m in page.messages] == ["hello bob"]
    [unread] = [u for u in await use_cases.unread_counts(deps, bob) if u.room_id == room.id]
    assert unread.count == 1


# --- finding people ------------------------------------------------------------------------------

async def test_people_are_found_by_username_prefix_active_only(deps: ChatDeps) -> None:
    root, alice, _alan, bob = await people(deps, "root", "Alice", "alan", "bob")
    admin = Actor(root.user_id, "root", is_admin=True)
    found = await use_cases.find_people(deps, bob, "al")
    assert [u.username for u in found] == ["alan", "Alice"]
    await use_cases.deactivate_user(deps, admin, alice.user_id)  # type: ignore[arg-type]
    assert [u.username for u in await use_cases.find_people(deps, bob, "AL")] == ["alan"]
    assert len(await use_cases.find_people(deps, bob, "", limit=2)) == 2
    with pytest.raises(ChatError) as guest:
        await use_cases.find_people(deps, Actor(None), "a")
    assert guest.value.code == "not_authenticated"


class TestInMemoryDmStore(DmStoreContract):
    @pytest.fixture
    def subject(self) -> FakeSubject:
        return FakeSubject()
