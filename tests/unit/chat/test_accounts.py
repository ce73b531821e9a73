"""Accounts: administrators deactivate and reactivate, users delete their own; who may then
sign in, what is revoked, what messages keep."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Forbidden, Invalid, NotFound, Unauthenticated
from services.chat.ports import ChatDeps
from shared.contracts import (
    MemberLeft,
    SessionRevoked,
    UserDeactivated,
    UserDeleted,
    UserReactivated,
)
from tests.unit.chat.fakes import InMemoryChatUnitOfWork, RecordingRevocations

PASSWORD = "correct horse battery"


async def account(deps: ChatDeps, name: str, *, admin: bool = False) -> Actor:
    user = await use_cases.register(deps, name, PASSWORD, is_admin=admin)
    return Actor(user.id, user.username, user.is_admin)


def revoked_ids(deps: ChatDeps) -> set[str]:
    assert isinstance(deps.revocations, RecordingRevocations)
    return deps.revocations.ids


async def test_a_deactivated_account_cannot_sign_in_and_loses_every_session(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    sessions = [(await use_cases.open_session(deps, bob.user_id))[1]  # type: ignore[arg-type]
                for _ in range(2)]
    user = await use_cases.deactivate_user(deps, root, bob.user_id)  # type: ignore[arg-type]
    assert user.deactivated_at is not None
    assert revoked_ids(deps) == {s.id for s in sessions}
    assert {(e.session_id, e.reason) for e in uow.events_of(SessionRevoked)} == {
        (s.id, "deactivated") for s in sessions}
    [event] = uow.events_of(UserDeactivated)
    assert (event.user_id, event.deactivated_by) == (bob.user_id, root.user_id)

    with pytest.raises(Forbidden) as refused:
        await use_cases.authenticate(deps, "bob", PASSWORD)
    assert refused.value.code == "account_deactivated"
    with pytest.raises(Unauthenticated) as wrong:  # nothing is said without the password
        await use_cases.authenticate(deps, "bob", "not the password")
    assert wrong.value.code == "invalid_credentials"
    with pytest.raises(Forbidden):
        await use_cases.open_session(deps, bob.user_id)  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated) as me:
        await use_cases.current_user(deps, bob)
    assert (me.value.code, me.value.status) == ("account_deactivated", 401)

    # Again: nothing new happens.
    await use_cases.deactivate_user(deps, root, bob.user_id)  # type: ignore[arg-type]
    assert len(uow.events_of(UserDeactivated)) == 1


async def test_reactivating_gives_sign_in_back_but_not_the_revoked_sessions(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    await use_cases.deactivate_user(deps, root, bob.user_id)  # type: ignore[arg-type]
    user = await use_cases.reactivate_user(deps, root, bob.user_id)  # type: ignore[arg-type]
    assert user.deactivated_at is None
    assert (await use_cases.authenticate(deps, "bob", PASSWORD)).id == bob.user_id
    assert [e.user_id for e in uow.events_of(UserReactivated)] == [bob.user_id]


async def test_only_administrators_deactivate_and_never_themselves(deps: ChatDeps) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    with pytest.raises(Forbidden):
        await use_cases.deactivate_user(deps, bob, root.user_id)  # type: ignore[arg-type]
    with pytest.raises(Invalid) as self_:
        await use_cases.deactivate_user(deps, root, root.user_id)  # type: ignore[arg-type]
    assert self_.value.code == "cannot_deactivate_self"
    with pytest.raises(NotFound):
        await use_cases.deactivate_user(deps, root, 999)


async def test_deleting_your_account_keeps_your_messages_under_your_name(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    alice, bob = await account(deps, "alice"), await account(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    await use_cases.join_room(deps, bob, room.id)
    await use_cases.post_message(deps, alice, room.id, "my last words")
    _, session = await use_cases.open_session(deps, alice.user_id)  # type: ignore[arg-type]

    with pytest.raises(Forbidden) as wrong:
        await use_cases.delete_account(deps, alice, "not the password")
    assert wrong.value.code == "wrong_password"
    await use_cases.delete_account(deps, alice, PASSWORD)

    page = await use_cases.history(deps, bob, room.id)
    assert [(m.username, m.content) for m in page.messages] == [("alice", "my last words")]
    assert [m.username for m in await use_cases.list_members(deps, bob, room.id)] == ["bob"]
    assert [(e.user_id, e.reason) for e in uow.events_of(MemberLeft)] == [
        (alice.user_id, "left")]
    assert [e.username for e in uow.events_of(UserDeleted)] == ["alice"]
    assert revoked_ids(deps) == {session.id}
    with pytest.raises(Unauthenticated) as sign_in:  # as if the name had never existed
        await use_cases.authenticate(deps, "alice", PASSWORD)
    assert sign_in.value.code == "invalid_credentials"
    with pytest.raises(Exception, match="taken"):  # nobody takes over the name
        await use_cases.register(deps, "Alice", PASSWORD)
    with pytest.raises(Unauthenticated):
        await use_cases.current_user(deps, alice)


async def test_a_token_whose_account_is_gone_gets_401_not_a_conflict(
        deps: ChatDeps) -> None:
    alice = await account(deps, "alice")
    room = await use_cases.create_room(deps, alice, "general")
    ghost = Actor(4242, "ghost")
    with pytest.raises(Unauthenticated) as created:
        await use_cases.create_room(deps, ghost, "general")  # the name exists, too
    assert (created.value.code, created.value.status) == ("unknown_user", 401)
    with pytest.raises(Unauthenticated):
        await use_cases.join_room(deps, ghost, room.id)
    await use_cases.delete_account(deps, alice, PASSWORD)
    with pytest.raises(Unauthenticated):
        await use_cases.create_room(deps, alice, "another")
