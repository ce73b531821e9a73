"""SQLAlchemy implementations of the chat stores, the outbox and the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import (
    chat_messages,
    chat_rooms,
    message_mentions,
    outbox,
    room_members,
    user_sessions,
    users,
)
from services.chat.domain import (
    AuthSession,
    Conflict,
    Member,
    Message,
    Role,
    Room,
    Unread,
    User,
)
from shared.db import Database
from shared.outbox import Committed, OutboxWriter, write_with_outbox

# Statements of frequent paths are built once, with bind parameters: building a statement
# object costs about as much CPU as executing it (measured with pyinstrument). These are
# immutable SQL expressions, not shared state.
# pg_advisory_xact_lock key of "who is the first account" (any constant of our own).
FIRST_ACCOUNT_LOCK = 0x7465727475  # "tertu"

_ROOM_WITH_MEMBER = (
    select(chat_rooms, room_members.c.user_id.label("m_user_id"), room_members.c.role,
           room_members.c.joined_at, room_members.c.read_seq,
           users.c.username.label("m_username"))
    .select_from(chat_rooms.outerjoin(room_members, and_(
        room_members.c.room_id == chat_rooms.c.id,
        room_members.c.user_id == bindparam("user_id")))
        .outerjoin(users, users.c.id == room_members.c.user_id))
    .where(chat_rooms.c.id == bindparam("room_id")))
_ADVANCE_READ = (update(room_members).where(
    room_members.c.room_id == bindparam("b_room_id"),
    room_members.c.user_id == bindparam("b_user_id"),
    room_members.c.read_seq < bindparam("b_seq")).values(read_seq=bindparam("b_seq")))


def _user(row: Any) -> User:
    return User(row.id, row.username, row.display_name, row.is_admin, row.created_at,
                row.deactivated_at, row.deleted_at)


def _session(row: Any) -> AuthSession:
    return AuthSession(row.id, row.user_id, row.created_at, row.expires_at, row.revoked_at)


def _room(row: Any) -> Room:
    return Room(row.id, row.name, row.description, row.is_private, row.created_by,
                row.created_at, row.last_seq)


def _message(row: Any) -> Message:
    return Message(id=row.id, room_id=row.room_id, seq=row.seq, user_id=row.user_id,
                   username=row.username, content=row.content, message_type=row.message_type,
                   created_at=row.created_at, client_msg_id=row.client_msg_id,
                   edited_at=row.edited_at, is_deleted=row.is_deleted)


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
                                  "deleted_at": user.deleted_at}
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


class SqlaRoomStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, name: str, description: str | None, is_private: bool,
                  created_by: int | None, now: datetime) -> Room:
        try:
            result = await self._s.execute(insert(chat_rooms).values(
                name=name, description=description, is_private=is_private,
                created_by=created_by, created_at=now, last_seq=0,
            ).returning(chat_rooms.c.id))
        except IntegrityError as exc:
            raise Conflict("room_name_taken", f"A room named {name!r} exists.") from exc
        return Room(result.scalar_one(), name, description, is_private, created_by, now, 0)

    async def get(self, room_id: int) -> Room | None:
        row = (await self._s.execute(
            select(chat_rooms).where(chat_rooms.c.id == room_id))).first()
        return _room(row) if row else None

    async def with_member(self, room_id: int, user_id: int | None
                          ) -> tuple[Room | None, Member | None]:
        if user_id is None:
            return await self.get(room_id), None
        row = (await self._s.execute(_ROOM_WITH_MEMBER,
                                     {"room_id": room_id, "user_id": user_id})).first()
        if row is None:
            return None, None
        member = None
        if row.m_user_id is not None:
            member = Member(room_id, row.m_user_id, row.m_username, row.role, row.joined_at,
                            row.read_seq)
        return _room(row), member

    async def by_name(self, name: str) -> Room | None:
        row = (await self._s.execute(
            select(chat_rooms).where(chat_rooms.c.name == name))).first()
        return _room(row) if row else None

    async def update(self, room: Room) -> None:
        await self._s.execute(update(chat_rooms).where(chat_rooms.c.id == room.id).values(
            name=room.name, description=room.description, is_private=room.is_private))

    async def visible_to(self, user_id: int | None) -> list[Room]:
        query = select(chat_rooms).order_by(chat_rooms.c.id)
        if user_id is None:
            query = query.where(chat_rooms.c.is_private.is_(False))
        else:
            mine = select(room_members.c.room_id).where(room_members.c.user_id == user_id)
            query = query.where(or_(chat_rooms.c.is_private.is_(False),
                                    chat_rooms.c.id.in_(mine)))
        return [_room(r) for r in (await self._s.execute(query)).all()]


class SqlaMemberStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    _columns = (room_members.c.room_id, room_members.c.user_id, users.c.username,
                room_members.c.role, room_members.c.joined_at, room_members.c.read_seq)

    def _member(self, row: Any) -> Member:
        return Member(row.room_id, row.user_id, row.username, row.role, row.joined_at,
                      row.read_seq)

    async def get(self, room_id: int, user_id: int) -> Member | None:
        row = (await self._s.execute(
            select(*self._columns).join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id == room_id, room_members.c.user_id == user_id)
        )).first()
        return self._member(row) if row else None

    async def add(self, member: Member) -> None:
        try:
            await self._s.execute(insert(room_members).values(
                room_id=member.room_id, user_id=member.user_id, role=member.role,
                joined_at=member.joined_at, last_seen=member.joined_at,
                read_seq=member.read_seq))
        except IntegrityError as exc:
            raise Conflict("already_member", "Already a member of this room.") from exc

    async def remove(self, room_id: int, user_id: int) -> None:
        await self._s.execute(delete(room_members).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id))

    async def list(self, room_id: int) -> list[Member]:
        rows = (await self._s.execute(
            select(*self._columns).join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id == room_id).order_by(room_members.c.id))).all()
        return [self._member(r) for r in rows]

    async def rooms_of(self, user_id: int) -> list[int]:
        return list((await self._s.execute(
            select(room_members.c.room_id).where(room_members.c.user_id == user_id)
            .order_by(room_members.c.room_id))).scalars().all())

    async def set_role(self, room_id: int, user_id: int, role: Role) -> None:
        await self._s.execute(update(room_members).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id,
        ).values(role=role))

    async def set_read_seq(self, room_id: int, user_id: int, seq: int) -> None:
        # Never backwards, even when two sockets race.
        await self._s.execute(_ADVANCE_READ, {"b_room_id": room_id, "b_user_id": user_id,
                                              "b_seq": seq})


class SqlaMessageStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def _write_mentions(self, message: Message) -> None:
        if not message.mentions:
            return
        mentioned = (await self._s.execute(
            select(room_members.c.user_id).join(users, users.c.id == room_members.c.user_id)
            .where(room_members.c.room_id == message.room_id,
                   users.c.username_key.in_(message.mentions)))).scalars().all()
        rows = [{"message_id": message.id, "user_id": uid, "room_id": message.room_id,
                 "seq": message.seq} for uid in mentioned if uid != message.user_id]
        if rows:  # mentioning only yourself mentions nobody
            await self._s.execute(insert(message_mentions), rows)

    async def get(self, message_id: int) -> Message | None:
        row = (await self._s.execute(
            select(chat_messages).where(chat_messages.c.id == message_id))).first()
        return _message(row) if row else None

    async def update(self, message: Message) -> None:
        await self._s.execute(update(chat_messages).where(chat_messages.c.id == message.id)
                              .values(content=message.content, edited_at=message.edited_at,
                                      is_deleted=message.is_deleted))
        await self._s.execute(delete(message_mentions).where(
            message_mentions.c.message_id == message.id))
        if message.is_deleted:
            message.mentions = []
        await self._write_mentions(message)

    async def page(self, room_id: int, *, before_seq: int | None, after_seq: int | None,
                   limit: int) -> list[Message]:
        query = select(chat_messages).where(chat_messages.c.room_id == room_id)
        if after_seq is not None:
            query = query.where(chat_messages.c.seq > after_seq)
        if before_seq is not None:
            query = query.where(chat_messages.c.seq < before_seq)
        if after_seq is not None:
            query = query.order_by(chat_messages.c.seq).limit(limit)
            rows = (await self._s.execute(query)).all()
        else:
            query = query.order_by(chat_messages.c.seq.desc()).limit(limit)
            rows = list(reversed((await self._s.execute(query)).all()))
        return [_message(r) for r in rows]

    async def unread(self, user_id: int) -> list[Unread]:
        m, mm, rm = chat_messages, message_mentions, room_members
        count = (select(func.count()).select_from(m).where(
            m.c.room_id == rm.c.room_id, m.c.seq > rm.c.read_seq, m.c.is_deleted.is_(False),
            or_(m.c.user_id.is_(None), m.c.user_id != user_id),
        ).scalar_subquery())
        mentions = (select(func.count()).select_from(mm).where(
            and_(mm.c.room_id == rm.c.room_id, mm.c.user_id == user_id,
                 mm.c.seq > rm.c.read_seq)).scalar_subquery())
        rows = (await self._s.execute(
            select(rm.c.room_id, chat_rooms.c.last_seq, rm.c.read_seq,
                   count.label("count"), mentions.label("mentions"))
            .join(chat_rooms, chat_rooms.c.id == rm.c.room_id)
            .where(rm.c.user_id == user_id).order_by(rm.c.room_id))).all()
        return [Unread(r.room_id, r.count, r.mentions, r.last_seq, r.read_seq) for r in rows]


class SqlaChatTx:
    def __init__(self, session: AsyncConnection, source: str) -> None:
        self.session = session
        self.users = SqlaUserStore(session)
        self.rooms = SqlaRoomStore(session)
        self.members = SqlaMemberStore(session)
        self.messages = SqlaMessageStore(session)
        self.sessions = SqlaSessionStore(session)
        self.outbox = OutboxWriter(session, outbox, source)


class SqlaChatUnitOfWork:
    """Transactions over SQLAlchemy; a write's outbox rows go to `committed` (the relay)
    right after its commit, in commit order."""

    def __init__(self, db: Database, source: str = "tertulia/chat",
                 committed: Committed | None = None) -> None:
        self._db = db
        self._source = source
        self._committed = committed

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlaChatTx]:
        async with write_with_outbox(self._db, lambda conn: SqlaChatTx(conn, self._source),
                                     self._committed) as tx:
            yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlaChatTx]:
        async with self._db.read() as session:
            yield SqlaChatTx(session, self._source)
