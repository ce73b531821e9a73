"""Reactions, pins and the editing history of messages: adding and removing an emoji,
pinning and unpinning, the room's pins, a message's edits; and the one read that gives a
page of messages its reactions and pins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.chat.domain import (
    Actor,
    Conflict,
    Forbidden,
    Frame,
    Member,
    Message,
    NotFound,
)
from services.chat.domain.admin import refuse_archived
from services.chat.domain.marks import MessageEdit, Pin, ReactionSummary
from services.chat.domain.reactions import (
    EDITS_LISTED,
    PINS_LISTED,
    annotate,
    can_pin,
    can_react,
    can_read_edits,
    check_new_emoji,
    summarise,
    validate_emoji,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_user, visible_room
from services.chat.use_cases.file_access import with_files
from shared.contracts import MessagePinned, MessageUnpinned, ReactionAdded, ReactionRemoved


@dataclass(frozen=True, slots=True)
class Reactions:
    """A message's reactions after a change, as the caller sees them."""

    message_id: int
    room_id: int
    reactions: list[ReactionSummary]


async def annotated(tx: ChatTx, messages: Sequence[Message], viewer_id: int | None) -> None:
    """Give a page of messages their reactions (for `viewer_id`) and pins: one query; and
    their attachments: another."""
    if messages:
        annotate(messages, await tx.reactions.marks([m.id for m in messages]), viewer_id)
        await with_files(tx, messages)


async def _message_in_room(tx: ChatTx, actor: Actor, message_id: int, *,
                           writing: bool = False) -> tuple[Message, Member | None, bool]:
    message = await tx.messages.get(message_id)
    if message is None:
        raise NotFound("message_not_found", f"Message {message_id} not found.")
    try:
        room, member = await visible_room(tx, actor, message.room_id)
    except NotFound:
        raise NotFound("message_not_found", f"Message {message_id} not found.") from None
    if writing:
        refuse_archived(room)
    return message, member, can_react(room, actor, member)


async def _react(deps: ChatDeps, actor: Actor, message_id: int, emoji: str,
                 adding: bool) -> Reactions:
    user_id = require_user(actor)
    emoji = validate_emoji(emoji)
    async with deps.uow.write() as tx:
        message, _, may_react = await _message_in_room(tx, actor, message_id, writing=True)
        if not may_react:
            raise Forbidden("not_a_member", "Only the room's members react to its messages.")
        if message.is_deleted and adding:
            raise Conflict("message_deleted", "A deleted message cannot get reactions.")
        counts = await tx.reactions.counts(message.id)
        now = deps.clock.now()
        if adding:
            if emoji not in counts:
                check_new_emoji(len(counts), deps.reactions_max_per_message)
            changed = await tx.reactions.add(message.id, message.room_id, user_id, emoji, now)
        else:
            changed = await tx.reactions.remove(message.id, user_id, emoji)
        count = counts.get(emoji, 0) + (0 if not changed else 1 if adding else -1)
        if changed:
            event = (ReactionAdded(message_id=message.id, room_id=message.room_id,
                                   user_id=user_id, emoji=emoji, count=count, added_at=now)
                     if adding else
                     ReactionRemoved(message_id=message.id, room_id=message.room_id,
                                     user_id=user_id, emoji=emoji, count=count, removed_at=now))
            await tx.outbox.add(event, now)
        marks = await tx.reactions.marks([message.id])
    if changed:
        await deps.live.to_room(message.room_id, Frame("reaction", {
            "message_id": message.id, "room_id": message.room_id, "emoji": emoji,
            "user_id": user_id, "username": actor.username,
            "action": "added" if adding else "removed", "count": count}))
    reactions = [] if message.is_deleted else summarise(
        marks.reactions.get(message.id, ()), user_id)
    return Reactions(message.id, message.room_id, reactions)


async def add_reaction(deps: ChatDeps, actor: Actor, message_id: int, emoji: str) -> Reactions:
    """Whoever may post in the room reacts with one emoji; adding it again changes nothing.
    A message holds at most `reactions_max_per_message` different emojis; a deleted one
    takes none."""
    return await _react(deps, actor, message_id, emoji, adding=True)


async def remove_reaction(deps: ChatDeps, actor: Actor, message_id: int,
                          emoji: str) -> Reactions:
    """Take back one's own reaction; taking back one that is not there changes nothing."""
    return await _react(deps, actor, message_id, emoji, adding=False)


async def _moderated(tx: ChatTx, actor: Actor, message_id: int, doing: str) -> Message:
    message, member, _ = await _message_in_room(tx, actor, message_id, writing=True)
    if not can_pin(actor, member):
        raise Forbidden("not_moderator", f"Only the room's moderators and admins {doing}.")
    return message


async def pin_message(deps: ChatDeps, actor: Actor, message_id: int) -> Message:
    """Room moderators and admins (and server admins) pin; pinning again changes nothing
    (the first pin's time and author stay). Deleted messages cannot be pinned."""
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        message = await _moderated(tx, actor, message_id, "pin messages")
        if message.is_deleted:
            raise Conflict("message_deleted", "A deleted message cannot be pinned.")
        now = deps.clock.now()
        pinned = await tx.pins.pin(Pin(message.id, message.room_id, user_id, now))
        if pinned:
            await tx.outbox.add(MessagePinned(message_id=message.id, room_id=message.room_id,
                                              seq=message.seq, pinned_by=user_id,
                                              pinned_at=now), now)
        await annotated(tx, [message], user_id)
    if pinned:
        await deps.live.to_room(message.room_id, Frame("message_pinned", {
            "message_id": message.id, "room_id": message.room_id, "seq": message.seq,
            "pinned_by": user_id, "pinned_by_username": actor.username,
            "pinned_at": now.isoformat()}))
    return message


async def unpin_message(deps: ChatDeps, actor: Actor, message_id: int) -> Message:
    """The same people unpin; unpinning a message that is not pinned changes nothing."""
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        message = await _moderated(tx, actor, message_id, "unpin messages")
        now = deps.clock.now()
        removed = await tx.pins.unpin(message.id)
        if removed is not None:
            await tx.outbox.add(MessageUnpinned(message_id=message.id, room_id=message.room_id,
                                                seq=message.seq, unpinned_by=user_id,
                                                unpinned_at=now), now)
        await annotated(tx, [message], user_id)
    if removed is not None:
        await deps.live.to_room(message.room_id, Frame("message_unpinned", {
            "message_id": message.id, "room_id": message.room_id, "seq": message.seq,
            "unpinned_by": user_id, "unpinned_at": now.isoformat()}))
    return message


async def list_pins(deps: ChatDeps, actor: Actor, room_id: int) -> list[Message]:
    """Whoever reads the room reads its pins: the newest `PINS_LISTED` pins, newest first,
    deleted messages left out."""
    async with deps.uow.read() as tx:
        await visible_room(tx, actor, room_id)
        messages = await tx.pins.of_room(room_id, PINS_LISTED)
        await annotated(tx, messages, actor.user_id)
    return messages


async def message_edits(deps: ChatDeps, actor: Actor,
                        message_id: int) -> tuple[Message, list[MessageEdit]]:
    """A message's edits and deletion, newest first (the latest `EDITS_LISTED`): for the
    room's moderators and admins and for server admins only."""
    require_user(actor)
    async with deps.uow.read() as tx:
        message, member, _ = await _message_in_room(tx, actor, message_id)
        if not can_read_edits(actor, member):
            raise Forbidden("not_moderator",
                            "Only the room's moderators and admins read editing history.")
        edits = await tx.edits.of_message(message.id, EDITS_LISTED)
    return message, edits


async def record_edit(tx: ChatTx, message: Message, editor_id: int, previous_content: str,
                      now: datetime) -> None:
    """Kept in the edit's (or deletion's) transaction: who changed the message, from what
    to what."""
    await tx.edits.add(MessageEdit(
        message.id, message.room_id, editor_id, "deleted" if message.is_deleted else "edited",
        previous_content, None if message.is_deleted else message.content, now))
