"""Notifications use cases: what each event changes, and what a user does with their inbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.notifications.domain import (
    DEFAULT_LEVEL,
    LEVELS,
    Decision,
    Invalid,
    KnownRoom,
    KnownUser,
    Level,
    Member,
    NotFound,
    Notification,
    PostedMessage,
    Purged,
    broadcast_notification,
    decide,
    message_notification,
    parse_cursor,
    parse_notification_id,
    preview,
    recipients,
    retention_cutoff,
)
from services.notifications.ports import NotificationsDeps, NotificationsTx
from shared.contracts import (
    BroadcastSent,
    MemberJoined,
    MemberLeft,
    MemberRead,
    MemberRoleChanged,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    NotificationCreated,
    NotificationRead,
    NotificationSuppressed,
    RoomCreated,
    RoomUpdated,
    UserDeleted,
    UserRegistered,
    UserViewing,
    ViewingHeartbeat,
)

PAGE_MAX = 200
DECISIONS_PAGE = 50


# --- events ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Effects:
    created: list[Notification] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    read: list[Notification] = field(default_factory=list)  # went from unread to read


@dataclass(frozen=True, slots=True)
class Applied:
    """What one event did; `duplicate` when it had been handled before (a redelivery)."""

    duplicate: bool = False
    created: tuple[Notification, ...] = ()
    decisions: tuple[Decision, ...] = ()


Handler = Callable[[NotificationsDeps, NotificationsTx, Any, datetime, datetime],
                   Awaitable[Effects | None]]


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
        outgoing: list[BaseModel] = [_created_event(n) for n in effects.created]
        outgoing += [_suppressed_event(d) for d in effects.decisions if not d.notified]
        outgoing += [_read_event(n) for n in effects.read]
        for outgoing_event in outgoing:
            await tx.outbox.add(outgoing_event, now)
    # Catching up after an outage must not pop up stale news on open sockets: old events
    # go to the inbox only. Open sockets already show broadcasts (`admin_broadcast`).
    if (now - occurred_at).total_seconds() <= deps.live_max_age_secs:
        for notification in effects.created:
            if notification.kind != "broadcast":
                await deps.live.push(notification)
    return Applied(False, tuple(effects.created), tuple(effects.decisions))


def _created_event(n: Notification) -> NotificationCreated:
    return NotificationCreated(notification_id=n.id, user_id=n.user_id, reason=n.kind,
                               title=n.title, content=n.content, data=n.data,
                               created_at=n.created_at)


def _read_event(n: Notification) -> NotificationRead:
    assert n.read_at is not None
    return NotificationRead(notification_id=n.id, user_id=n.user_id, reason=n.kind,
                            broadcast_id=n.broadcast_id, room_id=n.room_id,
                            message_id=n.message_id, read_at=n.read_at)


def _suppressed_event(d: Decision) -> NotificationSuppressed:
    assert d.suppressed_by is not None
    return NotificationSuppressed(user_id=d.user_id, room_id=d.room_id,
                                  message_id=d.message_id, reason=d.suppressed_by,
                                  decided_at=d.decided_at)


async def _user_registered(deps: NotificationsDeps, tx: NotificationsTx, ev: UserRegistered,
                           at: datetime, now: datetime) -> None:
    await tx.users.put(KnownUser(ev.user_id, ev.username, ev.is_admin))


async def _user_deleted(deps: NotificationsDeps, tx: NotificationsTx, ev: UserDeleted,
                        at: datetime, now: datetime) -> None:
    """A deleted account is told nothing more (chat's `member.left` events, before this
    one, took it out of its rooms; no broadcast reaches it) and its inbox goes."""
    await tx.users.remove(ev.user_id)
    await tx.changes.remove_user(ev.user_id)


async def _room_changed(deps: NotificationsDeps, tx: NotificationsTx,
                        ev: RoomCreated | RoomUpdated, at: datetime, now: datetime) -> None:
    await tx.rooms.put(KnownRoom(ev.room_id, ev.name, ev.is_private))


async def _member_changed(deps: NotificationsDeps, tx: NotificationsTx,
                          ev: MemberJoined | MemberRoleChanged, at: datetime,
                          now: datetime) -> None:
    await tx.members.put(Member(ev.room_id, ev.user_id, ev.username, ev.role))


async def _member_left(deps: NotificationsDeps, tx: NotificationsTx, ev: MemberLeft,
                       at: datetime, now: datetime) -> None:
    await tx.members.remove(ev.room_id, ev.user_id)


async def _member_read(deps: NotificationsDeps, tx: NotificationsTx, ev: MemberRead,
                       at: datetime, now: datetime) -> Effects:
    """What the member has read needs no notification any more."""
    await tx.members.advance_read(ev.room_id, ev.user_id, ev.read_seq)
    return Effects(read=await tx.changes.mark_room_read(ev.user_id, ev.room_id, ev.read_seq,
                                                        now))


async def _message_created(deps: NotificationsDeps, tx: NotificationsTx, ev: MessageCreated,
                           at: datetime, now: datetime) -> Effects:
    """A notification for each member but the sender, unless a rule suppresses it; every
    decision is logged with its reason. At most one per (user, message)."""
    effects = Effects()
    if await tx.decisions.about_message(ev.message_id):
        return effects  # the same message under another event id (an outbox replayed late)
    message = PostedMessage(ev.message_id, ev.room_id, ev.seq, ev.user_id, ev.username,
                            ev.content, tuple(ev.mentions), ev.message_type)
    members = await tx.members.of_room(ev.room_id)
    others = [m.user_id for m in recipients(members, ev.user_id)]
    sender = await tx.users.get(ev.user_id) if ev.user_id is not None else None
    decisions = decide(message, members, deps.viewing.rooms_of(others),
                       await tx.preferences.in_room(ev.room_id),
                       sender is not None and sender.is_admin, now)
    for decision in decisions:
        if decision.notified:
            created = await tx.inbox.add(message_notification(decision, message,
                                                              deps.preview_chars))
            decision = replace(decision, notification_id=created.id)
            effects.created.append(created)
        effects.decisions.append(decision)
    await tx.decisions.add(effects.decisions)
    if ev.user_id is not None:
        # Posting in a room means having read it up to your own message (as chat counts it).
        await tx.members.advance_read(ev.room_id, ev.user_id, ev.seq)
        effects.read += await tx.changes.mark_room_read(ev.user_id, ev.room_id, ev.seq, now)
    return effects


async def _message_edited(deps: NotificationsDeps, tx: NotificationsTx, ev: MessageEdited,
                          at: datetime, now: datetime) -> None:
    """Unread notifications show the new text; an edit neither adds nor withdraws any."""
    await tx.changes.rewrite_pending(ev.message_id, preview(ev.content, deps.preview_chars))


async def _message_deleted(deps: NotificationsDeps, tx: NotificationsTx, ev: MessageDeleted,
                           at: datetime, now: datetime) -> None:
    """The deleted words leave every inbox, read or not; the decisions (no text) stay."""
    await tx.changes.remove_message(ev.message_id)


async def _broadcast_sent(deps: NotificationsDeps, tx: NotificationsTx, ev: BroadcastSent,
                          at: datetime, now: datetime) -> Effects:
    """An inbox entry for every known user, so whoever was offline reads it later."""
    effects = Effects()
    for user_id in await tx.users.ids():
        effects.created.append(await tx.inbox.add(broadcast_notification(
            user_id, ev.broadcast_id, ev.content, ev.sender, deps.broadcast_max_chars, now)))
    return effects


_HANDLERS: dict[type[BaseModel], Handler] = {
    UserRegistered: _user_registered,
    UserDeleted: _user_deleted,
    RoomCreated: _room_changed,
    RoomUpdated: _room_changed,
    MemberJoined: _member_changed,
    MemberRoleChanged: _member_changed,
    MemberLeft: _member_left,
    MemberRead: _member_read,
    MessageCreated: _message_created,
    MessageEdited: _message_edited,
    MessageDeleted: _message_deleted,
    BroadcastSent: _broadcast_sent,
}


def record_viewing(deps: NotificationsDeps, report: UserViewing | ViewingHeartbeat) -> None:
    """What a chat replica says its sockets show now; the only source of `viewing_room`."""
    if isinstance(report, UserViewing):
        deps.viewing.user(report.replica_id, report.user_id, report.rooms)
    else:
        deps.viewing.heartbeat(report.replica_id,
                               {v.user_id: v.rooms for v in report.viewers},
                               report.interval_secs)


async def record_dead_letter(deps: NotificationsDeps, event_id: str, event_type: str,
                             payload: bytes, error: str) -> None:
    """An event that kept failing is kept for an operator, never dropped silently."""
    async with deps.uow.write() as tx:
        await tx.dead_letters.add(event_id, event_type, payload, error, deps.clock.now())


# --- the inbox -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxPage:
    notifications: list[Notification]
    has_more: bool

    @property
    def next_before(self) -> str | None:
        return self.notifications[-1].id if self.has_more and self.notifications else None


async def list_inbox(deps: NotificationsDeps, user_id: int, *, unread_only: bool = False,
                     before: str | None = None, limit: int = 50) -> InboxPage:
    """Newest first; `before` (a notification id) pages to older ones."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid("invalid_limit", f"limit must be 1-{PAGE_MAX}.")
    before_pk = parse_cursor(before)
    async with deps.uow.read() as tx:
        rows = await tx.inbox.page(user_id, unread_only=unread_only, before_pk=before_pk,
                                   limit=limit + 1)
    return InboxPage(rows[:limit], len(rows) > limit)


async def unread_count(deps: NotificationsDeps, user_id: int) -> int:
    async with deps.uow.read() as tx:
        return await tx.inbox.unread_count(user_id)


async def mark_read(deps: NotificationsDeps, user_id: int, notification_id: str
                    ) -> Notification:
    """Idempotent; someone else's notification is "not found", like one that never was.
    Only the first read leaves an `events.notifications.read` (through the outbox)."""
    pk = parse_notification_id(notification_id)
    async with deps.uow.write() as tx:
        await _mark_read(tx, user_id, [pk], deps.clock.now())
        found = await tx.inbox.get(user_id, pk)
    if found is None:
        raise NotFound("notification_not_found", f"Notification {notification_id!r} not found.")
    return found


async def mark_all_read(deps: NotificationsDeps, user_id: int) -> int:
    """How many changed; one `events.notifications.read` each."""
    async with deps.uow.write() as tx:
        marked = await _mark_read(tx, user_id, None, deps.clock.now())
    return len(marked)


async def _mark_read(tx: NotificationsTx, user_id: int, pks: list[int] | None,
                     now: datetime) -> list[Notification]:
    marked = await tx.changes.mark_read(user_id, pks, now)
    for notification in marked:
        await tx.outbox.add(_read_event(notification), now)
    return marked


@dataclass(frozen=True, slots=True)
class RoomPreference:
    room_id: int
    room_name: str | None
    level: Level


async def preferences(deps: NotificationsDeps, user_id: int) -> list[RoomPreference]:
    """Every room the user is a member of, with its level (rooms without an entry use the
    default); no other room is ever named."""
    async with deps.uow.read() as tx:
        return await _preferences(tx, user_id)


async def _preferences(tx: NotificationsTx, user_id: int) -> list[RoomPreference]:
    rooms = await tx.members.rooms_of(user_id)
    levels = await tx.preferences.of_user(user_id)
    names = await tx.rooms.names(rooms)
    return [RoomPreference(room_id, names.get(room_id), levels.get(room_id, DEFAULT_LEVEL))
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
        for room_id, level in changes:
            await tx.preferences.put(user_id, room_id, level, now)  # type: ignore[arg-type]
        return await _preferences(tx, user_id)


async def decisions(deps: NotificationsDeps, user_id: int, message_id: int | None = None
                    ) -> list[Decision]:
    """Why the user was, or was not, notified: about one message, or the latest decisions."""
    async with deps.uow.read() as tx:
        found = await tx.decisions.of_user(user_id, message_id, DECISIONS_PAGE)
    if message_id is not None and not found:
        raise NotFound("decision_not_found",
                       f"No decision about message {message_id} for you: you wrote it, were "
                       "not a member of its room, it was a system message, or it has not "
                       "been processed yet.")
    return found


# --- retention -------------------------------------------------------------------------------


async def purge_expired(deps: NotificationsDeps, retention_days: int) -> Purged:
    """Read notifications older than `retention_days` go; unread ones stay however old.
    Decisions and handled-event ids older than that go too (they only grow otherwise)."""
    cutoff = retention_cutoff(deps.clock.now(), retention_days)
    async with deps.uow.write() as tx:
        removed, users = await tx.changes.purge_read(cutoff)
        decided = await tx.decisions.purge(cutoff)
        event_ids = await tx.processed.purge(cutoff)
    return Purged(removed, users, decided, event_ids, cutoff)
