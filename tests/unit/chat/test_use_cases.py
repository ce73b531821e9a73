"""The chat use cases on fakes: what users see, what the outbox records, what goes live."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.chat import use_cases
from services.chat.domain import (
    GUEST,
    Actor,
    ChatError,
    Conflict,
    Forbidden,
    Frame,
    Invalid,
    Message,
    NotFound,
    Room,
    Unauthenticated,
    Unread,
)
from services.chat.domain.admin import ServerSettings, SettingsCache
from services.chat.ports import ChatDeps
from services.chat.posting import PostQueue
from shared.contracts import (
    MemberJoined,
    MemberLeft,
    MemberRoleChanged,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    RoomCreated,
    RoomUpdated,
    UserRegistered,
)
from tests.unit.chat.fakes import (
    ChatState,
    FixedClock,
    InMemoryChatUnitOfWork,
    InMemoryPostLog,
    RecordingLiveFeed,
    Sent,
    make_deps,
)

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


async def say(deps: ChatDeps, actor: Actor, room_id: int, *contents: str) -> list[Message]:
    return [(await use_cases.post_message(deps, actor, room_id, c)).message for c in contents]


async def chat_history(deps: ChatDeps, actor: Actor, room_id: int, **paging: Any) -> list[str]:
    page = await use_cases.history(deps, actor, room_id, **paging)
    return [m.content for m in page.messages]


def seqs(messages: list[Message]) -> list[int]:
    return [m.seq for m in messages]


def kinds(uow: InMemoryChatUnitOfWork) -> list[str]:
    return [type(e).__name__ for e in uow.events]


async def unread_in(deps: ChatDeps, actor: Actor, room_id: int) -> Unread:
    return next(u for u in await use_cases.unread_counts(deps, actor) if u.room_id == room_id)


@pytest.fixture
async def alice(deps: ChatDeps) -> Actor:
    return await sign_up(deps, "alice")


@pytest.fixture
async def bob(deps: ChatDeps) -> Actor:
    return await sign_up(deps, "bob")


@pytest.fixture
async def room(deps: ChatDeps, alice: Actor) -> Room:
    return await use_cases.create_room(deps, alice, "general", "Anything goes")


@pytest.fixture
async def private(deps: ChatDeps, alice: Actor) -> Room:
    return await use_cases.create_room(deps, alice, "secret", is_private=True)


@dataclass
class Cast:
    """A public room: alice (admin), bob and dave (members), carol and erin (moderators), and
    root, a server admin who is not in it."""

    room: Room
    alice: Actor
    bob: Actor
    carol: Actor
    dave: Actor
    erin: Actor
    root: Actor

    def __getitem__(self, name: str) -> Actor:
        return getattr(self, name)  # type: ignore[no-any-return]


@pytest.fixture
async def cast(deps: ChatDeps, alice: Actor, bob: Actor, room: Room) -> Cast:
    carol, dave, erin = [await sign_up(deps, n) for n in ("carol", "dave", "erin")]
    root = await sign_up(deps, "root", is_admin=True)
    for actor in (bob, carol, dave, erin):
        await use_cases.join_room(deps, actor, room.id)
    for moderator in (carol, erin):
        await use_cases.change_role(deps, alice, room.id, moderator.user_id or 0, "moderator")
    return Cast(room, alice, bob, carol, dave, erin, root)


# --- accounts ----------------------------------------------------------------------------


async def test_register_then_sign_in(deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    user = await use_cases.register(deps, "Alice", PASSWORD, "Alice A.")

    assert await use_cases.authenticate(deps, "Alice", PASSWORD) == user
    assert await use_cases.authenticate(deps, "alice", PASSWORD) == user
    assert uow.state.password_hashes[user.id] != PASSWORD
    [event] = uow.events_of(UserRegistered)
    assert (event.user_id, event.username, event.display_name) == (user.id, "Alice", "Alice A.")


async def test_the_first_account_is_the_administrator(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="services.chat.use_cases"):
        first = await use_cases.register(deps, "ana", PASSWORD)
        second = await use_cases.register(deps, "bruno", PASSWORD)

    assert (first.is_admin, second.is_admin) == (True, False)
    assert [e.is_admin for e in uow.events_of(UserRegistered)] == [True, False]
    assert [r.getMessage() for r in caplog.records] == [
        "ana is the first account: administrator"]


@pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice"])
async def test_usernames_are_unique_whatever_the_case(deps: ChatDeps, alice: Actor,
                                                      uow: InMemoryChatUnitOfWork,
                                                      taken: str) -> None:
    before = copy.deepcopy(uow.state)

    with pytest.raises(Conflict) as refused:
        await use_cases.register(deps, taken, "another-password")

    assert refused.value.code == "username_taken"
    assert uow.state == before


@pytest.mark.parametrize(("username", "password", "code"), [
    ("al", PASSWORD, "invalid_username"),
    ("al ice", PASSWORD, "invalid_username"),
    ("x" * 33, PASSWORD, "invalid_username"),
    ("alice", "short", "password_too_short"),
    ("alice", "", "password_too_short"),
    ("alice", " " * 8, "password_blank"),
    ("alice", "ALICE", "password_too_short"),
    ("alice.b", "Alice.B", "password_too_short"),
    ("alice.bb", "ALICE.BB", "password_is_username"),
    ("alice", "Password123", "password_too_common"),
])
async def test_register_refuses_bad_input(deps: ChatDeps, uow: InMemoryChatUnitOfWork,
                                          username: str, password: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        await use_cases.register(deps, username, password)

    assert refused.value.code == code
    assert uow.state == ChatState()


async def test_register_refuses_a_newline_lookalike(deps: ChatDeps, alice: Actor) -> None:
    with pytest.raises(ChatError):
        await use_cases.register(deps, "alice\n", PASSWORD)


@pytest.mark.parametrize(("username", "password"), [
    ("alice", "wrong-password"),
    ("nobody", PASSWORD),
    ("", ""),
])
async def test_wrong_username_and_wrong_password_look_the_same(
        deps: ChatDeps, alice: Actor, username: str, password: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await use_cases.authenticate(deps, username, password)

    assert refused.value.code == "invalid_credentials"
    assert refused.value.message == "Wrong username or password."


async def test_current_user(deps: ChatDeps, alice: Actor) -> None:
    assert (await use_cases.current_user(deps, alice)).username == "alice"

    with pytest.raises(Unauthenticated) as guest:
        await use_cases.current_user(deps, GUEST)
    with pytest.raises(Unauthenticated) as gone:
        await use_cases.current_user(deps, Actor(999, "ghost"))

    assert guest.value.code == "not_authenticated"
    assert gone.value.code == "unknown_user"


async def test_ensure_admin_creates_the_first_admin(deps: ChatDeps,
                                                    uow: InMemoryChatUnitOfWork) -> None:
    assert await use_cases.ensure_admin(deps, "root", PASSWORD) == "created"

    user = await use_cases.authenticate(deps, "root", PASSWORD)
    assert user.is_admin
    assert uow.events_of(UserRegistered)[0].is_admin

    assert await use_cases.ensure_admin(deps, "ROOT", "some-other-password") == "exists"
    assert len(uow.events) == 1


async def test_ensure_admin_promotes_without_resetting_the_password(
        deps: ChatDeps, alice: Actor, bob: Actor) -> None:
    assert not (await use_cases.current_user(deps, bob)).is_admin  # alice was first
    assert await use_cases.ensure_admin(deps, "bob", "a-new-password") == "promoted"

    assert (await use_cases.current_user(deps, bob)).is_admin
    assert await use_cases.authenticate(deps, "bob", PASSWORD)
    with pytest.raises(Unauthenticated):
        await use_cases.authenticate(deps, "bob", "a-new-password")


# --- rooms -------------------------------------------------------------------------------


async def test_creator_becomes_the_rooms_admin(deps: ChatDeps, alice: Actor,
                                               uow: InMemoryChatUnitOfWork,
                                               clock: FixedClock) -> None:
    room = await use_cases.create_room(deps, alice, "  general ", "Anything goes")

    assert room.name == "general"
    _, member = await use_cases.get_room(deps, alice, room.id)
    assert member is not None and member.role == "admin"
    assert kinds(uow)[-2:] == ["RoomCreated", "MemberJoined"]
    created, joined = uow.events[-2:]
    assert isinstance(created, RoomCreated) and isinstance(joined, MemberJoined)
    assert (created.room_id, created.name, created.created_by) == (room.id, "general",
                                                                    alice.user_id)
    assert (joined.user_id, joined.role, joined.joined_at) == (alice.user_id, "admin",
                                                                clock.now())


@pytest.mark.parametrize(("name", "error", "code"), [
    ("general", Conflict, "room_name_taken"),
    ("  general  ", Conflict, "room_name_taken"),
    ("   ", Invalid, "invalid_room_name"),
    ("x" * 101, Invalid, "invalid_room_name"),
])
async def test_create_room_refusals_write_nothing(deps: ChatDeps, alice: Actor, room: Room,
                                                  uow: InMemoryChatUnitOfWork, name: str,
                                                  error: type[ChatError], code: str) -> None:
    before = copy.deepcopy(uow.state)

    with pytest.raises(error) as refused:
        await use_cases.create_room(deps, alice, name)

    assert refused.value.code == code
    assert uow.state == before


async def test_guests_cannot_create_rooms(deps: ChatDeps) -> None:
    with pytest.raises(Unauthenticated):
        await use_cases.create_room(deps, GUEST, "general")


async def test_room_list_shows_private_rooms_only_to_members(
        deps: ChatDeps, alice: Actor, bob: Actor, room: Room, private: Room) -> None:
    assert [r.name for r in await use_cases.list_rooms(deps, alice)] == ["general", "secret"]
    assert [r.name for r in await use_cases.list_rooms(deps, bob)] == ["general"]
    assert [r.name for r in await use_cases.list_rooms(deps, GUEST)] == ["general"]


Probe = Callable[[ChatDeps, Actor, int], Awaitable[object]]
READ_PROBES: dict[str, Probe] = {
    "get_room": lambda d, a, r: use_cases.get_room(d, a, r),
    "history": lambda d, a, r: use_cases.history(d, a, r),
    "recover": lambda d, a, r: use_cases.recover(d, a, r, 0),
    "list_members": lambda d, a, r: use_cases.list_members(d, a, r),
}
WRITE_PROBES: dict[str, Probe] = {
    "join_room": lambda d, a, r: use_cases.join_room(d, a, r),
    "post_message": lambda d, a, r: use_cases.post_message(d, a, r, "hello"),
    "mark_read": lambda d, a, r: use_cases.mark_read(d, a, r, 1),
    "leave_room": lambda d, a, r: use_cases.leave_room(d, a, r),
    "update_room": lambda d, a, r: use_cases.update_room(d, a, r, name="mine now"),
    "invite_member": lambda d, a, r: use_cases.invite_member(d, a, r, "bob"),
}
CASES = ([(p, "outsider") for p in {**READ_PROBES, **WRITE_PROBES}]
         + [(p, "guest") for p in READ_PROBES])


async def _refusal(call: Awaitable[object]) -> tuple[type, str]:
    with pytest.raises(ChatError) as refused:
        await call
    return type(refused.value), refused.value.code


@pytest.mark.parametrize(("probe", "who"), CASES)
async def test_private_rooms_look_like_rooms_that_do_not_exist(
        deps: ChatDeps, alice: Actor, bob: Actor, private: Room, uow: InMemoryChatUnitOfWork,
        live: RecordingLiveFeed, probe: str, who: str) -> None:
    await say(deps, alice, private.id, "for members only")
    call = {**READ_PROBES, **WRITE_PROBES}[probe]
    actor = await sign_up(deps, "outsider") if who == "outsider" else GUEST
    before, sent_before = copy.deepcopy(uow.state), len(live.sent)

    hidden = await _refusal(call(deps, actor, private.id))
    missing = await _refusal(call(deps, actor, 999))

    assert hidden == missing == (NotFound, "room_not_found")
    assert uow.state == before
    assert len(live.sent) == sent_before


@pytest.mark.parametrize("action", ["edit", "delete"])
async def test_messages_in_private_rooms_look_like_messages_that_do_not_exist(
        deps: ChatDeps, alice: Actor, bob: Actor, private: Room, action: str) -> None:
    [message] = await say(deps, alice, private.id, "for members only")

    async def attempt(message_id: int) -> tuple[type, str]:
        if action == "edit":
            return await _refusal(use_cases.edit_message(deps, bob, message_id, "mine"))
        return await _refusal(use_cases.delete_message(deps, bob, message_id))

    assert await attempt(message.id) == await attempt(999) == (NotFound, "message_not_found")


async def test_room_admin_updates_the_room(deps: ChatDeps, alice: Actor, bob: Actor,
                                           room: Room, uow: InMemoryChatUnitOfWork,
                                           live: RecordingLiveFeed) -> None:
    updated = await use_cases.update_room(deps, alice, room.id, name="lobby",
                                          description="Say hi", is_private=True)

    assert [r.name for r in await use_cases.list_rooms(deps, alice)] == ["lobby"]
    assert await use_cases.list_rooms(deps, bob) == []  # now private, and bob is not in it
    [event] = uow.events_of(RoomUpdated)
    assert (event.name, event.description, event.is_private, event.updated_by) == (
        "lobby", "Say hi", True, alice.user_id)
    [frame] = live.frames("room", room.id, "room_updated")
    assert frame.data["name"] == "lobby"
    assert updated.last_seq == 0


async def test_a_room_update_says_members_only_exactly_when_the_room_is_private(
        deps: ChatDeps, alice: Actor, room: Room, live: RecordingLiveFeed) -> None:
    await use_cases.update_room(deps, alice, room.id, is_private=True)
    await use_cases.update_room(deps, alice, room.id, description="still private")
    await use_cases.update_room(deps, alice, room.id, is_private=False)
    assert [(f.data["is_private"], f.members_only)
            for f in live.frames("room", room.id, "room_updated")] == [
        (True, True), (True, True), (False, False)]


async def test_only_room_admins_update_rooms(deps: ChatDeps, alice: Actor, bob: Actor,
                                             room: Room, uow: InMemoryChatUnitOfWork) -> None:
    await use_cases.join_room(deps, bob, room.id)
    await use_cases.create_room(deps, alice, "random")
    before = copy.deepcopy(uow.state)

    with pytest.raises(Forbidden) as not_admin:
        await use_cases.update_room(deps, bob, room.id, name="bob's")
    with pytest.raises(Conflict) as taken:
        await use_cases.update_room(deps, alice, room.id, name="random")

    assert not_admin.value.code == "not_room_admin"
    assert taken.value.code == "room_name_taken"
    assert uow.state == before


async def test_join_a_public_room(deps: ChatDeps, bob: Actor, room: Room,
                                  uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    member = await use_cases.join_room(deps, bob, room.id)
    events = len(uow.events)
    again = await use_cases.join_room(deps, bob, room.id)

    assert (member.username, member.role) == ("bob", "member")
    assert again.user_id == member.user_id
    assert [m.username for m in await use_cases.list_members(deps, bob, room.id)] == [
        "alice", "bob"]
    assert uow.events_of(MemberJoined)[-1].user_id == bob.user_id
    assert len(uow.events) == events  # joining twice is a no-op
    assert [f.data["username"] for f in live.frames("room", room.id, "member_joined")] == [
        "bob"]


async def test_newcomers_start_with_nothing_unread(deps: ChatDeps, alice: Actor, bob: Actor,
                                                   room: Room) -> None:
    await say(deps, alice, room.id, "one", "two @bob")

    await use_cases.join_room(deps, bob, room.id)

    assert await unread_in(deps, bob, room.id) == Unread(room.id, 0, 0, 2, 2)


async def test_leave_a_room(deps: ChatDeps, bob: Actor, room: Room,
                            uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    await use_cases.join_room(deps, bob, room.id)

    await use_cases.leave_room(deps, bob, room.id)

    assert [m.username for m in await use_cases.list_members(deps, bob, room.id)] == ["alice"]
    [event] = uow.events_of(MemberLeft)
    assert (event.user_id, event.reason, event.removed_by) == (bob.user_id, "left", None)
    assert live.frames("room", room.id, "member_left")[0].about_user == bob.user_id
    with pytest.raises(NotFound) as not_member:
        await use_cases.leave_room(deps, bob, room.id)
    assert not_member.value.code == "not_a_member"


@pytest.mark.parametrize(("kicker", "target", "allowed"), [
    ("carol", "bob", True),     # moderator removes a member
    ("carol", "erin", False),   # ... not another moderator
    ("carol", "alice", False),  # ... nor an admin
    ("bob", "dave", False),     # members remove no one
    ("alice", "carol", True),   # room admins remove moderators
    ("root", "bob", True),      # server admins too
])
async def test_kick_rules(deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork,
                          kicker: str, target: str, allowed: bool) -> None:
    room, target_id = cast.room, cast[target].user_id or 0
    before = copy.deepcopy(uow.state)

    if not allowed:
        with pytest.raises(Forbidden):
            await use_cases.kick_member(deps, cast[kicker], room.id, target_id)
        assert uow.state == before
        return
    await use_cases.kick_member(deps, cast[kicker], room.id, target_id)
    members = [m.username for m in await use_cases.list_members(deps, cast.alice, room.id)]
    assert target not in members
    [event] = uow.events_of(MemberLeft)
    assert (event.reason, event.removed_by) == ("kicked", cast[kicker].user_id)


async def test_no_one_kicks_themselves(deps: ChatDeps, cast: Cast) -> None:
    with pytest.raises(Invalid) as refused:
        await use_cases.kick_member(deps, cast.carol, cast.room.id, cast.carol.user_id or 0)
    assert refused.value.code == "cannot_kick_self"


async def test_kicked_member_loses_a_private_room(deps: ChatDeps, alice: Actor, bob: Actor,
                                                  private: Room,
                                                  live: RecordingLiveFeed) -> None:
    await use_cases.invite_member(deps, alice, private.id, "bob")
    await say(deps, bob, private.id, "thanks for having me")

    await use_cases.kick_member(deps, alice, private.id, bob.user_id or 0)

    assert await use_cases.list_rooms(deps, bob) == []
    for attempt in (use_cases.get_room(deps, bob, private.id),
                    use_cases.history(deps, bob, private.id),
                    use_cases.post_message(deps, bob, private.id, "let me back in"),
                    use_cases.join_room(deps, bob, private.id)):
        with pytest.raises(NotFound) as hidden:
            await attempt
        assert hidden.value.code == "room_not_found"
    [left] = live.frames("room", private.id, "member_left")
    assert (left.about_user, left.data["reason"]) == (bob.user_id, "kicked")


async def test_invited_member_sees_the_private_room(
        deps: ChatDeps, alice: Actor, bob: Actor, private: Room, uow: InMemoryChatUnitOfWork,
        live: RecordingLiveFeed) -> None:
    await say(deps, alice, private.id, "before bob")

    member = await use_cases.invite_member(deps, alice, private.id, "BOB")

    assert (member.user_id, member.role) == (bob.user_id, "member")
    assert [r.name for r in await use_cases.list_rooms(deps, bob)] == ["secret"]
    assert await chat_history(deps, bob, private.id) == ["before bob"]
    assert await unread_in(deps, bob, private.id) == Unread(private.id, 0, 0, 1, 1)
    joined = uow.events_of(MemberJoined)[-1]
    assert (joined.user_id, joined.invited_by) == (bob.user_id, alice.user_id)
    to_room = live.frames("room", private.id, "member_joined")[-1]
    assert (to_room.data["user_id"], to_room.exclude_user) == (bob.user_id, bob.user_id)
    [to_bob] = live.frames("user", bob.user_id, "member_joined")
    assert to_bob.data == to_room.data


async def test_invitation_rules(deps: ChatDeps, cast: Cast,
                                uow: InMemoryChatUnitOfWork) -> None:
    room = cast.room
    await sign_up(deps, "frank")
    await sign_up(deps, "grace")
    before = copy.deepcopy(uow.state)

    with pytest.raises(Forbidden):
        await use_cases.invite_member(deps, cast.bob, room.id, "frank")
    with pytest.raises(Forbidden):
        await use_cases.invite_member(deps, cast.carol, room.id, "frank", "moderator")
    with pytest.raises(NotFound) as unknown:
        await use_cases.invite_member(deps, cast.alice, room.id, "nobody")
    existing = await use_cases.invite_member(deps, cast.alice, room.id, "bob", "admin")
    assert unknown.value.code == "user_not_found"
    assert existing.role == "member"  # inviting a member again changes nothing
    assert uow.state == before

    assert (await use_cases.invite_member(deps, cast.carol, room.id, "frank")).role == "member"
    granted = await use_cases.invite_member(deps, cast.alice, room.id, "grace", "moderator")
    assert granted.role == "moderator"


async def test_invite_with_an_unknown_role_is_invalid(deps: ChatDeps, alice: Actor, bob: Actor,
                                                      private: Room,
                                                      uow: InMemoryChatUnitOfWork) -> None:
    before = copy.deepcopy(uow.state)
    try:
        with pytest.raises(Invalid) as refused:
            await use_cases.invite_member(deps, alice, private.id, "bob", "owner")  # type: ignore[arg-type]
        assert refused.value.code == "invalid_role"
    finally:
        assert uow.state == before  # whatever the error, nobody was half-added


async def test_room_admin_changes_roles(deps: ChatDeps, cast: Cast,
                                        uow: InMemoryChatUnitOfWork,
                                        live: RecordingLiveFeed) -> None:
    room, bob = cast.room, cast.bob
    [dave_says] = await say(deps, cast.dave, room.id, "spam")
    with pytest.raises(Forbidden):
        await use_cases.delete_message(deps, bob, dave_says.id)

    member = await use_cases.change_role(deps, cast.alice, room.id, bob.user_id or 0,
                                         "moderator")

    assert member.role == "moderator"
    await use_cases.delete_message(deps, bob, dave_says.id)  # what the new role is for
    event = uow.events_of(MemberRoleChanged)[-1]
    assert (event.user_id, event.previous, event.role, event.changed_by) == (
        bob.user_id, "member", "moderator", cast.alice.user_id)
    assert live.frames("room", room.id, "member_role_changed")[-1].data["role"] == "moderator"


async def test_only_room_admins_change_roles(deps: ChatDeps, cast: Cast,
                                             uow: InMemoryChatUnitOfWork) -> None:
    room, bob_id = cast.room, cast.bob.user_id or 0
    before = copy.deepcopy(uow.state)

    with pytest.raises(Forbidden) as moderator:
        await use_cases.change_role(deps, cast.carol, room.id, bob_id, "moderator")
    with pytest.raises(Forbidden):
        await use_cases.change_role(deps, cast.bob, room.id, bob_id, "admin")
    with pytest.raises(Invalid) as bad_role:
        await use_cases.change_role(deps, cast.alice, room.id, bob_id, "owner")
    same = await use_cases.change_role(deps, cast.alice, room.id, bob_id, "member")

    assert moderator.value.code == "not_room_admin"
    assert bad_role.value.code == "invalid_role"
    assert same.role == "member"
    assert uow.state == before
    assert (await use_cases.change_role(deps, cast.root, room.id, bob_id, "admin")).role == "admin"


# --- posting -----------------------------------------------------------------------------


async def test_each_room_numbers_its_own_messages(deps: ChatDeps, alice: Actor,
                                                  room: Room) -> None:
    other = await use_cases.create_room(deps, alice, "random")
    posted = [(r.id, m.seq) for r in (room, room, other, room, other)
              for m in await say(deps, alice, r.id, "hi")]

    assert posted == [(room.id, 1), (room.id, 2), (other.id, 1), (room.id, 3), (other.id, 2)]
    assert (await use_cases.get_room(deps, alice, room.id))[0].last_seq == 3


async def test_post_records_the_event_and_tells_the_room(
        deps: ChatDeps, alice: Actor, room: Room, uow: InMemoryChatUnitOfWork,
        live: RecordingLiveFeed, clock: FixedClock) -> None:

    posted = await use_cases.post_message(deps, alice, room.id, "  hi @Bob and @carol @bob ",
                                          client_msg_id="c-1")

    message = posted.message
    assert posted.created
    assert (message.seq, message.content, message.created_at) == (1, "hi @Bob and @carol @bob",
                                                                  clock.now())
    [event] = uow.events_of(MessageCreated)
    assert (event.message_id, event.seq, event.content, event.client_msg_id) == (
        message.id, 1, "hi @Bob and @carol @bob", "c-1")
    assert event.mentions == ["bob", "carol"]
    [frame] = live.frames("room", room.id, "message")
    assert (frame.seq, frame.data["content"], frame.data["username"]) == (
        1, "hi @Bob and @carol @bob", "alice")


async def test_posting_in_a_public_room_joins_it(deps: ChatDeps, bob: Actor, room: Room,
                                                 uow: InMemoryChatUnitOfWork,
                                                 live: RecordingLiveFeed) -> None:
    await use_cases.post_message(deps, bob, room.id, "hello, I'm new")

    [_, bob_member] = await use_cases.list_members(deps, bob, room.id)
    assert (bob_member.username, bob_member.role) == ("bob", "member")
    assert kinds(uow)[-2:] == ["MemberJoined", "MessageCreated"]
    assert [s.frame.type for s in live.sent] == ["member_joined", "message"]
    unread = await unread_in(deps, bob, room.id)
    assert (unread.count, unread.mentions) == (0, 0)  # your own words are never unread


async def test_guests_cannot_post(deps: ChatDeps, room: Room) -> None:
    with pytest.raises(Unauthenticated):
        await use_cases.post_message(deps, GUEST, room.id, "hi")


async def test_a_retry_returns_the_first_message(deps: ChatDeps, alice: Actor, room: Room,
                                                 uow: InMemoryChatUnitOfWork,
                                                 live: RecordingLiveFeed) -> None:
    first = await use_cases.post_message(deps, alice, room.id, "once", client_msg_id="c-1")

    retry = await use_cases.post_message(deps, alice, room.id, "once", client_msg_id="c-1")

    assert retry.created is False
    assert (retry.message.id, retry.message.seq) == (first.message.id, first.message.seq)
    assert len(uow.events_of(MessageCreated)) == 1
    assert len(live.frames(type="message")) == 1
    assert await chat_history(deps, alice, room.id) == ["once"]
    assert seqs(await say(deps, alice, room.id, "next")) == [2]


async def test_a_double_tapped_send_posts_once(deps: ChatDeps, alice: Actor, room: Room,
                                               uow: InMemoryChatUnitOfWork) -> None:
    first, second = await asyncio.gather(
        use_cases.post_message(deps, alice, room.id, "once", client_msg_id="c-1"),
        use_cases.post_message(deps, alice, room.id, "once", client_msg_id="c-1"))

    assert sorted([first.created, second.created]) == [False, True]
    assert first.message.id == second.message.id
    assert len(uow.events_of(MessageCreated)) == 1


async def test_a_retry_that_loses_the_race_answers_with_the_winner() -> None:
    uow = InMemoryChatUnitOfWork()
    log = InMemoryPostLog(uow)
    live, clock = RecordingLiveFeed(), FixedClock()
    deps = make_deps(uow=uow, live=live, clock=clock,
                     post=PostQueue(log, live, clock).submit)
    alice = await sign_up(deps, "alice")
    room = await use_cases.create_room(deps, alice, "general")
    first = await use_cases.post_message(deps, alice, room.id, "once", client_msg_id="c-1")
    before = copy.deepcopy(uow.state)
    log.blind_commits = 1

    retry = await use_cases.post_message(deps, alice, room.id, "once", client_msg_id="c-1")

    assert (retry.created, retry.message.id) == (False, first.message.id)
    assert uow.state == before  # the loser's seq and event were rolled back
    assert seqs(await say(deps, alice, room.id, "next")) == [2]


@pytest.mark.parametrize(("content", "code"), [
    ("", "content_empty"),
    ("  \n\t ", "content_empty"),
    ("x" * 4001, "content_too_long"),
])
async def test_refused_content_leaves_no_trace(deps: ChatDeps, alice: Actor, room: Room,
                                               uow: InMemoryChatUnitOfWork,
                                               live: RecordingLiveFeed,
                                               content: str, code: str) -> None:
    before = copy.deepcopy(uow.state)

    with pytest.raises(Invalid) as refused:
        await use_cases.post_message(deps, alice, room.id, content, client_msg_id="c-1")

    assert refused.value.code == code
    assert uow.state == before
    assert live.sent == []
    # Neither the seq nor the client_msg_id was used up.
    posted = await use_cases.post_message(deps, alice, room.id, "ok", client_msg_id="c-1")
    assert (posted.created, posted.message.seq) == (True, 1)


async def test_the_longest_message_fits(deps: ChatDeps, alice: Actor, room: Room) -> None:
    [message] = await say(deps, alice, room.id, "x" * 4000)
    assert len(message.content) == 4000


@pytest.mark.parametrize("deps_overrides",
                         [{"live_settings": SettingsCache(ServerSettings(message_max_chars=10))}])
async def test_the_limit_is_a_setting(deps: ChatDeps, alice: Actor, room: Room) -> None:
    await say(deps, alice, room.id, "x" * 10)
    with pytest.raises(Invalid) as refused:
        await say(deps, alice, room.id, "x" * 11)
    assert refused.value.code == "content_too_long"


async def test_client_msg_id_is_bounded(deps: ChatDeps, alice: Actor, room: Room,
                                        uow: InMemoryChatUnitOfWork) -> None:
    before = copy.deepcopy(uow.state)
    with pytest.raises(Invalid) as refused:
        await use_cases.post_message(deps, alice, room.id, "hi", client_msg_id="x" * 65)
    assert refused.value.code == "invalid_client_msg_id"
    assert uow.state == before


# --- editing and deleting ----------------------------------------------------------------


async def test_author_edits(deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork,
                           live: RecordingLiveFeed, clock: FixedClock) -> None:
    room, bob = cast.room, cast.bob
    [message] = await say(deps, bob, room.id, "helo")
    clock.advance(minutes=2)

    edited = await use_cases.edit_message(deps, bob, message.id, " hello @dave ")

    assert (edited.seq, edited.content, edited.edited_at) == (1, "hello @dave", clock.now())
    assert await chat_history(deps, cast.alice, room.id) == ["hello @dave"]
    [event] = uow.events_of(MessageEdited)
    assert (event.message_id, event.content, event.mentions, event.edited_by) == (
        message.id, "hello @dave", ["dave"], bob.user_id)
    [frame] = live.frames("room", room.id, "message_edited")
    assert frame.data["content"] == "hello @dave"
    assert (await unread_in(deps, cast.dave, room.id)).mentions == 1


@pytest.mark.parametrize("editor", ["dave", "carol", "alice", "root"])
async def test_only_the_author_edits(deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork,
                                     editor: str) -> None:
    [message] = await say(deps, cast.bob, cast.room.id, "my words")
    before = copy.deepcopy(uow.state)

    with pytest.raises(Forbidden) as refused:
        await use_cases.edit_message(deps, cast[editor], message.id, "your words")

    assert refused.value.code == "not_author"
    assert uow.state == before


async def test_edit_refusals(deps: ChatDeps, alice: Actor, room: Room,
                             uow: InMemoryChatUnitOfWork) -> None:
    kept, gone = await say(deps, alice, room.id, "kept", "gone")
    await use_cases.delete_message(deps, alice, gone.id)
    before = copy.deepcopy(uow.state)

    with pytest.raises(Invalid):
        await use_cases.edit_message(deps, alice, kept.id, "   ")
    with pytest.raises(Conflict) as deleted:
        await use_cases.edit_message(deps, alice, gone.id, "back")
    with pytest.raises(Unauthenticated):
        await use_cases.edit_message(deps, GUEST, kept.id, "anon")

    assert deleted.value.code == "message_deleted"
    assert uow.state == before


@pytest.mark.parametrize(("deleter", "allowed"), [
    ("bob", True),     # the author
    ("carol", True),   # a moderator
    ("alice", True),   # the room's admin
    ("root", True),    # a server admin
    ("dave", False),   # another member
])
async def test_who_deletes(deps: ChatDeps, cast: Cast, uow: InMemoryChatUnitOfWork,
                           live: RecordingLiveFeed, clock: FixedClock, deleter: str,
                           allowed: bool) -> None:
    room = cast.room
    [message] = await say(deps, cast.bob, room.id, "regrettable")
    clock.advance(minutes=1)
    before = copy.deepcopy(uow.state)

    if not allowed:
        with pytest.raises(Forbidden):
            await use_cases.delete_message(deps, cast[deleter], message.id)
        assert uow.state == before
        return
    deleted = await use_cases.delete_message(deps, cast[deleter], message.id)

    assert deleted.seq == message.seq
    [shown] = (await use_cases.history(deps, cast.dave, room.id)).messages
    assert (shown.seq, shown.is_deleted, shown.edited_at) == (1, True, clock.now())
    [frame] = live.frames("room", room.id, "message_deleted")
    assert (frame.data["content"], frame.data["is_deleted"]) == ("", True)
    [event] = uow.events_of(MessageDeleted)
    assert (event.seq, event.deleted_by) == (1, cast[deleter].user_id)


async def test_deleting_twice_is_harmless(deps: ChatDeps, alice: Actor, room: Room,
                                          uow: InMemoryChatUnitOfWork) -> None:
    [message] = await say(deps, alice, room.id, "oops")
    await use_cases.delete_message(deps, alice, message.id)
    before = copy.deepcopy(uow.state)

    again = await use_cases.delete_message(deps, alice, message.id)

    assert again.is_deleted
    assert uow.state == before


# --- history and recovery ----------------------------------------------------------------


@pytest.fixture
async def ten(deps: ChatDeps, alice: Actor, room: Room) -> Room:
    await say(deps, alice, room.id, *(f"m{i}" for i in range(1, 11)))
    return room


@pytest.mark.parametrize(("before_seq", "after_seq", "limit", "expected", "has_more"), [
    (None, None, 3, [8, 9, 10], True),
    (8, None, 3, [5, 6, 7], True),
    (4, None, 3, [1, 2, 3], False),
    (2, None, 3, [1], False),
    (1, None, 3, [], False),
    (None, 0, 3, [1, 2, 3], True),
    (None, 6, 3, [7, 8, 9], True),
    (None, 7, 3, [8, 9, 10], False),
    (None, 10, 3, [], False),
    (None, None, 10, list(range(1, 11)), False),
    (None, None, 200, list(range(1, 11)), False),
    (8, 2, 10, [3, 4, 5, 6, 7], False),
])
async def test_history_pages(deps: ChatDeps, ten: Room, before_seq: int | None,
                             after_seq: int | None, limit: int, expected: list[int],
                             has_more: bool) -> None:
    page = await use_cases.history(deps, GUEST, ten.id, before_seq=before_seq,
                                   after_seq=after_seq, limit=limit)

    assert (seqs(page.messages), page.has_more) == (expected, has_more)


@pytest.mark.parametrize("limit", [1, 3, 4, 10])
async def test_paging_either_way_sees_every_message_once(deps: ChatDeps, ten: Room,
                                                         limit: int) -> None:
    backwards: list[int] = []
    page = await use_cases.history(deps, GUEST, ten.id, limit=limit)
    backwards = seqs(page.messages)
    while page.has_more:
        page = await use_cases.history(deps, GUEST, ten.id, before_seq=backwards[0],
                                       limit=limit)
        backwards = seqs(page.messages) + backwards
    forwards: list[int] = []
    page = await use_cases.history(deps, GUEST, ten.id, after_seq=0, limit=limit)
    forwards = seqs(page.messages)
    while page.has_more:
        page = await use_cases.history(deps, GUEST, ten.id, after_seq=forwards[-1],
                                       limit=limit)
        forwards += seqs(page.messages)

    assert backwards == forwards == list(range(1, 11))


@pytest.mark.parametrize("limit", [0, -1, 201])
async def test_history_limit_bounds(deps: ChatDeps, room: Room, limit: int) -> None:
    with pytest.raises(Invalid) as refused:
        await use_cases.history(deps, GUEST, room.id, limit=limit)
    assert refused.value.code == "invalid_limit"


async def test_history_of_an_empty_room(deps: ChatDeps, room: Room) -> None:
    assert await use_cases.history(deps, GUEST, room.id) == use_cases.HistoryPage([], False)


@pytest.fixture
async def busy(deps: ChatDeps, alice: Actor, room: Room) -> Room:
    await say(deps, alice, room.id, *(f"m{i}" for i in range(1, 26)))
    return room


@pytest.mark.parametrize(("since_seq", "expected"), [
    (5, list(range(6, 26))),  # 20 missed: exactly those
    (24, [25]),
    (25, []),
    (0, list(range(1, 26))),
])
async def test_recover_exactly_what_was_missed(deps: ChatDeps, bob: Actor, busy: Room,
                                               since_seq: int, expected: list[int]) -> None:
    recovery = await use_cases.recover(deps, bob, busy.id, since_seq)

    assert recovery.recovered
    assert seqs(recovery.messages) == expected
    assert (recovery.last_seq, recovery.room.id, recovery.member) == (25, busy.id, None)


@pytest.mark.parametrize("deps_overrides", [{"recovery_max_messages": 10, "history_on_join": 5}])
@pytest.mark.parametrize(("since_seq", "expected", "recovered"), [
    (5, [21, 22, 23, 24, 25], False),  # 20 missed > 10: the latest 5, page history for more
    (14, [21, 22, 23, 24, 25], False),  # 11 missed
    (15, list(range(16, 26)), True),    # exactly 10 missed
    (None, [21, 22, 23, 24, 25], False),  # a first join
])
async def test_recover_too_much_falls_back_to_latest(deps: ChatDeps, alice: Actor, busy: Room,
                                                     since_seq: int | None,
                                                     expected: list[int],
                                                     recovered: bool) -> None:
    recovery = await use_cases.recover(deps, alice, busy.id, since_seq)

    assert (seqs(recovery.messages), recovery.recovered) == (expected, recovered)
    assert recovery.last_seq == 25
    assert recovery.member is not None and recovery.member.role == "admin"


# --- read markers, unread counts, typing -------------------------------------------------


async def test_unread_counts_follow_the_read_marker(deps: ChatDeps, alice: Actor, bob: Actor,
                                                    room: Room) -> None:
    await use_cases.join_room(deps, bob, room.id)
    _, _, lunch, _ = await say(deps, alice, room.id, "morning", "@bob look", "lunch?",
                               "@BOB ping")
    await use_cases.delete_message(deps, alice, lunch.id)

    assert await unread_in(deps, bob, room.id) == Unread(room.id, 3, 2, 4, 0)
    assert await use_cases.mark_read(deps, bob, room.id, 2) == Unread(room.id, 1, 1, 4, 2)
    assert await use_cases.mark_read(deps, bob, room.id, 1) == Unread(room.id, 1, 1, 4, 2)
    assert await use_cases.mark_read(deps, bob, room.id, 99) == Unread(room.id, 0, 0, 4, 4)
    assert await unread_in(deps, bob, room.id) == Unread(room.id, 0, 0, 4, 4)
    mine = await unread_in(deps, alice, room.id)
    assert (mine.count, mine.mentions) == (0, 0)


async def test_unread_mentions_only_count_members(deps: ChatDeps, alice: Actor, bob: Actor,
                                                  room: Room) -> None:
    await use_cases.join_room(deps, bob, room.id)
    carol = await sign_up(deps, "carol")
    [note] = await say(deps, alice, room.id, "@alice @carol @room note to self")
    await use_cases.join_room(deps, carol, room.id)
    await use_cases.mark_read(deps, carol, room.id, 0)

    assert await unread_in(deps, bob, room.id) == Unread(room.id, 1, 0, 1, 0)
    assert await unread_in(deps, carol, room.id) == Unread(room.id, 0, 0, 1, 1)
    mine = await unread_in(deps, alice, room.id)
    assert (mine.count, mine.mentions) == (0, 0)
    await use_cases.edit_message(deps, alice, note.id, "@bob actually, you")
    assert await unread_in(deps, bob, room.id) == Unread(room.id, 1, 1, 1, 0)
    await use_cases.delete_message(deps, alice, note.id)
    assert await unread_in(deps, bob, room.id) == Unread(room.id, 0, 0, 1, 0)


async def test_the_readers_other_sockets_hear_the_new_count(deps: ChatDeps, alice: Actor,
                                                            bob: Actor, room: Room,
                                                            live: RecordingLiveFeed) -> None:
    await use_cases.join_room(deps, bob, room.id)
    await say(deps, alice, room.id, "one", "two")
    live.sent.clear()

    await use_cases.mark_read(deps, bob, room.id, 1, connection_id="bob-phone")

    assert live.sent == [Sent("user", bob.user_id, Frame(
        "unread", {"room_id": room.id, "count": 1, "mentions": 0, "last_seq": 2,
                   "read_seq": 1}, exclude_connection="bob-phone"))]


async def test_only_members_keep_read_markers(deps: ChatDeps, bob: Actor, room: Room) -> None:
    with pytest.raises(Forbidden) as refused:
        await use_cases.mark_read(deps, bob, room.id, 1)
    assert refused.value.code == "not_a_member"
    assert await use_cases.unread_counts(deps, bob) == []


async def test_typing_reaches_everyone_but_the_typist(alice: Actor, room: Room) -> None:
    frame = use_cases.typing_frame(alice, room.id, True)

    assert frame.type == "typing"
    assert frame.exclude_user == alice.user_id
    assert frame.data == {"room_id": room.id, "user_id": alice.user_id, "username": "alice",
                          "is_typing": True}
