"""Who is here and who is typing, for a room's sockets."""

from __future__ import annotations

from services.chat.domain import Actor, Frame
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import visible_room


def typing_frame(actor: Actor, room_id: int, is_typing: bool) -> Frame:
    """Typing goes to the room's other people, never back to the typist. (The socket
    checks that it has joined the room: no database round trip per keystroke.)"""
    return Frame("typing", {"room_id": room_id, "user_id": actor.user_id,
                            "username": actor.username, "is_typing": is_typing},
                 exclude_user=actor.user_id)


async def rooms_of_user(deps: ChatDeps, user_id: int) -> list[int]:
    """The rooms whose sockets hear about this user's presence."""
    async with deps.uow.read() as tx:
        return await tx.members.rooms_of(user_id)


async def present_members(deps: ChatDeps, actor: Actor, room_id: int,
                          members: list[tuple[int, str]] | None = None,
                          ) -> list[dict[str, object]]:
    """The room's members who are not offline (the exercise's "online users"), as the presence
    service sees them; empty when presence cannot be asked. `members` (user_id, username)
    when the caller has just read them (a join) and checked the room's visibility."""
    if members is None:
        async with deps.uow.read() as tx:
            await visible_room(tx, actor, room_id)
            members = [(m.user_id, m.username) for m in await tx.members.list(room_id)]
    if deps.presence is None or not members:
        return []
    names = dict(members)
    found = await deps.presence.lookup(list(names))
    # Only "here" is said: another room a member is looking at may be private.
    return [{"user_id": p.user_id, "username": names.get(p.user_id), "status": p.status,
             "room_id": p.current_room if p.current_room == room_id else None,
             "last_active_at": p.last_active_at.isoformat() if p.last_active_at else None}
            for p in found if p.status != "offline"]
