"""In-memory reactions, pins and editing history over the fakes' `ChatState`
(`tests/unit/chat/fakes.py`), behaving like `sqla_marks.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.chat.domain import Message
from services.chat.domain.marks import MessageEdit, MessageMarks, Pin, Reaction
from tests.support.memory_uow import MemoryStore


def _username(state: Any, user_id: int | None) -> str | None:
    user = state.users.get(user_id) if user_id is not None else None
    return user.username if user else None


class InMemoryReactionStore(MemoryStore[Any]):
    """`state.reactions`: (message_id, user_id, emoji) -> (room_id, created_at)."""

    async def counts(self, message_id: int) -> dict[str, int]:
        first: dict[str, tuple[datetime, int]] = {}
        for (mid, _, emoji), (_, at) in self._state.reactions.items():
            if mid == message_id:
                seen, count = first.get(emoji, (at, 0))
                first[emoji] = (min(seen, at), count + 1)
        return {e: c for e, (_, c) in sorted(first.items(), key=lambda kv: (kv[1][0], kv[0]))}

    async def add(self, message_id: int, room_id: int, user_id: int, emoji: str,
                  now: datetime) -> bool:
        self._writing()
        key = (message_id, user_id, emoji)
        if key in self._state.reactions:
            return False
        self._state.reactions[key] = (room_id, now)
        return True

    async def remove(self, message_id: int, user_id: int, emoji: str) -> bool:
        self._writing()
        return self._state.reactions.pop((message_id, user_id, emoji), None) is not None

    async def marks(self, message_ids: Sequence[int]) -> MessageMarks:
        wanted = set(message_ids)
        reactions: dict[int, list[Reaction]] = {}
        for (mid, uid, emoji), (_, at) in self._state.reactions.items():
            if mid in wanted:
                reactions.setdefault(mid, []).append(
                    Reaction(mid, uid, _username(self._state, uid) or "?", emoji, at))
        pins = {mid: replace(pin, pinned_by_username=_username(self._state, pin.pinned_by))
                for mid, pin in self._state.pins.items() if mid in wanted}
        return MessageMarks(reactions, pins)


class InMemoryPinStore(MemoryStore[Any]):
    async def pin(self, pin: Pin) -> bool:
        self._writing()
        if pin.message_id in self._state.pins:
            return False
        self._state.pins[pin.message_id] = pin
        return True

    async def unpin(self, message_id: int) -> Pin | None:
        self._writing()
        return self._state.pins.pop(message_id, None)

    async def of_room(self, room_id: int, limit: int) -> list[Message]:
        pins = sorted((p for p in self._state.pins.values() if p.room_id == room_id),
                      key=lambda p: (p.pinned_at, p.message_id), reverse=True)
        out = []
        for pin in pins:
            message = self._state.messages[pin.message_id]
            if not message.is_deleted:
                author = self._state.users.get(message.user_id) if message.user_id else None
                out.append(replace(
                    message, mentions=[], display_name=author.display_name if author else None,
                    pin=replace(pin, pinned_by_username=_username(self._state, pin.pinned_by))))
        return out[:limit]


class InMemoryEditLog(MemoryStore[Any]):
    async def add(self, edit: MessageEdit) -> None:
        self._writing()
        self._state.edits.append(replace(edit, id=len(self._state.edits) + 1))

    async def of_message(self, message_id: int, limit: int) -> list[MessageEdit]:
        return [replace(e, editor_username=_username(self._state, e.editor_id))
                for e in reversed(self._state.edits) if e.message_id == message_id][:limit]
