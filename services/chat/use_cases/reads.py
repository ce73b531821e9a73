"""Read markers and the unread counts derived from them."""

from __future__ import annotations

from services.chat.domain import Actor, Forbidden, Frame, Unread, next_read_seq
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import require_user, visible_room
from shared.contracts import MemberRead


async def mark_read(deps: ChatDeps, actor: Actor, room_id: int, seq: int,
                    connection_id: str | None = None) -> Unread:
    """Read markers only move forward; the user's other sockets hear the new count."""
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        room, member = await visible_room(tx, actor, room_id)
        if member is None:
            raise Forbidden("not_a_member", "Only members keep read markers.")
        read_seq = next_read_seq(member.read_seq, seq, room.last_seq)
        moved = read_seq != member.read_seq
        if moved:
            await tx.members.set_read_seq(room_id, user_id, read_seq)
            now = deps.clock.now()
            # Notifications clears what this read covers, and never notifies about it.
            await tx.outbox.add(MemberRead(room_id=room_id, user_id=user_id,
                                           read_seq=read_seq, read_at=now), now)
        counts = {u.room_id: u for u in await tx.messages.unread(user_id)}
    unread = counts.get(room_id, Unread(room_id, 0, 0, room.last_seq, read_seq))
    await deps.live.to_user(user_id, Frame("unread", unread,
                                           exclude_connection=connection_id))
    return unread


async def unread_counts(deps: ChatDeps, actor: Actor) -> list[Unread]:
    """Derived from read markers at query time, so they cannot drift."""
    user_id = require_user(actor)
    async with deps.uow.read() as tx:
        return await tx.messages.unread(user_id)
