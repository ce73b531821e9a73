"""SQLAlchemy stores of what is said about a message after it was posted: reactions, pins,
and the editing history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, cast, delete, func, insert, literal_column, null, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_messages import _WITH_AUTHOR, _message
from services.chat.adapters.outbound.sqla_tables import (
    chat_messages,
    message_edits,
    message_pins,
    message_reactions,
    users,
)
from services.chat.domain import Message
from services.chat.domain.marks import MessageEdit, MessageMarks, Pin, Reaction

_r, _p = message_reactions, message_pins


class SqlaReactionStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def counts(self, message_id: int) -> dict[str, int]:
        # SQLite: this write transaction holds the database's write lock already.
        await self._s.execute(select(chat_messages.c.id).where(chat_messages.c.id == message_id)
                              .with_for_update())
        rows = (await self._s.execute(
            select(_r.c.emoji, func.count(), func.min(_r.c.created_at).label("first"))
            .where(_r.c.message_id == message_id).group_by(_r.c.emoji)
            .order_by("first", _r.c.emoji))).all()
        return {row.emoji: row[1] for row in rows}

    async def add(self, message_id: int, room_id: int, user_id: int, emoji: str,
                  now: datetime) -> bool:
        found = (await self._s.execute(select(_r.c.user_id).where(
            _r.c.message_id == message_id, _r.c.user_id == user_id, _r.c.emoji == emoji))).first()
        if found is not None:
            return False
        await self._s.execute(insert(_r).values(message_id=message_id, user_id=user_id,
                                                emoji=emoji, room_id=room_id, created_at=now))
        return True

    async def remove(self, message_id: int, user_id: int, emoji: str) -> bool:
        result = await self._s.execute(delete(_r).where(
            _r.c.message_id == message_id, _r.c.user_id == user_id, _r.c.emoji == emoji))
        return bool(result.rowcount)

    async def marks(self, message_ids: Sequence[int]) -> MessageMarks:
        if not message_ids:
            return MessageMarks({}, {})
        # Reactions and pins in one statement, told apart by `kind`: one round trip a page.
        reactions = (
            select(literal_column("'r'").label("kind"), _r.c.message_id, _r.c.room_id,
                   _r.c.emoji, _r.c.user_id, users.c.username, _r.c.created_at.label("at"))
            .join(users, users.c.id == _r.c.user_id)
            .where(_r.c.message_id.in_(message_ids)))
        pins = (
            select(literal_column("'p'"), _p.c.message_id, _p.c.room_id,
                   cast(null(), String(64)),
                   _p.c.pinned_by, users.c.username, _p.c.pinned_at)
            .outerjoin(users, users.c.id == _p.c.pinned_by)
            .where(_p.c.message_id.in_(message_ids)))
        by_message: dict[int, list[Reaction]] = {}
        pinned: dict[int, Pin] = {}
        for row in (await self._s.execute(reactions.union_all(pins))).all():
            if row.kind == "r":
                by_message.setdefault(row.message_id, []).append(
                    Reaction(row.message_id, row.user_id, row.username, row.emoji, row.at))
            else:
                pinned[row.message_id] = Pin(row.message_id, row.room_id, row.user_id, row.at,
                                             row.username)
        return MessageMarks(by_message, pinned)


class SqlaPinStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def pin(self, pin: Pin) -> bool:
        found = (await self._s.execute(
            select(_p.c.message_id).where(_p.c.message_id == pin.message_id)
            .with_for_update())).first()
        if found is not None:
            return False
        await self._s.execute(insert(_p).values(message_id=pin.message_id, room_id=pin.room_id,
                                                pinned_by=pin.pinned_by,
                                                pinned_at=pin.pinned_at))
        return True

    async def unpin(self, message_id: int) -> Pin | None:
        row = (await self._s.execute(delete(_p).where(_p.c.message_id == message_id)
                                     .returning(_p.c.room_id, _p.c.pinned_by,
                                                _p.c.pinned_at))).first()
        return Pin(message_id, row.room_id, row.pinned_by, row.pinned_at) if row else None

    async def of_room(self, room_id: int, limit: int) -> list[Message]:
        pinner = users.alias("pinner")
        # The messages as the message store reads them (with their author's name), plus the pin.
        rows = (await self._s.execute(
            _WITH_AUTHOR.add_columns(_p.c.pinned_by, _p.c.pinned_at,
                                     pinner.c.username.label("pinned_by_username"))
            .join(_p, _p.c.message_id == chat_messages.c.id)
            .outerjoin(pinner, pinner.c.id == _p.c.pinned_by)
            .where(_p.c.room_id == room_id, chat_messages.c.is_deleted.is_(False))
            .order_by(_p.c.pinned_at.desc(), _p.c.message_id.desc()).limit(limit))).all()
        messages = []
        for row in rows:
            message = _message(row)
            message.pin = Pin(message.id, room_id, row.pinned_by, row.pinned_at,
                              row.pinned_by_username)
            messages.append(message)
        return messages


class SqlaEditLog:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, edit: MessageEdit) -> None:
        await self._s.execute(insert(message_edits).values(
            message_id=edit.message_id, room_id=edit.room_id, editor_id=edit.editor_id,
            action=edit.action, previous_content=edit.previous_content,
            new_content=edit.new_content, edited_at=edit.edited_at))

    async def of_message(self, message_id: int, limit: int) -> list[MessageEdit]:
        e = message_edits
        rows = (await self._s.execute(
            select(e, users.c.username).outerjoin(users, users.c.id == e.c.editor_id)
            .where(e.c.message_id == message_id).order_by(e.c.id.desc()).limit(limit))).all()
        return [MessageEdit(r.message_id, r.room_id, r.editor_id, r.action,
                            r.previous_content, r.new_content, r.edited_at, r.id, r.username)
                for r in rows]
