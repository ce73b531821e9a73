"""SQLAlchemy stores of accounts and their sign-in sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import user_sessions, users
from services.chat.domain import AuthSession, Conflict, User

# pg_advisory_xact_lock key of "who is the first account" (any constant of our own).
FIRST_ACCOUNT_LOCK = 0x7465727475  # "tertu"


def _user(row: Any) -> User:
    return User(row.id, row.username, row.display_name, row.is_admin, row.created_at,
                row.deactivated_at, row.deleted_at, row.status_text, row.time_zone,
                row.muted_until)


def _session(row: Any) -> AuthSession:
    return AuthSession(row.id, row.user_id, row.created_at, row.expires_at, row.revoked_at)


class SqlaUserStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, username: str, display_name: str | None, password_hash: str,
                  is_admin: bool, now: datetime) -> User:
        try:
            result = await self._s.execute(insert(users).values(
                username=username, username_key=username.lower(), display_name=display_name,
                password_hash=password_hash, is_admin=is_admin, created_at=now,
            ).returning(users.c.id))
        except IntegrityError as exc:
            raise Conflict("username_taken", f"Username {username!r} is taken.") from exc
        return User(result.scalar_one(), username, display_name, is_admin, now)

    async def get(self, user_id: int, *, lock: bool = False) -> User | None:
        query = select(users).where(users.c.id == user_id)
        if lock:
            query = query.with_for_update(read=True)  # SQLite: the write lock already is
        row = (await self._s.execute(query)).first()
        return _user(row) if row else None

    async def by_username(self, username: str) -> tuple[User, str] | None:
        row = (await self._s.execute(
            select(users).where(users.c.username_key == username.lower()))).first()
        return (_user(row), row.password_hash) if row else None

    async def none_yet(self) -> bool:
        if await self._any():
            return False  # the common case: no lock needed, an account never un-exists here
        if self._s.dialect.name == "postgresql":
            # READ COMMITTED: two transactions would both see no rows; the lock makes the
            # second wait for the first to commit, and its next statement sees that row.
            await self._s.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                  {"key": FIRST_ACCOUNT_LOCK})
            return not await self._any()
        return True  # SQLite: this transaction began with the write lock (BEGIN IMMEDIATE)

    async def _any(self) -> bool:
        return (await self._s.execute(select(users.c.id).limit(1))).first() is not None

    async def set_admin(self, user_id: int, password_hash: str | None) -> None:
        values: dict[str, Any] = {"is_admin": True}
        if password_hash is not None:
            values["password_hash"] = password_hash
        await self._s.execute(update(users).where(users.c.id == user_id).values(**values))

    async def update_account(self, user: User, password_hash: str | None = None) -> None:
        values: dict[str, Any] = {"display_name": user.display_name, "is_admin": user.is_admin,
                                  "deactivated_at": user.deactivated_at,
                                  "deleted_at": user.deleted_at,
                                  "status_text": user.status_text, "time_zone": user.time_zone}
        if password_hash is not None:
            values["password_hash"] = password_hash
        await self._s.execute(update(users).where(users.c.id == user.id).values(**values))


class SqlaSessionStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, session: AuthSession) -> None:
        await self._s.execute(insert(user_sessions).values(
            id=session.id, user_id=session.user_id, created_at=session.created_at,
            expires_at=session.expires_at))

    async def revoke(self, session_id: str, now: datetime, reason: str) -> AuthSession | None:
        rows = (await self._s.execute(
            update(user_sessions).where(user_sessions.c.id == session_id,
                                        user_sessions.c.revoked_at.is_(None),
                                        user_sessions.c.expires_at > now)
            .values(revoked_at=now, revoked_reason=reason).returning(*user_sessions.c))).all()
        return _session(rows[0]) if rows else None

    async def revoke_all(self, user_id: int, now: datetime, reason: str) -> list[AuthSession]:
        rows = (await self._s.execute(
            update(user_sessions).where(user_sessions.c.user_id == user_id,
                                        user_sessions.c.revoked_at.is_(None),
                                        user_sessions.c.expires_at > now)
            .values(revoked_at=now, revoked_reason=reason).returning(*user_sessions.c))).all()
        return sorted((_session(r) for r in rows), key=lambda s: (s.created_at, s.id))
