"""The in-memory DM store (`ports.DmStore`), behaving like `sqla_dms.SqlaDmStore`: DMs are
rooms in the fakes' `ChatState`, their key unique."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from services.chat.domain import Conflict, Member, Room, User

if TYPE_CHECKING:
    from tests.unit.chat.fakes import ChatState


class InMemoryDmStore:
    def __init__(self, state: ChatState, read_only: bool) -> None:
        self._state = state
        self._read_only = read_only

    async def add(self, key: str, name: str, created_by: int, now: datetime) -> Room:
        if self._read_only:
            raise AssertionError("a write inside uow.read(): it would not be committed")
        if any(r.dm_key == key or r.name == name for r in self._state.rooms.values()):
            raise Conflict("dm_exists", "This direct message exists already.")
        room = Room(self._state.next_id("rooms"), name, None, True, created_by, now, 0,
                    "dm", key)
        self._state.rooms[room.id] = room
        return replace(room)

    async def by_key(self, key: str) -> Room | None:
        return next((replace(r) for r in self._state.rooms.values() if r.dm_key == key), None)

    async def members_of(self, room_ids: list[int]) -> dict[int, list[Member]]:
        found: dict[int, list[Member]] = {room_id: [] for room_id in room_ids}
        for (room_id, user_id), member in self._state.members.items():
            user = self._state.users.get(user_id)
            if room_id in found and user is not None:
                found[room_id].append(replace(member, username=user.username,
                                              display_name=user.display_name,
                                              is_bot=user.is_bot))
        return found

    async def people(self, prefix: str, limit: int) -> list[User]:
        users = sorted((u for u in self._state.users.values() if u.active
                        and u.username.lower().startswith(prefix.lower())),
                       key=lambda u: u.username.lower())
        return [replace(u) for u in users[:limit]]
