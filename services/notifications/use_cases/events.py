"""Each consumed event applied once, with one handler per event type; events that kept
failing kept as dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from services.notifications.domain import Decision, Notification
from services.notifications.ports import NotificationsDeps
from services.notifications.use_cases import notifying, projection
from services.notifications.use_cases._outgoing import (
    Effects,
    Handler,
    created_event,
    read_event,
    suppressed_event,
)
from shared.contracts import (
    BroadcastSent,
    MemberJoined,
    MemberLeft,
    MemberRead,
    MemberRoleChanged,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    RoomCreated,
    RoomUpdated,
    UserDeleted,
    UserRegistered,
    UserUpdated,
)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one event did; `duplicate` when it had been handled before (a redelivery)."""

    duplicate: bool = False
    created: tuple[Notification, ...] = ()
    decisions: tuple[Decision, ...] = ()


async def apply_event(deps: NotificationsDeps, event_id: str, event: BaseModel,
                      occurred_at: datetime) -> Applied:
    """Each event takes effect once: its id is recorded in the transaction that applies it,
    so a redelivered event changes nothing. New inbox entries leave through the outbox
    (`events.notifications.created`) and, after the commit, as live frames; entries marked
    read and suppressed decisions leave through the outbox too (`events.notifications.read`,
    `events.notifications.suppressed`)."""
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return Applied()
    now = deps.clock.now()
    async with deps.uow.write() as tx:
        if not await tx.processed.claim(event_id, now):
            return Applied(duplicate=True)
        effects = await handler(deps, tx, event, occurred_at, now) or Effects()
        outgoing: list[BaseModel] = [created_event(n) for n in effects.created]
        outgoing += [suppressed_event(d) for d in effects.decisions if not d.notified]
        outgoing += [read_event(n) for n in effects.read]
        for outgoing_event in outgoing:
            await tx.outbox.add(outgoing_event, now)
    # Catching up after an outage must not pop up stale news on open sockets: old events
    # go to the inbox only. Open sockets already show broadcasts (`admin_broadcast`).
    if (now - occurred_at).total_seconds() <= deps.live_max_age_secs:
        for notification in effects.created:
            if notification.kind != "broadcast":
                await deps.live.push(notification)
    return Applied(False, tuple(effects.created), tuple(effects.decisions))


_HANDLERS: dict[type[BaseModel], Handler] = {
    UserRegistered: projection.user_registered,
    UserDeleted: projection.user_deleted,
    UserUpdated: projection.user_updated,
    RoomCreated: projection.room_changed,
    RoomUpdated: projection.room_changed,
    MemberJoined: projection.member_changed,
    MemberRoleChanged: projection.member_changed,
    MemberLeft: projection.member_left,
    MemberRead: projection.member_read,
    MessageCreated: notifying.message_created,
    MessageEdited: notifying.message_edited,
    MessageDeleted: notifying.message_deleted,
    BroadcastSent: notifying.broadcast_sent,
}


async def record_dead_letter(deps: NotificationsDeps, event_id: str, event_type: str,
                             payload: bytes, error: str) -> None:
    """An event that kept failing is kept for an operator, never dropped silently."""
    async with deps.uow.write() as tx:
        await tx.dead_letters.add(event_id, event_type, payload, error, deps.clock.now())
