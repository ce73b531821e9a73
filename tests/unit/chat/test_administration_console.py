"""The administration console's rules: live settings (all or nothing, each replica's cache),
invitations (spent in the sign-up's transaction), server roles, session resets, archived,
re-owned and re-visibled rooms, and the audit entry each action writes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Conflict, Forbidden, Invalid, NotFound
from services.chat.domain.admin import (
    ServerSettings,
    SettingsCache,
    apply_changes,
    stored_settings,
)
from services.chat.ports import ChatDeps
from shared.contracts import SessionRevoked
from tests.unit.chat.fakes import InMemoryChatUnitOfWork, RecordingLiveFeed, RecordingRevocations

PASSWORD = "correct horse battery"


async def account(deps: ChatDeps, name: str, *, admin: bool = False,
                  invitation: str | None = None) -> Actor:
    user = await use_cases.register(deps, name, PASSWORD, is_admin=admin, invitation=invitation)
    return Actor(user.id, user.username, user.is_admin)


def actions(uow: InMemoryChatUnitOfWork) -> list[tuple[str, str | None]]:
    return [(e.action, e.target_id) for e in uow.state.audit]


# --- settings ----------------------------------------------------------------------------

def test_settings_changes_are_checked_all_before_any_applies() -> None:
    current = ServerSettings()
    assert apply_changes(current, {"open_signup": False}).open_signup is False
    for changes, code in (({"open_signup": "no"}, "invalid_setting"),
                          ({"message_max_chars": 0}, "invalid_setting"),
                          ({"message_max_chars": 10_001}, "invalid_setting"),
                          ({"message_max_chars": True}, "invalid_setting"),
                          ({"open_signup": False, "colour": "red"}, "unknown_setting"),
                          ({}, "invalid_setting")):
        with pytest.raises(Invalid) as refused:
            apply_changes(current, changes)
        assert refused.value.code == code, changes
    # A stored row this release cannot read leaves the default standing.
    assert stored_settings(ServerSettings(message_max_chars=50),
                           {"message_max_chars": "big", "gone": 1, "open_signup": False}
                           ) == ServerSettings(open_signup=False, message_max_chars=50)


async def test_settings_are_admins_only_and_a_bad_patch_changes_nothing(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    with pytest.raises(Forbidden):
        await use_cases.read_settings(deps, bob)
    with pytest.raises(Forbidden):
        await use_cases.update_settings(deps, bob, {"open_signup": False})
    with pytest.raises(Invalid):
        await use_cases.update_settings(deps, root, {"open_signup": False,
                                                     "message_max_chars": -1})
    assert await use_cases.read_settings(deps, root) == ServerSettings()
    assert uow.state.server_settings == {} and uow.state.audit == []
    after = await use_cases.update_settings(deps, root, {"message_max_chars": 20})
    assert after == ServerSettings(message_max_chars=20)
    [entry] = uow.state.audit
    assert (entry.action, entry.actor_id, entry.details) == (
        "settings.update", root.user_id, {"message_max_chars": 20})


async def test_another_replica_sees_a_change_once_its_cache_is_older_than_the_setting(
        deps: ChatDeps) -> None:
    # Two replicas: the same database, a cache each.
    other = replace(deps, live_settings=SettingsCache(), live=RecordingLiveFeed())
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    room = await use_cases.create_room(deps, bob, "general")
    await use_cases.post_message(other, bob, room.id, "x" * 30)  # fills other's cache
    await use_cases.update_settings(deps, root, {"message_max_chars": 20})
    with pytest.raises(Invalid):  # this replica at once
        await use_cases.post_message(deps, bob, room.id, "x" * 30)
    await use_cases.post_message(other, bob, room.id, "x" * 30)  # the other: not yet
    deps.clock.advance(seconds=other.live_settings.max_age_secs)  # type: ignore[attr-defined]
    with pytest.raises(Invalid) as refused:
        await use_cases.post_message(other, bob, room.id, "x" * 30)
    assert refused.value.code == "content_too_long"
    with pytest.raises(Invalid):  # and edits too
        message = (await use_cases.post_message(other, bob, room.id, "short")).message
        await use_cases.edit_message(other, bob, message.id, "y" * 21)


# --- invitations -------------------------------------------------------------------------

async def closed(deps: ChatDeps) -> Actor:
    root = await account(deps, "root", admin=True)  # the first account needs no invitation
    await use_cases.update_settings(deps, root, {"open_signup": False})
    return root


async def test_with_open_sign_up_off_an_account_needs_a_usable_invitation(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root = await closed(deps)
    with pytest.raises(Forbidden) as refused:
        await account(deps, "bob")
    assert refused.value.code == "invitation_required"
    with pytest.raises(Forbidden) as unknown:
        await account(deps, "bob", invitation="inv_nothing")
    assert unknown.value.code == "invitation_invalid"

    made = await use_cases.create_invitation(deps, root, 3600, 2)
    assert (made.uses, made.max_uses, made.token.startswith("inv_")) == (0, 2, True)
    await account(deps, "bob", invitation=made.token)
    # A sign-up refused for another reason spends nothing.
    with pytest.raises(Conflict):
        await account(deps, "bob", invitation=made.token)
    await account(deps, "carol", invitation=made.token)
    with pytest.raises(Forbidden) as used_up:
        await account(deps, "dave", invitation=made.token)
    assert used_up.value.code == "invitation_used_up"
    [listed] = await use_cases.list_invitations(deps, root)
    assert listed.uses == 2

    later = await use_cases.create_invitation(deps, root, 60, 5)
    deps.clock.advance(seconds=60)  # type: ignore[attr-defined]
    with pytest.raises(Forbidden) as expired:
        await account(deps, "dave", invitation=later.token)
    assert expired.value.code == "invitation_expired"

    revoked = await use_cases.create_invitation(deps, root, 3600, 5)
    await use_cases.revoke_invitation(deps, root, revoked.id)
    await use_cases.revoke_invitation(deps, root, revoked.id)  # idempotent, audited once
    with pytest.raises(Forbidden) as gone:
        await account(deps, "dave", invitation=revoked.token)
    assert gone.value.code == "invitation_revoked"
    assert [a for a, _ in actions(uow)] == [
        "settings.update", "invite.create", "invite.create", "invite.create", "invite.revoke"]

    # Open again: nobody needs one.
    await use_cases.update_settings(deps, root, {"open_signup": True})
    await account(deps, "erin")


async def test_two_sign_ups_on_a_one_use_invitation_make_one_account(deps: ChatDeps) -> None:
    root = await closed(deps)
    made = await use_cases.create_invitation(deps, root, 3600, 1)
    results = await asyncio.gather(account(deps, "bob", invitation=made.token),
                                   account(deps, "carol", invitation=made.token),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Actor", "Forbidden"]


@pytest.mark.parametrize(("secs", "uses"), [(59, 1), (90 * 86_400 + 1, 1), (3600, 0),
                                            (3600, 10_001)])
async def test_invitation_terms_are_bounded(deps: ChatDeps, secs: int, uses: int) -> None:
    root = await account(deps, "root", admin=True)
    with pytest.raises(Invalid) as refused:
        await use_cases.create_invitation(deps, root, secs, uses)
    assert refused.value.code == "invalid_invitation"


async def test_invitations_are_admins_only(deps: ChatDeps) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    with pytest.raises(Forbidden):
        await use_cases.create_invitation(deps, bob, 3600, 1)
    with pytest.raises(Forbidden):
        await use_cases.list_invitations(deps, bob)
    with pytest.raises(NotFound) as missing:
        await use_cases.revoke_invitation(deps, root, 99)
    assert missing.value.code == "invitation_not_found"


# --- users -------------------------------------------------------------------------------

async def test_admins_search_accounts_by_name_and_status_a_page_at_a_time(
        deps: ChatDeps) -> None:
    root = await account(deps, "root", admin=True)
    for name in ("ana", "anabel", "bruno", "juana"):
        await account(deps, name)
    await use_cases.deactivate_user(deps, root, 3)  # anabel
    first = await use_cases.search_users(deps, root, "ANA", limit=2)
    assert [u.username for u in first.users] == ["ana", "anabel"]
    rest = await use_cases.search_users(deps, root, "ana", cursor=first.next_cursor, limit=2)
    assert ([u.username for u in rest.users], rest.next_cursor) == (["juana"], None)
    active = await use_cases.search_users(deps, root, "ana", "active")
    assert [u.username for u in active.users] == ["ana", "juana"]
    off = await use_cases.search_users(deps, root, "", "deactivated")
    assert [u.username for u in off.users] == ["anabel"]
    for kwargs, code in (({"status": "gone"}, "invalid_status"),
                         ({"cursor": "x"}, "invalid_cursor"),
                         ({"limit": 0}, "invalid_limit"),
                         ({"query": "a" * 65}, "query_too_long")):
        with pytest.raises(Invalid) as refused:
            await use_cases.search_users(deps, root, **kwargs)  # type: ignore[arg-type]
        assert refused.value.code == code
    with pytest.raises(Forbidden):
        await use_cases.search_users(deps, Actor(2, "ana"))


async def test_roles_change_for_others_and_a_demotion_signs_them_out(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    promoted = await use_cases.set_server_admin(deps, root, bob.user_id, True)  # type: ignore[arg-type]
    assert promoted.is_admin
    bob = Actor(bob.user_id, "bob", True)
    session = (await use_cases.open_session(deps, bob.user_id))[1]  # type: ignore[arg-type]
    with pytest.raises(Invalid) as own:
        await use_cases.set_server_admin(deps, root, root.user_id, False)  # type: ignore[arg-type]
    assert own.value.code == "cannot_change_own_role"
    await use_cases.set_server_admin(deps, root, bob.user_id, False)  # type: ignore[arg-type]
    assert isinstance(deps.revocations, RecordingRevocations)
    assert deps.revocations.ids == {session.id}
    assert [(e.session_id, e.reason) for e in uow.events_of(SessionRevoked)] == [
        (session.id, "role_changed")]
    # bob's old token still says admin: the database says otherwise.
    with pytest.raises(Forbidden):
        await use_cases.set_server_admin(deps, bob, root.user_id, False)  # type: ignore[arg-type]
    assert actions(uow) == [("user.role", str(bob.user_id)), ("user.role", str(bob.user_id))]
    with pytest.raises(NotFound):
        await use_cases.set_server_admin(deps, root, 99, True)
    carol = await account(deps, "carol")
    await use_cases.deactivate_user(deps, root, carol.user_id)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as deactivated:
        await use_cases.set_server_admin(deps, root, carol.user_id, True)  # type: ignore[arg-type]
    assert deactivated.value.code == "user_deactivated"


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    await use_cases.set_server_admin(deps, root, bob.user_id, True)  # type: ignore[arg-type]
    bob = Actor(bob.user_id, "bob", True)
    results = await asyncio.gather(
        use_cases.set_server_admin(deps, root, bob.user_id, False),  # type: ignore[arg-type]
        use_cases.set_server_admin(deps, bob, root.user_id, False),  # type: ignore[arg-type]
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Forbidden", "User"]
    assert sum(u.is_admin for u in uow.state.users.values()) == 1


async def test_a_session_reset_revokes_every_live_session(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    sessions = [(await use_cases.open_session(deps, bob.user_id))[1]  # type: ignore[arg-type]
                for _ in range(2)]
    assert await use_cases.reset_sessions(deps, root, bob.user_id) == 2  # type: ignore[arg-type]
    assert {(e.session_id, e.reason) for e in uow.events_of(SessionRevoked)} == {
        (s.id, "reset") for s in sessions}
    assert await use_cases.reset_sessions(deps, root, bob.user_id) == 0  # type: ignore[arg-type]
    [first, second] = uow.state.audit
    assert (first.action, first.details["revoked"], second.details["revoked"]) == (
        "user.sessions_reset", 2, 0)
    with pytest.raises(Forbidden):
        await use_cases.reset_sessions(deps, bob, root.user_id)  # type: ignore[arg-type]
    # bob signs in again
    await use_cases.open_session(deps, bob.user_id)  # type: ignore[arg-type]


# --- rooms -------------------------------------------------------------------------------

async def test_an_archived_room_is_read_only_and_off_the_public_list(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    carol = await account(deps, "carol")
    room = await use_cases.create_room(deps, bob, "general")
    message = (await use_cases.post_message(deps, bob, room.id, "before")).message
    archived = await use_cases.archive_room(deps, root, room.id)
    assert archived.archived_at is not None
    assert live.frames("room", room.id, "room_updated")[-1].data["archived_at"] is not None
    for attempt in (use_cases.post_message(deps, bob, room.id, "after"),
                    use_cases.edit_message(deps, bob, message.id, "changed"),
                    use_cases.add_reaction(deps, bob, message.id, "👍"),
                    use_cases.pin_message(deps, bob, message.id)):
        with pytest.raises(Conflict) as refused:
            await attempt
        assert (refused.value.code, refused.value.status) == ("room_archived", 409)
    assert [r.id for r in await use_cases.list_rooms(deps, bob)] == [room.id]  # a member
    assert await use_cases.list_rooms(deps, carol) == []
    history = await use_cases.history(deps, bob, room.id)
    assert [m.content for m in history.messages] == ["before"]
    await use_cases.archive_room(deps, root, room.id)  # idempotent: audited once
    await use_cases.archive_room(deps, root, room.id, archived=False)
    await use_cases.post_message(deps, bob, room.id, "after")
    assert [a for a, _ in actions(uow)] == ["room.archive", "room.unarchive"]
    with pytest.raises(Forbidden):
        await use_cases.archive_room(deps, bob, room.id)


async def test_admins_search_rooms_but_never_direct_messages(deps: ChatDeps) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    general = await use_cases.create_room(deps, bob, "General")
    secret = await use_cases.create_room(deps, bob, "gen secret", is_private=True)
    await use_cases.open_dm(deps, bob, [root.user_id])  # type: ignore[list-item]
    await use_cases.archive_room(deps, root, secret.id)
    page = await use_cases.search_rooms(deps, root, "gen")
    assert [(r.id, n) for r, n in page.rooms] == [(general.id, 1), (secret.id, 1)]
    assert [r.id for r, _ in (await use_cases.search_rooms(deps, root, archived=True)).rooms
            ] == [secret.id]
    assert [r.id for r, _ in (await use_cases.search_rooms(deps, root, archived=False)).rooms
            ] == [general.id]
    with pytest.raises(Forbidden):
        await use_cases.search_rooms(deps, bob)


async def test_a_new_owner_is_a_member_made_room_admin(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    carol, dave = await account(deps, "carol"), await account(deps, "dave")
    room = await use_cases.create_room(deps, bob, "general")
    await use_cases.join_room(deps, carol, room.id)
    with pytest.raises(Invalid) as outsider:
        await use_cases.set_room_owner(deps, root, room.id, dave.user_id)  # type: ignore[arg-type]
    assert outsider.value.code == "not_a_member"
    updated, member = await use_cases.set_room_owner(deps, root, room.id,
                                                     carol.user_id)  # type: ignore[arg-type]
    assert (updated.created_by, member.role) == (carol.user_id, "admin")
    stored = uow.state.rooms[room.id]
    assert stored.created_by == carol.user_id
    assert uow.state.members[(room.id, bob.user_id)].role == "admin"  # keeps their role
    [entry] = uow.state.audit
    assert (entry.action, entry.details) == ("room.owner", {
        "user_id": carol.user_id, "previous_owner": bob.user_id})
    with pytest.raises(NotFound):
        await use_cases.set_room_owner(deps, root, 99, carol.user_id)  # type: ignore[arg-type]


async def test_admins_make_a_room_private_or_public(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    root, bob = await account(deps, "root", admin=True), await account(deps, "bob")
    carol = await account(deps, "carol")
    room = await use_cases.create_room(deps, bob, "general")
    await use_cases.set_room_visibility(deps, root, room.id, True)
    assert live.frames("room", room.id, "room_updated")[-1].members_only
    assert await use_cases.list_rooms(deps, carol) == []
    await use_cases.set_room_visibility(deps, root, room.id, True)  # no change, no entry
    await use_cases.set_room_visibility(deps, root, room.id, False)
    assert [r.id for r in await use_cases.list_rooms(deps, carol)] == [room.id]
    assert [(e.action, e.details) for e in uow.state.audit] == [
        ("room.visibility", {"is_private": True}), ("room.visibility", {"is_private": False})]


async def test_posts_arriving_while_the_cache_is_read_again_make_one_read(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    reads = 0
    read = uow.read

    @contextlib.asynccontextmanager
    async def counting_read() -> AsyncIterator[Any]:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0)  # a real read waits for the database: others run meanwhile
        async with read() as tx:
            yield tx

    await use_cases.current_settings(deps)
    deps.clock.advance(seconds=deps.live_settings.max_age_secs)  # type: ignore[attr-defined]
    uow.read = counting_read  # type: ignore[method-assign]
    answers = await asyncio.gather(*(use_cases.current_settings(deps) for _ in range(20)))
    assert reads == 1 and set(answers) == {ServerSettings()}
