"""What administrators do to accounts beyond deactivation: look them up, change who
administers the server, and sign an account out everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import Actor, Conflict, Forbidden, Invalid, NotFound, User
from services.chat.domain.admin import USER_SEARCH_MAX_CHARS, USER_STATUSES, UserStatus
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import require_admin
from services.chat.use_cases.audit import record
from services.chat.use_cases.sessions import revocation_events, revoked_here

USERS_PAGE_MAX = 100


@dataclass(frozen=True, slots=True)
class UsersPage:
    users: list[User]
    next_cursor: str | None  # the next page's `cursor`; None: this is the last page


def _cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 12:
        raise Invalid("invalid_cursor", "That cursor is not one this server gave.")
    return int(cursor)


async def search_users(deps: ChatDeps, actor: Actor, query: str = "",
                       status: str = "all", cursor: str | None = None,
                       limit: int = 50) -> UsersPage:
    """Administrators only: accounts (never deleted ones) whose username or display name
    contains `query` (any case), `active`, `deactivated` or `all`, by id, a page at a time."""
    require_admin(actor)
    if status not in USER_STATUSES:
        raise Invalid("invalid_status", "status is active, deactivated or all.")
    if len(query) > USER_SEARCH_MAX_CHARS:
        raise Invalid("query_too_long", f"Search for at most {USER_SEARCH_MAX_CHARS} characters.")
    if not 1 <= limit <= USERS_PAGE_MAX:
        raise Invalid("invalid_limit", f"limit is 1..{USERS_PAGE_MAX}.")
    checked: UserStatus = status  # type: ignore[assignment]
    async with deps.uow.read() as tx:
        found = await tx.directory.users(query.strip(), checked, _cursor(cursor), limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return UsersPage(found, str(found[-1].id) if more else None)


async def set_server_admin(deps: ChatDeps, actor: Actor, user_id: int, is_admin: bool) -> User:
    """Administrators make another active account an administrator, or take that away.
    Nobody changes their own role, so the server always keeps an administrator (the one
    acting); the acting administrator must still be one (read in this transaction, so two
    demoting each other at once take turns: the second is refused). A demoted account's
    sessions are revoked (its tokens claimed the role); a promoted one has it from its next
    token."""
    admin_id = require_admin(actor)
    if user_id == admin_id:
        raise Invalid("cannot_change_own_role", "Ask another administrator to do that.")
    revoked = []
    async with deps.uow.write() as tx:
        admins = await tx.directory.admins()
        if admin_id not in admins:
            raise Forbidden("forbidden", "Administrators only.")
        user = await tx.users.get(user_id, lock=True)
        if user is None or user.deleted_at is not None:
            raise NotFound("user_not_found", f"No user with id {user_id}.")
        if user.deactivated_at is not None:
            raise Conflict("user_deactivated", "Reactivate the account first.")
        if user.is_admin == is_admin:
            return user
        user.is_admin = is_admin
        await tx.users.update_account(user)
        now = deps.clock.now()
        await record(tx, now, actor, "user.role", "user", user.id, is_admin=is_admin,
                     username=user.username)
        if not is_admin:
            revoked = await tx.sessions.revoke_all(user.id, now, "role_changed")
            await revocation_events(deps, tx, revoked, "role_changed")
    await revoked_here(deps, revoked)
    return user


async def reset_sessions(deps: ChatDeps, actor: Actor, user_id: int) -> int:
    """Administrators sign an account out everywhere: every live session is revoked
    (refused by every service, sockets closed with 4001); it may sign in again. How many
    were revoked."""
    require_admin(actor)
    async with deps.uow.write() as tx:
        user = await tx.users.get(user_id, lock=True)
        if user is None or user.deleted_at is not None:
            raise NotFound("user_not_found", f"No user with id {user_id}.")
        now = deps.clock.now()
        revoked = await tx.sessions.revoke_all(user.id, now, "reset")
        await revocation_events(deps, tx, revoked, "reset")
        await record(tx, now, actor, "user.sessions_reset", "user", user.id,
                     revoked=len(revoked), username=user.username)
    await revoked_here(deps, revoked)
    return len(revoked)
