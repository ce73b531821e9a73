"""Messages: posted (through the group commit), edited, deleted, and paged as history."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import (
    Actor,
    Conflict,
    Forbidden,
    Frame,
    Invalid,
    Message,
    NotFound,
    can_delete,
    can_edit,
    mentions_in,
    validate_client_msg_id,
    validate_content,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.post_plan import PostRequest
from services.chat.use_cases._access import require_user, visible_room
from services.chat.use_cases.reactions import annotated, record_edit
from shared.contracts import MessageDeleted, MessageEdited

HISTORY_MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Posted:
    message: Message
    created: bool  # False when a retried client_msg_id returned the first message


async def post_message(deps: ChatDeps, actor: Actor, room_id: int, content: str,
                       client_msg_id: str | None = None) -> Posted:
    """The message and its event commit together, with the room's next `seq`; a retry with
    the same `client_msg_id` returns the first message instead of posting twice. Posts that
    arrive together share one transaction (`services.chat.posting`); each is acknowledged
    only after that commit."""
    require_user(actor)
    content = validate_content(content, deps.message_max_chars)
    validate_client_msg_id(client_msg_id)
    outcome = await deps.post(PostRequest(actor, room_id, content, client_msg_id,
                                          tuple(mentions_in(content))))
    if outcome.error is not None:
        raise outcome.error
    assert outcome.message is not None
    return Posted(outcome.message, created=outcome.created)


async def edit_message(deps: ChatDeps, actor: Actor, message_id: int, content: str) -> Message:
    """The author edits; the edit keeps the message's `seq` and records `edited_at`."""
    user_id = require_user(actor)
    content = validate_content(content, deps.message_max_chars)
    async with deps.uow.write() as tx:
        message = await _visible_message(tx, actor, message_id)
        if not can_edit(message, actor):
            raise Forbidden("not_author", "Only the author can edit a message.")
        if message.is_deleted:
            raise Conflict("message_deleted", "A deleted message cannot be edited.")
        now = deps.clock.now()
        previous = message.content
        message.content = content
        message.edited_at = now
        message.mentions = mentions_in(content)
        await tx.messages.update(message)
        await record_edit(tx, message, user_id, previous, now)
        await tx.outbox.add(MessageEdited(
            message_id=message.id, room_id=message.room_id, seq=message.seq,
            user_id=message.user_id, content=content, mentions=message.mentions,
            edited_by=user_id, edited_at=now), now)
    await deps.live.to_room(message.room_id,
                            Frame("message_edited", message))
    return message


async def delete_message(deps: ChatDeps, actor: Actor, message_id: int) -> Message:
    """Authors, moderators and admins soft-delete: the `seq` stays, the content goes."""
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        message = await _visible_message(tx, actor, message_id)
        member = await tx.members.get(message.room_id, user_id)
        if not can_delete(message, actor, member):
            raise Forbidden("forbidden", "You may not delete this message.")
        if message.is_deleted:
            return message
        now = deps.clock.now()
        message.is_deleted = True
        message.edited_at = now
        await tx.messages.update(message)
        await record_edit(tx, message, user_id, message.content, now)
        await tx.outbox.add(MessageDeleted(
            message_id=message.id, room_id=message.room_id, seq=message.seq,
            user_id=message.user_id, deleted_by=user_id, deleted_at=now), now)
    await deps.live.to_room(message.room_id,
                            Frame("message_deleted", message))
    return message


async def _visible_message(tx: ChatTx, actor: Actor, message_id: int) -> Message:
    message = await tx.messages.get(message_id)
    if message is None:
        raise NotFound("message_not_found", f"Message {message_id} not found.")
    try:
        await visible_room(tx, actor, message.room_id)
    except NotFound:
        raise NotFound("message_not_found", f"Message {message_id} not found.") from None
    return message


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[Message]
    has_more: bool


async def history(deps: ChatDeps, actor: Actor, room_id: int, *, before_seq: int | None = None,
                  after_seq: int | None = None, limit: int = 50) -> HistoryPage:
    """Oldest first. `after_seq` pages forward from a point; otherwise the newest page before
    `before_seq` (or the end). `has_more` says whether more lie in the paging direction."""
    if not 1 <= limit <= HISTORY_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{HISTORY_MAX_PAGE}.")
    async with deps.uow.read() as tx:
        await visible_room(tx, actor, room_id)
        rows = await tx.messages.page(room_id, before_seq=before_seq, after_seq=after_seq,
                                      limit=limit + 1)
        has_more = len(rows) > limit
        if has_more:
            rows = rows[:limit] if after_seq is not None else rows[1:]
        await annotated(tx, rows, actor.user_id)
    return HistoryPage(rows, has_more)
