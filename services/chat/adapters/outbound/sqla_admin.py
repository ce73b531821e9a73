"""SQLAlchemy stores of administration: live server settings, sign-up invitations, and the
directory of accounts and rooms administrators search."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_accounts import _user
from services.chat.adapters.outbound.sqla_rooms import _room
from services.chat.adapters.outbound.sqla_tables import (
    chat_invitations,
    chat_rooms,
    chat_server_settings,
    room_members,
    users,
)
from services.chat.domain import Room, User
from services.chat.domain.admin import Invitation, UserStatus

# pg_advisory_xact_lock key of "who the administrators are" (any constant of our own).
ADMINS_LOCK = 0x61646D696E  # "admin"


def _invitation(row: Any) -> Invitation:
    return Invitation(row.id, row.token, row.created_by, row.created_at, row.expires_at,
                      row.max_uses, row.uses, row.revoked_at)


class SqlaServerSettingsStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def all(self) -> dict[str, Any]:
        rows = (await self._s.execute(
            select(chat_server_settings.c.key, chat_server_settings.c.value))).all()
        return {row.key: json.loads(row.value) for row in rows}

    async def put(self, values: dict[str, Any], by: int | None, now: datetime) -> None:
        dialect = postgresql if self._s.dialect.name == "postgresql" else sqlite
        for key, value in values.items():
            statement = dialect.insert(chat_server_settings).values(
                key=key, value=json.dumps(value), updated_by=by, updated_at=now)
            await self._s.execute(statement.on_conflict_do_update(
                index_elements=[chat_server_settings.c.key],
                set_={"value": statement.excluded.value,
                      "updated_by": statement.excluded.updated_by,
                      "updated_at": statement.excluded.updated_at}))


class SqlaInvitationStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, token: str, created_by: int | None, now: datetime,
                  expires_at: datetime, max_uses: int) -> Invitation:
        result = await self._s.execute(insert(chat_invitations).values(
            token=token, created_by=created_by, created_at=now, expires_at=expires_at,
            max_uses=max_uses, uses=0).returning(chat_invitations.c.id))
        return Invitation(result.scalar_one(), token, created_by, now, expires_at, max_uses)

    async def get(self, invitation_id: int) -> Invitation | None:
        row = (await self._s.execute(select(chat_invitations).where(
            chat_invitations.c.id == invitation_id))).first()
        return _invitation(row) if row else None

    async def by_token(self, token: str) -> Invitation | None:
        row = (await self._s.execute(select(chat_invitations).where(
            chat_invitations.c.token == token))).first()
        return _invitation(row) if row else None

    async def page(self, limit: int) -> list[Invitation]:
        rows = (await self._s.execute(select(chat_invitations)
                                      .order_by(chat_invitations.c.id.desc()).limit(limit))).all()
        return [_invitation(r) for r in rows]

    async def use(self, token: str, now: datetime) -> Invitation | None:
        # One statement: PostgreSQL re-checks the WHERE on the row a concurrent use just
        # committed (READ COMMITTED), SQLite runs one writer at a time.
        c = chat_invitations.c
        rows = (await self._s.execute(
            update(chat_invitations)
            .where(c.token == token, c.revoked_at.is_(None), c.expires_at > now,
                   c.uses < c.max_uses)
            .values(uses=c.uses + 1).returning(*chat_invitations.c))).all()
        return _invitation(rows[0]) if rows else None

    async def revoke(self, invitation_id: int, now: datetime) -> Invitation | None:
        c = chat_invitations.c
        await self._s.execute(update(chat_invitations)
                              .where(c.id == invitation_id, c.revoked_at.is_(None))
                              .values(revoked_at=now))
        return await self.get(invitation_id)


def _containing(column: Any, query: str) -> Any:
    return func.lower(column).contains(query.lower(), autoescape=True)


class SqlaAdminDirectory:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def users(self, query: str, status: UserStatus, after_id: int | None,
                    limit: int) -> list[User]:
        statement = select(users).where(users.c.deleted_at.is_(None))
        if query:
            statement = statement.where(or_(_containing(users.c.username_key, query),
                                            _containing(users.c.display_name, query)))
        if status == "active":
            statement = statement.where(users.c.deactivated_at.is_(None))
        elif status == "deactivated":
            statement = statement.where(users.c.deactivated_at.is_not(None))
        if after_id is not None:
            statement = statement.where(users.c.id > after_id)
        rows = (await self._s.execute(statement.order_by(users.c.id).limit(limit))).all()
        return [_user(r) for r in rows]

    async def rooms(self, query: str, archived: bool | None, after_id: int | None,
                    limit: int) -> list[tuple[Room, int]]:
        members = (select(func.count()).where(room_members.c.room_id == chat_rooms.c.id)
                   .correlate(chat_rooms).scalar_subquery())
        statement = select(chat_rooms, members.label("member_count")).where(
            chat_rooms.c.kind == "room")
        if query:
            statement = statement.where(_containing(chat_rooms.c.name, query))
        if archived is not None:
            statement = statement.where(chat_rooms.c.archived_at.is_not(None) if archived
                                        else chat_rooms.c.archived_at.is_(None))
        if after_id is not None:
            statement = statement.where(chat_rooms.c.id > after_id)
        rows = (await self._s.execute(statement.order_by(chat_rooms.c.id).limit(limit))).all()
        return [(_room(r), r.member_count) for r in rows]

    async def admins(self) -> list[int]:
        if self._s.dialect.name == "postgresql":
            await self._s.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                  {"key": ADMINS_LOCK})
        return list((await self._s.execute(
            select(users.c.id).where(users.c.is_admin.is_(True),
                                     users.c.deactivated_at.is_(None),
                                     users.c.deleted_at.is_(None))
            .order_by(users.c.id))).scalars().all())
