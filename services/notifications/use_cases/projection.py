"""What the service knows of chat's users, rooms and members, kept from its events."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain import KnownRoom, KnownUser, Member
from services.notifications.ports import NotificationsDeps, NotificationsTx
from services.notifications.use_cases._outgoing import Effects
from shared.contracts import (
    MemberJoined,
    MemberLeft,
    MemberRead,
    MemberRoleChanged,
    RoomCreated,
    RoomUpdated,
    UserDeleted,
    UserRegistered,
    UserUpdated,
)


async def user_registered(deps: NotificationsDeps, tx: NotificationsTx, ev: UserRegistered,
                           at: datetime, now: datetime) -> None:
    await tx.users.put(KnownUser(ev.user_id, ev.username, ev.is_admin, ev.display_name))


async def user_updated(deps: NotificationsDeps, tx: NotificationsTx, ev: UserUpdated,
                       at: datetime, now: datetime) -> None:
    """A new display name titles the notifications made from now on (those in the inbox
    keep the name they were made with)."""
    known = await tx.users.get(ev.user_id)
    await tx.users.put(KnownUser(ev.user_id, ev.username, known.is_admin if known else False,
                                 ev.display_name))


async def user_deleted(deps: NotificationsDeps, tx: NotificationsTx, ev: UserDeleted,
                        at: datetime, now: datetime) -> None:
    """A deleted account is told nothing more (chat's `member.left` events, before this
    one, took it out of its rooms; no broadcast reaches it) and its inbox goes."""
    await tx.users.remove(ev.user_id)
    await tx.changes.remove_user(ev.user_id)


async def room_changed(deps: NotificationsDeps, tx: NotificationsTx,
                        ev: RoomCreated | RoomUpdated, at: datetime, now: datetime) -> None:
    # RoomUpdated has no kind: a room's kind is set once, by RoomCreated (the store keeps it).
    kind = ev.kind if isinstance(ev, RoomCreated) else "room"
    await tx.rooms.put(KnownRoom(ev.room_id, ev.name, ev.is_private, kind))


async def member_changed(deps: NotificationsDeps, tx: NotificationsTx,
                          ev: MemberJoined | MemberRoleChanged, at: datetime,
                          now: datetime) -> None:
    await tx.members.put(Member(ev.room_id, ev.user_id, ev.username, ev.role))


async def member_left(deps: NotificationsDeps, tx: NotificationsTx, ev: MemberLeft,
                       at: datetime, now: datetime) -> None:
    await tx.members.remove(ev.room_id, ev.user_id)


async def member_read(deps: NotificationsDeps, tx: NotificationsTx, ev: MemberRead,
                       at: datetime, now: datetime) -> Effects:
    """What the member has read needs no notification any more."""
    await tx.members.advance_read(ev.room_id, ev.user_id, ev.read_seq)
    return Effects(read=await tx.changes.mark_room_read(ev.user_id, ev.room_id, ev.read_seq,
                                                        now))
