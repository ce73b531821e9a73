"""What a socket joining a room reads: the replay since its last seq, and a replica's
missed live frames."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import Actor, Member, Message, Room, can_read
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import room_not_found


@dataclass(frozen=True, slots=True)
class Recovery:
    room: Room
    member: Member | None
    messages: list[Message]
    last_seq: int
    recovered: bool
    members: list[tuple[int, str]]  # (user_id, username), for the room's presence


async def recover(deps: ChatDeps, actor: Actor, room_id: int,
                  since_seq: int | None) -> Recovery:
    """On join: everything after `since_seq` when it is at most `recovery_max_messages`
    (recovered), else the latest `history_on_join` messages (not recovered: page history).
    Without `since_seq`, the latest `history_on_join` messages, as the exercise does."""
    view = await deps.joins.read(room_id, actor.user_id, since_seq,
                                 replay_max=deps.recovery_max_messages,
                                 history=deps.history_on_join)
    if view.room is None or not can_read(view.room, actor, view.member):
        raise room_not_found(room_id)
    return Recovery(view.room, view.member, view.messages, view.room.last_seq,
                    view.recovered, view.members)


async def messages_between(deps: ChatDeps, room_id: int, after_seq: int,
                           before_seq: int) -> list[Message]:
    """The room's messages with `after_seq < seq < before_seq`, oldest first: what a replica
    missed of another replica's live frames (no visibility check: it serves the sockets
    that already joined the room)."""
    if before_seq - after_seq <= 1:
        return []
    async with deps.uow.read() as tx:
        return await tx.messages.page(
            room_id, before_seq=before_seq, after_seq=after_seq,
            limit=min(before_seq - after_seq - 1, deps.recovery_max_messages))
