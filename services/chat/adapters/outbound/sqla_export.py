"""`ExportSource` over SQLAlchemy: one read transaction for the whole export (a consistent
snapshot: SQLite's deferred read, PostgreSQL's REPEATABLE READ), each record type read in
pages by its key (`PAGE_ROWS` at a time), so a server's export never sits in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Column, Select, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import (
    chat_audit,
    chat_files,
    chat_messages,
    chat_rooms,
    message_edits,
    message_mentions,
    message_pins,
    message_reactions,
    room_members,
    users,
)
from services.chat.domain.export_format import (
    AUDIT,
    EDIT,
    FILE,
    MEMBER,
    MESSAGE,
    PIN,
    REACTION,
    ROOM,
    USER,
    USER_PUBLIC,
    ExportScope,
    FieldSpec,
)
from shared.db import Database

PAGE_ROWS = 500
_m, _f, _r, _p = chat_messages, chat_files, message_reactions, message_pins


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _record(kind: str, spec: FieldSpec, row: Any, **extra: Any) -> dict[str, Any]:
    mapping = row._mapping
    out: dict[str, Any] = {"type": kind}
    for name in spec:
        if name in extra:
            out[name] = extra[name]
        elif name in mapping:
            out[name] = _json(mapping[name])
    return out


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """One read transaction that sees the database as it was when it began."""
    if db.sqlite:
        async with db.read() as conn:  # WAL: a deferred transaction keeps its snapshot
            yield conn
        return
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def pages(conn: AsyncConnection, query: Select[Any], keys: Sequence[Column[Any]],
                rows: int = PAGE_ROWS) -> AsyncIterator[Sequence[Any]]:
    """The query's rows in key order, `rows` at a time (keyset paging: each page starts
    after the last key of the one before)."""
    after: tuple[Any, ...] | None = None
    while True:
        page = query
        if after is not None:
            page = page.where(tuple_(*keys) > tuple_(*after) if len(keys) > 1
                              else keys[0] > after[0])
        found = (await conn.execute(page.order_by(*keys).limit(rows))).all()
        if found:
            yield found
        if len(found) < rows:
            return
        last = found[-1]._mapping
        after = tuple(last[key] for key in keys)


class SqlaExportSource:
    def __init__(self, db: Database, page_rows: int = PAGE_ROWS) -> None:
        self._db = db
        self._rows = page_rows

    async def records(self, scope: ExportScope) -> AsyncIterator[dict[str, Any]]:
        async with snapshot(self._db) as conn:
            for part in (self._users, self._rooms, self._members, self._messages,
                         self._reactions, self._pins, self._files, self._audit):
                async for record in part(conn, scope):
                    yield record

    def _pages(self, conn: AsyncConnection, query: Select[Any],
               keys: Sequence[Column[Any]]) -> AsyncIterator[Sequence[Any]]:
        return pages(conn, query, keys, self._rows)

    async def _simple(self, conn: AsyncConnection, kind: str, spec: FieldSpec,
                      query: Select[Any], keys: Sequence[Column[Any]],
                      extra: Callable[[Any], dict[str, Any]] | None = None
                      ) -> AsyncIterator[dict[str, Any]]:
        async for page in self._pages(conn, query, keys):
            for row in page:
                yield _record(kind, spec, row, **(extra(row) if extra else {}))

    def _users(self, conn: AsyncConnection, scope: ExportScope
               ) -> AsyncIterator[dict[str, Any]]:
        query = select(users)
        spec = USER
        if scope.kind == "room":
            # People's public records: the room's members and everyone its content names.
            query = query.where(users.c.id.in_(_people_of_room(scope.room_id)))
            spec = USER_PUBLIC
        elif scope.kind == "user":
            query = query.where(users.c.id == scope.user_id)
        has_bot = "is_bot" in users.c
        return self._simple(conn, "user", spec, query, [users.c.id],
                            None if has_bot else (lambda row: {"is_bot": False}))

    def _rooms(self, conn: AsyncConnection, scope: ExportScope
               ) -> AsyncIterator[dict[str, Any]]:
        query = select(chat_rooms)
        if scope.kind == "room":
            query = query.where(chat_rooms.c.id == scope.room_id)
        elif scope.kind == "user":
            query = query.where(chat_rooms.c.id.in_(_rooms_of_user(scope.user_id)))
        return self._simple(conn, "room", ROOM, query, [chat_rooms.c.id])

    def _members(self, conn: AsyncConnection, scope: ExportScope
                 ) -> AsyncIterator[dict[str, Any]]:
        query = select(room_members)
        if scope.kind == "room":
            query = query.where(room_members.c.room_id == scope.room_id)
        elif scope.kind == "user":
            query = query.where(room_members.c.user_id == scope.user_id)
        return self._simple(conn, "member", MEMBER, query, [room_members.c.id])

    async def _messages(self, conn: AsyncConnection, scope: ExportScope
                        ) -> AsyncIterator[dict[str, Any]]:
        query = select(_m)
        keys: list[Column[Any]] = [_m.c.id]
        if scope.kind == "room":  # the (room_id, seq) index, in the room's own order
            query = query.where(_m.c.room_id == scope.room_id)
            keys = [_m.c.seq]
        elif scope.kind == "user":
            query = query.where(_m.c.user_id == scope.user_id)
        async for page in self._pages(conn, query, keys):
            ids = [row.id for row in page]
            mentions, edits = await _mentions_and_edits(conn, ids)
            for row in page:
                yield _record("message", MESSAGE, row,
                              mentions=mentions.get(row.id, []), edits=edits.get(row.id, []))

    def _reactions(self, conn: AsyncConnection, scope: ExportScope
                   ) -> AsyncIterator[dict[str, Any]]:
        query = select(_r)
        if scope.kind == "room":
            query = query.where(_r.c.room_id == scope.room_id)
        elif scope.kind == "user":
            query = query.where(_r.c.user_id == scope.user_id)
        return self._simple(conn, "reaction", REACTION, query,
                            [_r.c.message_id, _r.c.user_id, _r.c.emoji])

    async def _pins(self, conn: AsyncConnection, scope: ExportScope
                    ) -> AsyncIterator[dict[str, Any]]:
        if scope.kind == "user":  # a pin is the room's, not the pinner's own data
            return
        query = select(_p)
        if scope.kind == "room":
            query = query.where(_p.c.room_id == scope.room_id)
        async for record in self._simple(conn, "pin", PIN, query, [_p.c.message_id]):
            yield record

    def _files(self, conn: AsyncConnection, scope: ExportScope
               ) -> AsyncIterator[dict[str, Any]]:
        query = select(_f).where(_f.c.deleted_at.is_(None))  # a deleted file's bytes go
        if scope.kind == "room":
            query = query.where(_f.c.room_id == scope.room_id, _f.c.message_id.is_not(None))
        elif scope.kind == "user":
            query = query.where(_f.c.user_id == scope.user_id)
        return self._simple(conn, "file", FILE, query, [_f.c.id],
                            lambda row: {"has_thumbnail": row.thumbnail_key is not None})

    async def _audit(self, conn: AsyncConnection, scope: ExportScope
                     ) -> AsyncIterator[dict[str, Any]]:
        if not scope.audit or scope.kind != "server":
            return
        async for record in self._simple(conn, "audit", AUDIT, select(chat_audit),
                                         [chat_audit.c.id],
                                         lambda row: {"details": _details(row.details)}):
            yield record


def _details(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if not value:
        return {}
    parsed = orjson.loads(value)
    return parsed if isinstance(parsed, dict) else {"value": parsed}


async def _mentions_and_edits(conn: AsyncConnection, ids: list[int]
                              ) -> tuple[dict[int, list[int]], dict[int, list[dict[str, Any]]]]:
    """A page's mentions and editing history: two queries for the page."""
    mentions: dict[int, list[int]] = {}
    for row in (await conn.execute(
            select(message_mentions.c.message_id, message_mentions.c.user_id)
            .where(message_mentions.c.message_id.in_(ids))
            .order_by(message_mentions.c.message_id, message_mentions.c.user_id))).all():
        mentions.setdefault(row.message_id, []).append(row.user_id)
    edits: dict[int, list[dict[str, Any]]] = {}
    for row in (await conn.execute(
            select(message_edits).where(message_edits.c.message_id.in_(ids))
            .order_by(message_edits.c.message_id, message_edits.c.id))).all():
        edit = _record("edit", EDIT, row)
        del edit["type"]
        edits.setdefault(row.message_id, []).append(edit)
    return mentions, edits


def _people_of_room(room_id: int | None) -> Any:
    """Everyone a room's export names: its members, its creator, and the authors, reactors,
    pinners, editors, mentioned people and uploaders of its content."""
    m, r, p, e, mm, f = (chat_messages, message_reactions, message_pins, message_edits,
                         message_mentions, chat_files)
    return union(
        select(room_members.c.user_id).where(room_members.c.room_id == room_id),
        select(chat_rooms.c.created_by).where(chat_rooms.c.id == room_id,
                                              chat_rooms.c.created_by.is_not(None)),
        select(m.c.user_id).where(m.c.room_id == room_id, m.c.user_id.is_not(None)),
        select(r.c.user_id).where(r.c.room_id == room_id),
        select(p.c.pinned_by).where(p.c.room_id == room_id, p.c.pinned_by.is_not(None)),
        select(e.c.editor_id).where(e.c.room_id == room_id, e.c.editor_id.is_not(None)),
        select(mm.c.user_id).where(mm.c.room_id == room_id),
        select(f.c.user_id).where(f.c.room_id == room_id, f.c.message_id.is_not(None),
                                  f.c.deleted_at.is_(None)),
    )


def _rooms_of_user(user_id: int | None) -> Any:
    """The rooms a person's own export names: theirs, and those of their messages,
    reactions and files."""
    return union(
        select(room_members.c.room_id).where(room_members.c.user_id == user_id),
        select(chat_messages.c.room_id).where(chat_messages.c.user_id == user_id),
        select(message_reactions.c.room_id).where(message_reactions.c.user_id == user_id),
        select(chat_files.c.room_id).where(chat_files.c.user_id == user_id,
                                           chat_files.c.room_id.is_not(None),
                                           chat_files.c.deleted_at.is_(None)),
    )
