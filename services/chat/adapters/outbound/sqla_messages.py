"""SQLAlchemy store of messages: edits, soft deletions, mentions, history pages, unread
counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_tables import (
    chat_messages,
    chat_rooms,
    message_mentions,
    room_members,
    users,
)
from services.chat.domain import Message, Unread


def _message(row: Any) -> Message:
    return Message(id=row.id, room_id=row.room_id, seq=row.seq, user_id=row.user_id,
                   username=row.username, content=row.content, message_type=row.message_type,
                   created_at=row.created_at, client_msg_id=row.client_msg_id,
                   edited_at=row.edited_at, is_deleted=row.is_deleted,
                   display_name=row.author_display_name,
                   author_is_bot=bool(row.author_is_bot), author_label=row.author_label,
                   thread_root_id=row.thread_root_id,
                   also_send_to_room=row.also_send_to_room, reply_count=row.reply_count,
                   last_reply_at=row.last_reply_at)


# A message with its author's current display name (system messages have no author).
_WITH_AUTHOR = (select(chat_messages, users.c.display_name.label("author_display_name"),
                       users.c.is_bot.label("author_is_bot"))
                .select_from(chat_messages.outerjoin(users,
                                                     users.c.id == chat_messages.c.user_id)))


def _in_room_timeline() -> Any:
    """Roots, ordinary messages and replies also sent to the room (not thread-only ones)."""
    m = chat_messages
    return or_(m.c.thread_root_id.is_(None), m.c.also_send_to_room.is_(True))


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
            _WITH_AUTHOR.where(chat_messages.c.id == message_id))).first()
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
                   limit: int, timeline: bool = False) -> list[Message]:
        query = _WITH_AUTHOR.where(chat_messages.c.room_id == room_id)
        if timeline:
            query = query.where(_in_room_timeline())
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

    async def thread_seqs(self, room_id: int, from_seq: int, to_seq: int | None) -> list[int]:
        """The seqs of thread-only replies with `from_seq <= seq <= to_seq` (None: no end)."""
        m = chat_messages
        query = select(m.c.seq).where(m.c.room_id == room_id, m.c.seq >= from_seq,
                                      ~_in_room_timeline())
        if to_seq is not None:
            query = query.where(m.c.seq <= to_seq)
        return list((await self._s.execute(query.order_by(m.c.seq))).scalars().all())

    async def replies(self, root_id: int, *, after_seq: int | None,
                      limit: int) -> list[Message]:
        """A thread's replies, oldest first, after `after_seq`."""
        m = chat_messages
        query = _WITH_AUTHOR.where(m.c.thread_root_id == root_id)
        if after_seq is not None:
            query = query.where(m.c.seq > after_seq)
        rows = (await self._s.execute(query.order_by(m.c.seq).limit(limit))).all()
        return [_message(r) for r in rows]

    async def unread(self, user_id: int) -> list[Unread]:
        m, mm, rm = chat_messages, message_mentions, room_members
        # Thread-only replies are not unread in the room (their participants are notified).
        count = (select(func.count()).select_from(m).where(
            m.c.room_id == rm.c.room_id, m.c.seq > rm.c.read_seq, m.c.is_deleted.is_(False),
            or_(m.c.user_id.is_(None), m.c.user_id != user_id), _in_room_timeline(),
        ).scalar_subquery())
        mentions = (select(func.count()).select_from(mm)
                    .join(m, m.c.id == mm.c.message_id).where(
            and_(mm.c.room_id == rm.c.room_id, mm.c.user_id == user_id,
                 mm.c.seq > rm.c.read_seq), _in_room_timeline()).scalar_subquery())
        rows = (await self._s.execute(
            select(rm.c.room_id, chat_rooms.c.last_seq, rm.c.read_seq,
                   count.label("count"), mentions.label("mentions"))
            .join(chat_rooms, chat_rooms.c.id == rm.c.room_id)
            .where(rm.c.user_id == user_id).order_by(rm.c.room_id))).all()
        return [Unread(r.room_id, r.count, r.mentions, r.last_seq, r.read_seq) for r in rows]
