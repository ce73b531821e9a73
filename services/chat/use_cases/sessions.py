"""Sign-in sessions: opened at sign-in, ended at logout, revoked with their tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.chat.domain import AuthSession, Unauthenticated, User, new_session_id
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_not_deactivated
from services.chat.use_cases._sanctions import refuse_banned
from shared.contracts import SessionRevoked
from shared.contracts.events import SessionRevokedReason


async def open_session(deps: ChatDeps, user_id: int) -> tuple[User, AuthSession]:
    """A sign-in opens a session of `session_ttl_secs`; its tokens carry the session's id.
    The account is read again under a lock, so a sign-in racing a deactivation either
    loses or has its session revoked by it."""
    async with deps.uow.write() as tx:
        user = await tx.users.get(user_id, lock=True)
        if user is None or user.deleted_at is not None:
            raise Unauthenticated("invalid_credentials", "Wrong username or password.")
        require_not_deactivated(user)
        await refuse_banned(tx, None, user_id, deps.clock.now())
        session = await add_session(deps, tx, user_id)
    return user, session


async def add_session(deps: ChatDeps, tx: ChatTx, user_id: int) -> AuthSession:
    now = deps.clock.now()
    session = AuthSession(new_session_id(), user_id, now,
                          now + timedelta(seconds=deps.session_ttl_secs))
    await tx.sessions.add(session)
    return session


async def revocation_events(deps: ChatDeps, tx: ChatTx, sessions: Sequence[AuthSession],
                             reason: SessionRevokedReason) -> None:
    now = deps.clock.now()
    for session in sessions:
        await tx.outbox.add(SessionRevoked(session_id=session.id, user_id=session.user_id,
                                           reason=reason, revoked_at=now,
                                           expires_at=session.expires_at), now)


async def revoked_here(deps: ChatDeps, sessions: Sequence[AuthSession]) -> None:
    if sessions and deps.revocations is not None:
        await deps.revocations.revoked(sessions)


async def end_session(deps: ChatDeps, session_id: str | None) -> bool:
    """Logout: the session is revoked, and every service refuses its tokens within seconds
    (`events.chat.session.revoked`, through the outbox); its sockets are closed with 4001.
    The user's other sessions go on. False when there was nothing left to end."""
    if session_id is None:
        return False
    async with deps.uow.write() as tx:
        session = await tx.sessions.revoke(session_id, deps.clock.now(), "logout")
        if session is not None:
            await revocation_events(deps, tx, [session], "logout")
    if session is None:
        return False
    await revoked_here(deps, [session])
    return True
