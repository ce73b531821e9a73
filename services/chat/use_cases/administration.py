"""What administrators and operators do to accounts: the first administrator,
deactivation and reactivation."""

from __future__ import annotations

from services.chat.domain import NO_PASSWORD, Actor, Conflict, Invalid, NotFound, User
from services.chat.domain.rules import validate_password
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin
from services.chat.use_cases.accounts import register
from services.chat.use_cases.audit import record
from services.chat.use_cases.sessions import revocation_events, revoked_here
from shared.contracts import UserDeactivated, UserReactivated


async def _account(tx: ChatTx, user_id: int) -> User:
    user = await tx.users.get(user_id, lock=True)
    if user is None or user.deleted_at is not None:
        raise NotFound("user_not_found", f"No user with id {user_id}.")
    return user


async def deactivate_user(deps: ChatDeps, actor: Actor, user_id: int) -> User:
    """Administrators deactivate an account: it can no longer sign in, and every session it
    has is revoked (refused everywhere, sockets closed). Its messages and memberships stay;
    reactivating gives the account back. Administrators cannot deactivate themselves."""
    admin_id = require_admin(actor)
    if user_id == admin_id:
        raise Invalid("cannot_deactivate_self", "Ask another administrator to do that.")
    async with deps.uow.write() as tx:
        user = await _account(tx, user_id)
        if user.deactivated_at is not None:
            return user
        now = deps.clock.now()
        user.deactivated_at = now
        await tx.users.update_account(user)
        await tx.outbox.add(UserDeactivated(user_id=user.id, username=user.username,
                                            deactivated_by=admin_id, deactivated_at=now), now)
        await record(tx, now, actor, "user.deactivate", "user", user.id)
        revoked = await tx.sessions.revoke_all(user.id, now, "deactivated")
        await revocation_events(deps, tx, revoked, "deactivated")
    await revoked_here(deps, revoked)
    return user


async def reactivate_user(deps: ChatDeps, actor: Actor, user_id: int) -> User:
    """The account can sign in again; sessions revoked by the deactivation stay revoked."""
    admin_id = require_admin(actor)
    async with deps.uow.write() as tx:
        user = await _account(tx, user_id)
        if user.deactivated_at is None:
            return user
        now = deps.clock.now()
        user.deactivated_at = None
        await tx.users.update_account(user)
        await tx.outbox.add(UserReactivated(user_id=user.id, username=user.username,
                                            reactivated_by=admin_id, reactivated_at=now), now)
        await record(tx, now, actor, "user.reactivate", "user", user.id)
    return user


async def set_password(deps: ChatDeps, username: str, password: str) -> str:
    """An operator's command (`tertulia set-password`): the account gets this password,
    whatever it had (an imported one had none), and every session it has is revoked. A
    deleted account stays deleted (404 `user_not_found`)."""
    async with deps.uow.read() as tx:
        found = await tx.users.by_username(username)
    if found is None or found[0].deleted_at is not None:
        raise NotFound("user_not_found", f"No user named {username!r}.")
    validate_password(password, found[0].username, deps.passwords)
    hashed = await deps.hasher.hash(password)
    async with deps.uow.write() as tx:
        user = await _account(tx, found[0].id)
        await tx.users.update_account(user, hashed)
        revoked = await tx.sessions.revoke_all(user.id, deps.clock.now(), "password_changed")
        await revocation_events(deps, tx, revoked, "password_changed")
    await revoked_here(deps, revoked)
    return "password_set"


async def ensure_admin(deps: ChatDeps, username: str, password: str) -> str:
    """Create the first administrator if absent; an existing account is promoted, not reset,
    except one without a password (`tertulia import` makes them), which gets this one."""
    async with deps.uow.read() as tx:
        found = await tx.users.by_username(username)
    if found is None:
        try:
            await register(deps, username, password, is_admin=True)
            return "created"
        except Conflict:
            return "exists"  # another replica created it a moment ago
    user, password_hash = found
    if password_hash == NO_PASSWORD and user.deleted_at is None:
        validate_password(password, username, deps.passwords)
        hashed = await deps.hasher.hash(password)
        async with deps.uow.write() as tx:
            await tx.users.set_admin(user.id, hashed)
        return "password_set"
    if not user.is_admin:
        async with deps.uow.write() as tx:
            await tx.users.set_admin(user.id, None)
        return "promoted"
    return "exists"
