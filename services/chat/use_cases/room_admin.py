"""What administrators do to rooms: look them up, archive them (read-only, off the public
list), hand them to a new owner, make them public or private."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import Actor, Frame, Invalid, Member, Room
from services.chat.domain.admin import USER_SEARCH_MAX_CHARS
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin, room_not_found
from services.chat.use_cases.audit import record
from services.chat.use_cases.user_admin import USERS_PAGE_MAX
from shared.contracts import MemberRoleChanged, RoomUpdated


@dataclass(frozen=True, slots=True)
class RoomsPage:
    rooms: list[tuple[Room, int]]  # each with its member count
    next_cursor: str | None


async def search_rooms(deps: ChatDeps, actor: Actor, query: str = "",
                       archived: bool | None = None, cursor: str | None = None,
                       limit: int = 50) -> RoomsPage:
    """Administrators only: every room (public or private, never a DM) whose name contains
    `query`, archived or not (None: both), by id, a page at a time."""
    require_admin(actor)
    if len(query) > USER_SEARCH_MAX_CHARS:
        raise Invalid("query_too_long", f"Search for at most {USER_SEARCH_MAX_CHARS} characters.")
    if not 1 <= limit <= USERS_PAGE_MAX:
        raise Invalid("invalid_limit", f"limit is 1..{USERS_PAGE_MAX}.")
    after = None
    if cursor:
        if not cursor.isdigit() or len(cursor) > 12:
            raise Invalid("invalid_cursor", "That cursor is not one this server gave.")
        after = int(cursor)
    async with deps.uow.read() as tx:
        found = await tx.directory.rooms(query.strip(), archived, after, limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return RoomsPage(found, str(found[-1][0].id) if more else None)


async def _room(tx: ChatTx, room_id: int) -> Room:
    room = await tx.rooms.get(room_id)
    if room is None or room.kind != "room":  # a DM is its people's, not the server's
        raise room_not_found(room_id)
    return room


async def _updated(deps: ChatDeps, tx: ChatTx, room: Room, by: int) -> None:
    now = deps.clock.now()
    await tx.rooms.update(room)
    await tx.outbox.add(RoomUpdated(room_id=room.id, name=room.name,
                                    description=room.description, is_private=room.is_private,
                                    updated_by=by, updated_at=now), now)


async def archive_room(deps: ChatDeps, actor: Actor, room_id: int, archived: bool = True
                       ) -> Room:
    """Administrators only. An archived room is read-only (posts, edits, reactions and pins
    refused with `room_archived`) and leaves the public room list; its members still read
    it. Unarchiving gives it back. Idempotent."""
    admin_id = require_admin(actor)
    async with deps.uow.write() as tx:
        room = await _room(tx, room_id)
        if (room.archived_at is not None) == archived:
            return room
        now = deps.clock.now()
        room.archived_at = now if archived else None
        await _updated(deps, tx, room, admin_id)
        await record(tx, now, actor, "room.archive" if archived else "room.unarchive", "room",
                     room.id, room_id=room.id, name=room.name)
    await deps.live.to_room(room.id, Frame("room_updated", room))
    return room


async def set_room_owner(deps: ChatDeps, actor: Actor, room_id: int, user_id: int
                         ) -> tuple[Room, Member]:
    """Administrators only: the room's owner (`created_by`) becomes this member, who is
    made a room admin; the previous owner keeps their role. The new owner must be an active
    member of the room."""
    admin_id = require_admin(actor)
    async with deps.uow.write() as tx:
        room = await _room(tx, room_id)
        member = await tx.members.get(room_id, user_id)
        user = await tx.users.get(user_id)
        if member is None or user is None or not user.active:
            raise Invalid("not_a_member", f"User {user_id} is not an active member of this room.")
        now = deps.clock.now()
        promoted = member.role != "admin"
        if promoted:
            previous, member.role = member.role, "admin"
            await tx.members.set_role(room_id, user_id, "admin")
            await tx.outbox.add(MemberRoleChanged(room_id=room_id, user_id=user_id,
                                                  username=member.username, role="admin",
                                                  previous=previous, changed_by=admin_id,
                                                  changed_at=now), now)
        previous_owner, room.created_by = room.created_by, user_id
        await _updated(deps, tx, room, admin_id)
        await record(tx, now, actor, "room.owner", "room", room.id, room_id=room.id,
                     user_id=user_id, previous_owner=previous_owner)
    if promoted:
        await deps.live.to_room(room_id, Frame("member_role_changed", member))
    await deps.live.to_room(room.id, Frame("room_updated", room))
    return room, member


async def set_room_visibility(deps: ChatDeps, actor: Actor, room_id: int, is_private: bool
                              ) -> Room:
    """Administrators only: the room becomes public or private (as its admins may do with
    `PATCH /api/chat/rooms/{id}`); made private, non-members' sockets leave it."""
    admin_id = require_admin(actor)
    async with deps.uow.write() as tx:
        room = await _room(tx, room_id)
        if room.is_private == is_private:
            return room
        room.is_private = is_private
        await _updated(deps, tx, room, admin_id)
        await record(tx, deps.clock.now(), actor, "room.visibility", "room", room.id,
                     room_id=room.id, is_private=is_private)
    await deps.live.to_room(room.id, Frame("room_updated", room, members_only=is_private))
    return room


