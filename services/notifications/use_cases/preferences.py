"""Per-room notification levels: the user's own rooms only."""

from __future__ import annotations

from dataclasses import dataclass

from services.notifications.domain import (
    LEVELS,
    Invalid,
    Level,
    NotFound,
    RoomKind,
    default_level,
)
from services.notifications.ports import NotificationsDeps, NotificationsTx


@dataclass(frozen=True, slots=True)
class RoomPreference:
    room_id: int
    room_name: str | None
    level: Level
    kind: RoomKind = "room"  # "dm": its name is chat's internal one, its default level `all`


async def preferences(deps: NotificationsDeps, user_id: int) -> list[RoomPreference]:
    """Every room the user is a member of, with its level (rooms without an entry use the
    default: `mentions`, and `all` in a direct message); no other room is ever named."""
    async with deps.uow.read() as tx:
        return await _preferences(tx, user_id)


async def _preferences(tx: NotificationsTx, user_id: int) -> list[RoomPreference]:
    rooms = await tx.members.rooms_of(user_id)
    levels = await tx.preferences.of_user(user_id)
    names = await tx.rooms.names(rooms)
    dms = await tx.rooms.dms_among(rooms)
    kinds: dict[int, RoomKind] = {room_id: "dm" if room_id in dms else "room"
                                  for room_id in rooms}
    return [RoomPreference(room_id, names.get(room_id),
                           levels.get(room_id, default_level(kinds[room_id])), kinds[room_id])
            for room_id in rooms]


async def set_preferences(deps: NotificationsDeps, user_id: int,
                          changes: list[tuple[int, str]]) -> list[RoomPreference]:
    """Per room: `mentions` (the default: `@username` and `@room`), `all` (every message)
    or `nothing`. Rooms not listed keep their setting. Only the
    user's own rooms: any other id, private or public, existing or not, is
    `room_not_found`, and the whole request changes nothing."""
    for room_id, level in changes:
        if level not in LEVELS:
            raise Invalid("invalid_level", f"level must be one of {', '.join(LEVELS)}.")
        if room_id <= 0:
            raise Invalid("invalid_room_id", "room_id must be a positive integer.")
    async with deps.uow.write() as tx:
        mine = set(await tx.members.rooms_of(user_id))
        for room_id, _level in changes:
            if room_id not in mine:
                raise NotFound("room_not_found", f"Room {room_id} not found.")
        now = deps.clock.now()
        dms = await tx.rooms.dms_among([room_id for room_id, _level in changes])
        for room_id, level in changes:
            await tx.preferences.put(user_id, room_id, level, now,  # type: ignore[arg-type]
                                     default_level("dm" if room_id in dms else "room"))
        return await _preferences(tx, user_id)
