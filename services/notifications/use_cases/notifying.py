"""Who is told about a message or a broadcast, and what edits and deletions do to inboxes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.notifications.domain import (
    PostedMessage,
    broadcast_notification,
    decide,
    message_notification,
    message_preview,
    recipients,
)
from services.notifications.ports import NotificationsDeps, NotificationsTx
from services.notifications.use_cases._outgoing import Effects
from shared.contracts import BroadcastSent, MessageCreated, MessageDeleted, MessageEdited


async def message_created(deps: NotificationsDeps, tx: NotificationsTx, ev: MessageCreated,
                           at: datetime, now: datetime) -> Effects:
    """A notification for each member but the sender, unless a rule suppresses it; every
    decision is logged with its reason. At most one per (user, message)."""
    effects = Effects()
    if await tx.decisions.about_message(ev.message_id):
        return effects  # the same message under another event id (an outbox replayed late)
    sender = await tx.users.get(ev.user_id) if ev.user_id is not None else None
    # Titles name the sender as people see them in chat: their display name, if any.
    message = PostedMessage(ev.message_id, ev.room_id, ev.seq, ev.user_id,
                            sender.shown_name if sender is not None else ev.username,
                            ev.content, tuple(ev.mentions), ev.message_type)
    members = await tx.members.of_room(ev.room_id)
    others = [m.user_id for m in recipients(members, ev.user_id)]
    decisions = decide(message, members, deps.viewing.rooms_of(others),
                       await tx.preferences.in_room(ev.room_id),
                       sender is not None and sender.is_admin, now,
                       "dm" if others and await tx.rooms.dms_among([ev.room_id]) else "room")
    text = message_preview(ev.content, deps.preview_chars)  # once, not per recipient
    for decision in decisions:
        if decision.notified:
            created = await tx.inbox.add(message_notification(decision, message,
                                                              deps.preview_chars, content=text))
            decision = replace(decision, notification_id=created.id)
            effects.created.append(created)
        effects.decisions.append(decision)
    await tx.decisions.add(effects.decisions)
    if ev.user_id is not None:
        # Posting in a room means having read it up to your own message (as chat counts it).
        await tx.members.advance_read(ev.room_id, ev.user_id, ev.seq)
        effects.read += await tx.changes.mark_room_read(ev.user_id, ev.room_id, ev.seq, now)
    return effects


async def message_edited(deps: NotificationsDeps, tx: NotificationsTx, ev: MessageEdited,
                          at: datetime, now: datetime) -> None:
    """Unread notifications show the new text; an edit neither adds nor withdraws any."""
    await tx.changes.rewrite_pending(ev.message_id, message_preview(ev.content,
                                                                     deps.preview_chars))


async def message_deleted(deps: NotificationsDeps, tx: NotificationsTx, ev: MessageDeleted,
                           at: datetime, now: datetime) -> None:
    """The deleted words leave every inbox, read or not; the decisions (no text) stay."""
    await tx.changes.remove_message(ev.message_id)


async def broadcast_sent(deps: NotificationsDeps, tx: NotificationsTx, ev: BroadcastSent,
                          at: datetime, now: datetime) -> Effects:
    """An inbox entry for every known user, so whoever was offline reads it later."""
    effects = Effects()
    for user_id in await tx.users.ids():
        effects.created.append(await tx.inbox.add(broadcast_notification(
            user_id, ev.broadcast_id, ev.content, ev.sender, deps.broadcast_max_chars, now)))
    return effects
