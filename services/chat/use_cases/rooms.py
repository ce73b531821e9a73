"""Rooms: created, listed, read and changed."""

from __future__ import annotations

from services.chat.domain import (
    Actor,
    Conflict,
    Forbidden,
    Frame,
    Member,
    Room,
    is_moderator,
    is_room_admin,
    refuse_in_dm,
    validate_description,
    validate_room_name,
)
from services.chat.domain.moderation import validate_slow_mode
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import active_user, require_user, visible_room
from services.chat.use_cases.audit import record
from services.chat.use_cases.membership import joined_event
from shared.contracts import RoomCreated, RoomUpdated


async def create_room(deps: ChatDeps, actor: Actor, name: str, description: str | None = None,
                      is_private: bool = False) -> Room:
    """Room names are unique; the creator becomes the room's admin."""
    user_id = require_user(actor)
    name = validate_room_name(name)
    validate_description(description)
    async with deps.uow.write() as tx:
        user = await active_user(tx, user_id)
        if await tx.rooms.by_name(name) is not None:
            raise Conflict("room_name_taken", f"A room named {name!r} exists.")
        now = deps.clock.now()
        room = await tx.rooms.add(name, description, is_private, user_id, now)
        member = Member(room.id, user_id, actor.username or "", "admin", now,
                        display_name=user.display_name)
        await tx.members.add(member)
        await tx.outbox.add(RoomCreated(room_id=room.id, name=room.name,
                                        description=description, is_private=is_private,
                                        created_by=user_id, created_at=now), now)
        await tx.outbox.add(joined_event(member, None), now)
    return room


async def list_rooms(deps: ChatDeps, actor: Actor) -> list[Room]:
    """Public rooms and the private rooms the caller belongs to."""
    async with deps.uow.read() as tx:
        return await tx.rooms.visible_to(actor.user_id)


async def get_room(deps: ChatDeps, actor: Actor, room_id: int) -> tuple[Room, Member | None]:
    async with deps.uow.read() as tx:
        return await visible_room(tx, actor, room_id)


async def update_room(deps: ChatDeps, actor: Actor, room_id: int, *, name: str | None = None,
                      description: str | None = None, is_private: bool | None = None,
                      slow_mode_secs: int | None = None) -> Room:
    """Room admins (and server admins) change a room's name, description and privacy; its
    moderators too may set slow mode (`slow_mode_secs`, 0 turns it off; audited)."""
    user_id = require_user(actor)
    if slow_mode_secs is not None:
        slow_mode_secs = validate_slow_mode(slow_mode_secs)
    async with deps.uow.write() as tx:
        room, member = await visible_room(tx, actor, room_id)
        refuse_in_dm(room, "update")
        only_slow_mode = name is None and description is None and is_private is None
        if not (is_room_admin(actor, member)
                or (only_slow_mode and is_moderator(actor, member))):
            raise Forbidden("not_room_admin", "Only the room's admins can change it.")
        now = deps.clock.now()
        if slow_mode_secs is not None and slow_mode_secs != room.slow_mode_secs:
            await record(tx, now, actor, "room.slow_mode", "room", room.id, room_id=room.id,
                         slow_mode_secs=slow_mode_secs, previous=room.slow_mode_secs)
            room.slow_mode_secs = slow_mode_secs
        if name is not None:
            name = validate_room_name(name)
            other = await tx.rooms.by_name(name)
            if other is not None and other.id != room.id:
                raise Conflict("room_name_taken", f"A room named {name!r} exists.")
            room.name = name
        if description is not None:
            room.description = validate_description(description)
        if is_private is not None:
            room.is_private = is_private
        await tx.rooms.update(room)
        await tx.outbox.add(RoomUpdated(room_id=room.id, name=room.name,
                                        description=room.description,
                                        is_private=room.is_private, updated_by=user_id,
                                        updated_at=now), now)
    await deps.live.to_room(room.id, Frame("room_updated", room, members_only=room.is_private))
    return room
