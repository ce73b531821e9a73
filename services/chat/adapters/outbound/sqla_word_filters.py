"""Word-filter rules and held messages over SQLAlchemy (`chat_word_filters`,
`chat_held_messages`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import (
    chat_held_messages,
    chat_word_filters,
    room_members,
    users,
)
from services.chat.domain.held import HeldMessage, HeldStatus
from services.chat.domain.word_filter import WordFilterRule

_rules = chat_word_filters
_held = chat_held_messages


def _rule(row: Any) -> WordFilterRule:
    return WordFilterRule(id=row.id, room_id=row.room_id, pattern=row.pattern,
                          action=row.action, created_by=row.created_by,
                          created_at=row.created_at)


class SqlaWordFilterStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, rule: WordFilterRule) -> WordFilterRule:
        result = await self._s.execute(insert(_rules).values(
            room_id=rule.room_id, pattern=rule.pattern, action=rule.action,
            created_by=rule.created_by, created_at=rule.created_at).returning(_rules.c.id))
        return WordFilterRule(result.scalar_one(), rule.room_id, rule.pattern, rule.action,
                              rule.created_by, rule.created_at)

    async def remove(self, rule_id: int, room_id: int | None,
                     now: datetime) -> WordFilterRule | None:
        scope = _rules.c.room_id.is_(None) if room_id is None else _rules.c.room_id == room_id
        row = (await self._s.execute(
            update(_rules).where(_rules.c.id == rule_id, scope, _rules.c.deleted_at.is_(None))
            .values(deleted_at=now).returning(*_rules.c))).first()
        return _rule(row) if row else None

    async def live(self, room_id: int | None, *, every_scope: bool = False
                   ) -> list[WordFilterRule]:
        query = select(_rules).where(_rules.c.deleted_at.is_(None)).order_by(_rules.c.id)
        if not every_scope:
            query = query.where(_rules.c.room_id.is_(None) if room_id is None
                                else _rules.c.room_id == room_id)
        return [_rule(r) for r in (await self._s.execute(query)).all()]

    async def stamp(self) -> tuple[int, int]:
        row = (await self._s.execute(select(
            func.coalesce(func.max(_rules.c.id), 0),
            func.count(_rules.c.deleted_at)))).one()
        return int(row[0]), int(row[1])


def _held_row(row: Any) -> HeldMessage:
    return HeldMessage(
        id=row.id, room_id=row.room_id, user_id=row.user_id, content=row.content,
        client_msg_id=row.client_msg_id, scope=row.scope, created_at=row.created_at,
        status=row.status, thread_root_id=row.thread_root_id,
        also_send_to_room=bool(row.also_send_to_room),
        attachment_ids=tuple(orjson.loads(row.attachment_ids or "[]")),
        decided_by=row.decided_by, decided_at=row.decided_at, note=row.note,
        message_id=row.message_id, username=row.username or "")


_WITH_AUTHOR = select(_held, users.c.username).select_from(
    _held.join(users, users.c.id == _held.c.user_id))


class SqlaHeldMessageStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, held: HeldMessage) -> HeldMessage:
        result = await self._s.execute(insert(_held).values(
            room_id=held.room_id, user_id=held.user_id, content=held.content,
            client_msg_id=held.client_msg_id, thread_root_id=held.thread_root_id,
            also_send_to_room=held.also_send_to_room,
            attachment_ids=orjson.dumps(list(held.attachment_ids)).decode(),
            scope=held.scope, status=held.status, created_at=held.created_at,
        ).returning(_held.c.id))
        held.id = result.scalar_one()
        return held

    async def get(self, held_id: int | None = None, *, user_id: int | None = None,
                  client_msg_id: str | None = None, lock: bool = False) -> HeldMessage | None:
        query = _WITH_AUTHOR
        if held_id is not None:
            query = query.where(_held.c.id == held_id)
        else:
            query = query.where(_held.c.user_id == user_id,
                                _held.c.client_msg_id == client_msg_id)
        if lock:
            query = query.with_for_update(of=_held)  # SQLite: the write lock already is
        row = (await self._s.execute(query.limit(1))).first()
        return _held_row(row) if row else None

    async def page(self, *, status: HeldStatus, room_id: int | None,
                   moderator_id: int | None, before_id: int | None,
                   limit: int) -> list[HeldMessage]:
        query = _WITH_AUTHOR.where(_held.c.status == status)
        if room_id is not None:
            query = query.where(_held.c.room_id == room_id)
        if moderator_id is not None:
            query = query.where(_held.c.room_id.in_(
                select(room_members.c.room_id).where(
                    room_members.c.user_id == moderator_id,
                    room_members.c.role.in_(("admin", "moderator")))))
        if before_id is not None:
            query = query.where(_held.c.id < before_id)
        rows = (await self._s.execute(query.order_by(_held.c.id.desc()).limit(limit))).all()
        return [_held_row(r) for r in rows]

    async def decide(self, held: HeldMessage) -> None:
        await self._s.execute(update(_held).where(_held.c.id == held.id).values(
            status=held.status, decided_by=held.decided_by, decided_at=held.decided_at,
            note=held.note, message_id=held.message_id))
