"""One's own account: sign up, sign in, who am I, a new password, deletion."""

from __future__ import annotations

import logging
from dataclasses import replace

from services.chat.domain import (
    NO_PASSWORD,
    Actor,
    AuthSession,
    Conflict,
    Forbidden,
    Frame,
    Member,
    Unauthenticated,
    User,
    validate_display_name,
    validate_password,
    validate_username,
)
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import active_user, require_not_deactivated, require_user
from services.chat.use_cases.invitations import spend_invitation
from services.chat.use_cases.server_settings import settings_in
from services.chat.use_cases.sessions import add_session, revocation_events, revoked_here
from shared.contracts import MemberLeft, UserDeleted, UserRegistered

log = logging.getLogger(__name__)


async def register(deps: ChatDeps, username: str, password: str,
                   display_name: str | None = None, *, is_admin: bool = False,
                   invitation: str | None = None) -> User:
    """Usernames are unique (case-insensitively); passwords follow `PasswordPolicy` and are
    stored only as argon2id hashes. The first account of an empty system is its
    administrator (decided inside the write transaction: of two at once, one). With open
    sign-up off (a live setting, read in this transaction), every other account needs an
    `invitation` token, and spends one use of it in the same transaction."""
    validate_username(username)
    validate_password(password, username, deps.passwords)
    display_name = validate_display_name(display_name)
    password_hash = await deps.hasher.hash(password)
    first = False
    async with deps.uow.write() as tx:
        if await tx.users.by_username(username) is not None:
            raise Conflict("username_taken", f"Username {username!r} is taken.")
        if not is_admin:
            first = is_admin = await tx.users.none_yet()
        if not is_admin and not (await settings_in(deps, tx)).open_signup:
            await spend_invitation(deps, tx, invitation)
        now = deps.clock.now()
        user = await tx.users.add(username, display_name, password_hash, is_admin, now)
        await tx.outbox.add(UserRegistered(user_id=user.id, username=user.username,
                                           display_name=display_name, is_admin=is_admin,
                                           registered_at=now), now)
    if first:
        log.info("%s is the first account: administrator", user.username)
    return user


async def authenticate(deps: ChatDeps, username: str, password: str) -> User:
    """A wrong username and a wrong password get the same answer, and so does a deleted
    account; a deactivated one is told so, but only after its right password."""
    async with deps.uow.read() as tx:
        found = await tx.users.by_username(username)
    if found is None or found[0].deleted_at is not None:
        # Spend the same time as a real check, so timing does not reveal which names exist.
        await deps.hasher.hash(password)
        raise Unauthenticated("invalid_credentials", "Wrong username or password.")
    if not await deps.hasher.verify(found[1], password):
        raise Unauthenticated("invalid_credentials", "Wrong username or password.")
    require_not_deactivated(found[0])
    return found[0]


async def current_user(deps: ChatDeps, actor: Actor) -> User:
    user_id = require_user(actor)
    async with deps.uow.read() as tx:
        return await active_user(tx, user_id)


async def _check_password(deps: ChatDeps, actor: Actor, password: str) -> User:
    user_id = require_user(actor)
    async with deps.uow.read() as tx:
        user = await active_user(tx, user_id)
        found = await tx.users.by_username(user.username)
    if found is None or not await deps.hasher.verify(found[1], password):
        raise Forbidden("wrong_password", "The current password is not right.")
    return user


async def change_password(deps: ChatDeps, actor: Actor, current_password: str,
                          new_password: str) -> tuple[User, AuthSession]:
    """Needs the current password. Every session of the user is revoked, the caller's
    included (on every device the old password may have been given to), and the caller
    gets a new session: this device stays signed in, the others sign in again."""
    user = await _check_password(deps, actor, current_password)
    validate_password(new_password, user.username, deps.passwords)
    password_hash = await deps.hasher.hash(new_password)
    async with deps.uow.write() as tx:
        user = await active_user(tx, user.id, lock=True)
        await tx.users.update_account(user, password_hash)
        revoked = await tx.sessions.revoke_all(user.id, deps.clock.now(), "password_changed")
        await revocation_events(deps, tx, revoked, "password_changed")
        session = await add_session(deps, tx, user.id)
    await revoked_here(deps, revoked)
    return user, session


async def delete_account(deps: ChatDeps, actor: Actor, password: str) -> None:
    """A user deletes their own account, confirming with their password. It is marked
    deleted, not removed: its messages keep the author's name, and the name stays taken so
    nobody can speak under it later. The password, display name, admin flag and every
    membership go (`member.left` per room), every session is revoked, and it can no longer
    sign in (`invalid_credentials`, as for a name that never existed)."""
    user = await _check_password(deps, actor, password)
    left: list[Member] = []
    async with deps.uow.write() as tx:
        user = await active_user(tx, user.id, lock=True)
        now = deps.clock.now()
        for room_id in await tx.members.rooms_of(user.id):
            member = await tx.members.get(room_id, user.id)
            if member is None:
                continue
            await tx.members.remove(room_id, user.id)
            left.append(member)
            await tx.outbox.add(MemberLeft(room_id=room_id, user_id=user.id,
                                           username=member.username, reason="left",
                                           removed_by=None, left_at=now), now)
        deleted = replace(user, display_name=None, is_admin=False, deleted_at=now)
        await tx.users.update_account(deleted, NO_PASSWORD)
        await tx.outbox.add(UserDeleted(user_id=user.id, username=user.username,
                                        deleted_at=now), now)
        revoked = await tx.sessions.revoke_all(user.id, now, "deleted")
        await revocation_events(deps, tx, revoked, "deleted")
    await revoked_here(deps, revoked)
    for member in left:
        await deps.live.to_room(member.room_id, Frame(
            "member_left", {"room_id": member.room_id, "user_id": member.user_id,
                            "username": member.username, "display_name": member.username,
                            "reason": "left"},
            about_user=member.user_id))
