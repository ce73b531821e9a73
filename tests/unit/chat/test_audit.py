"""The audit log: what existing moderation and administration actions record, and who reads it."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Forbidden, Invalid
from services.chat.ports import ChatDeps
from services.chat.use_cases.audit import record
from tests.unit.chat.fakes import T0, InMemoryChatUnitOfWork

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


def actions(uow: InMemoryChatUnitOfWork) -> list[tuple[str, str | None, int | None]]:
    return [(e.action, e.target_id, e.room_id) for e in uow.state.audit]


async def test_moderation_and_administration_actions_are_audited(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    admin = await sign_up(deps, "root", is_admin=True)
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    carol = await sign_up(deps, "carol")
    room = await use_cases.create_room(deps, alice, "general")
    for who in (bob, carol):
        await use_cases.join_room(deps, who, room.id)
    await use_cases.change_role(deps, alice, room.id, bob.user_id, "moderator")  # type: ignore[arg-type]
    said = await use_cases.post_message(deps, carol, room.id, "rude words")
    own = await use_cases.post_message(deps, bob, room.id, "my own typo")
    await use_cases.delete_message(deps, bob, said.message.id)
    await use_cases.delete_message(deps, bob, own.message.id)  # one's own: not an action
    await use_cases.kick_member(deps, bob, room.id, carol.user_id)  # type: ignore[arg-type]
    await use_cases.leave_room(deps, alice, room.id)  # leaving is not either
    await use_cases.deactivate_user(deps, admin, carol.user_id)  # type: ignore[arg-type]
    await use_cases.reactivate_user(deps, admin, carol.user_id)  # type: ignore[arg-type]
    assert actions(uow) == [
        ("member.role", str(bob.user_id), room.id),
        ("message.delete", str(said.message.id), room.id),
        ("member.kick", str(carol.user_id), room.id),
        ("user.deactivate", str(carol.user_id), None),
        ("user.reactivate", str(carol.user_id), None),
    ]
    role = uow.state.audit[0]
    assert (role.actor_id, role.details) == (alice.user_id,
                                             {"role": "moderator", "previous": "member"})
    assert uow.state.audit[1].details == {"author_id": carol.user_id}
    assert all(e.at == T0 for e in uow.state.audit)


async def test_a_refused_action_writes_no_entry(deps: ChatDeps,
                                                uow: InMemoryChatUnitOfWork) -> None:
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "general")
    await use_cases.join_room(deps, bob, room.id)
    with pytest.raises(Forbidden):
        await use_cases.kick_member(deps, bob, room.id, alice.user_id)  # type: ignore[arg-type]
    assert uow.state.audit == []


async def test_administrators_page_the_log_newest_first_with_filters(deps: ChatDeps) -> None:
    admin = await sign_up(deps, "root", is_admin=True)
    alice = await sign_up(deps, "alice")
    async with deps.uow.write() as tx:
        for n in range(5):
            await record(tx, T0, admin, "mute.add" if n % 2 else "ban.add", "user", n,
                         room_id=7 if n < 2 else None, reason="spam" if n == 4 else None,
                         n=n)
    first = await use_cases.audit_log(deps, admin, limit=2)
    assert [e.details["n"] for e in first.entries] == [4, 3]
    assert first.entries[0].actor_username == "root"
    assert first.entries[0].reason == "spam"
    rest = await use_cases.audit_log(deps, admin, limit=2, before_id=first.next_before_id)
    assert [e.details["n"] for e in rest.entries] == [2, 1]
    last = await use_cases.audit_log(deps, admin, limit=2, before_id=rest.next_before_id)
    assert ([e.details["n"] for e in last.entries], last.next_before_id) == ([0], None)
    mutes = await use_cases.audit_log(deps, admin, action="mute.add")
    assert [e.details["n"] for e in mutes.entries] == [3, 1]
    in_room = await use_cases.audit_log(deps, admin, room_id=7)
    assert [e.details["n"] for e in in_room.entries] == [1, 0]
    assert (await use_cases.audit_log(deps, admin, actor_id=alice.user_id)).entries == []
    with pytest.raises(Forbidden):
        await use_cases.audit_log(deps, alice)
    with pytest.raises(Invalid):
        await use_cases.audit_log(deps, admin, limit=0)
