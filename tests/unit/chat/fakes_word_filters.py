"""In-memory stand-ins for the word-filter ports (rules, held messages), like the
SQLAlchemy ones: a removed rule keeps its row; held messages read the author's name."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from services.chat.domain.held import HeldMessage, HeldStatus
from services.chat.domain.word_filter import WordFilterRule
from tests.support.memory_uow import MemoryStore


class InMemoryWordFilterStore(MemoryStore[Any]):
    async def add(self, rule: WordFilterRule) -> WordFilterRule:
        self._writing()
        stored = replace(rule, id=self._state.next_id("chat_word_filters"))
        self._state.word_filters[stored.id] = (stored, None)
        return stored

    async def remove(self, rule_id: int, room_id: int | None,
                     now: datetime) -> WordFilterRule | None:
        self._writing()
        found = self._state.word_filters.get(rule_id)
        if found is None or found[1] is not None or found[0].room_id != room_id:
            return None
        self._state.word_filters[rule_id] = (found[0], now)
        return found[0]

    async def live(self, room_id: int | None, *, every_scope: bool = False
                   ) -> list[WordFilterRule]:
        return [rule for rule, deleted in sorted(self._state.word_filters.values(),
                                                 key=lambda r: r[0].id)
                if deleted is None and (every_scope or rule.room_id == room_id)]

    async def stamp(self) -> tuple[int, int]:
        rows = self._state.word_filters
        return (max(rows, default=0), sum(1 for _, deleted in rows.values() if deleted))


class InMemoryHeldMessageStore(MemoryStore[Any]):
    def _named(self, held: HeldMessage) -> HeldMessage:
        user = self._state.users.get(held.user_id)
        return replace(held, username=user.username if user else "")

    async def add(self, held: HeldMessage) -> HeldMessage:
        self._writing()
        held.id = self._state.next_id("chat_held_messages")
        self._state.held[held.id] = replace(held)
        return held

    async def get(self, held_id: int | None = None, *, user_id: int | None = None,
                  client_msg_id: str | None = None, lock: bool = False) -> HeldMessage | None:
        for held in self._state.held.values():
            if (held.id == held_id if held_id is not None
                    else (held.user_id, held.client_msg_id) == (user_id, client_msg_id)):
                return self._named(held)
        return None

    async def page(self, *, status: HeldStatus, room_id: int | None,
                   moderator_id: int | None, before_id: int | None,
                   limit: int) -> list[HeldMessage]:
        members = self._state.members
        found = [h for h in sorted(self._state.held.values(), key=lambda h: -h.id)
                 if h.status == status
                 and (room_id is None or h.room_id == room_id)
                 and (before_id is None or h.id < before_id)
                 and (moderator_id is None
                      or (members.get((h.room_id, moderator_id)) is not None
                          and members[(h.room_id, moderator_id)].role in ("admin",
                                                                          "moderator")))]
        return [self._named(h) for h in found[:limit]]

    async def decide(self, held: HeldMessage) -> None:
        self._writing()
        stored = self._state.held[held.id]
        self._state.held[held.id] = replace(
            stored, status=held.status, decided_by=held.decided_by,
            decided_at=held.decided_at, note=held.note, message_id=held.message_id)
