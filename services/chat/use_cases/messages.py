"""Messages: posted (through the group commit), edited, deleted, and paged as history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

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
from services.chat.domain.files import is_file_id, refuse_too_many
from services.chat.ports import ChatDeps, ChatTx
from services.chat.post_plan import PostRequest
from services.chat.use_cases._access import require_user, visible_room
from services.chat.use_cases.audit import record
from services.chat.use_cases.file_access import with_files
from services.chat.use_cases.moderation import refuse_muted
from services.chat.use_cases.reactions import annotated, record_edit
from shared.contracts import MessageDeleted, MessageEdited

HISTORY_MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Posted:
    message: Message
    created: bool  # False when a retried client_msg_id returned the first message


async def post_message(deps: ChatDeps, actor: Actor, room_id: int, content: str,
                       client_msg_id: str | None = None, *,
                       thread_root_id: int | None = None,
                       also_send_to_room: bool = False,
                       attachment_ids: Sequence[str] = ()) -> Posted:
    """The message and its event commit together, with the room's next `seq`; a retry with
    the same `client_msg_id` returns the first message instead of posting twice. Posts that
    arrive together share one transaction (`services.chat.posting`); each is acknowledged
    only after that commit. With `thread_root_id` the post is a reply in that message's
    thread (`domain.resolve_root`); `also_send_to_room` only means something for a reply.
    `attachment_ids` are the poster's own uploads, attached to nothing yet: they are attached
    in the post's transaction (a post that fails attaches none), and then the text may be
    empty."""
    require_user(actor)
    files = tuple(dict.fromkeys(attachment_ids))
    refuse_too_many(list(files))
    for file_id in files:
        if not is_file_id(file_id):
            raise NotFound("attachment_not_found", f"File {file_id} not found.")
    if files and not content.strip():
        content = ""
    else:
        content = validate_content(content, deps.message_max_chars)
    validate_client_msg_id(client_msg_id)
    outcome = await deps.post(PostRequest(actor, room_id, content, client_msg_id,
                                          tuple(mentions_in(content)), thread_root_id,
                                          also_send_to_room and thread_root_id is not None,
                                          files))
    if outcome.error is not None:
        raise outcome.error
    assert outcome.message is not None
    return Posted(outcome.message, created=outcome.created)


async def edit_message(deps: ChatDeps, actor: Actor, message_id: int, content: str) -> Message:
    """The author edits; the edit keeps the message's `seq` and records `edited_at`."""
    user_id = require_user(actor)
    content = validate_content(content, deps.message_max_chars)
    async with deps.uow.write() as tx:
        message = await visible_message(tx, actor, message_id)
        if not can_edit(message, actor):
            raise Forbidden("not_author", "Only the author can edit a message.")
        if message.is_deleted:
            raise Conflict("message_deleted", "A deleted message cannot be edited.")
        now = deps.clock.now()
        await refuse_muted(tx, actor, message.room_id, now)
        previous = message.content
        message.content = content
        message.edited_at = now
        message.mentions = mentions_in(content)
        await tx.messages.update(message)
        await record_edit(tx, message, user_id, previous, now)
        await with_files(tx, [message])  # the edited frame shows them as before
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
        message = await visible_message(tx, actor, message_id)
        member = await tx.members.get(message.room_id, user_id)
        if not can_delete(message, actor, member):
            raise Forbidden("forbidden", "You may not delete this message.")
        if message.is_deleted:
            return message
        await delete_in(tx, deps.clock.now(), actor, message)
    await deps.live.to_room(message.room_id,
                            Frame("message_deleted", message))
    return message


async def delete_in(tx: ChatTx, now: datetime, actor: Actor, message: Message) -> None:
    """The deletion inside the caller's write transaction (checked by the caller)."""
    user_id = require_user(actor)
    message.is_deleted = True
    message.edited_at = now
    await tx.messages.update(message)
    await record_edit(tx, message, user_id, message.content, now)
    # Its files are refused from now on; the sweep removes them after the retention.
    await tx.files.mark_deleted(message_id=message.id, now=now)
    await tx.outbox.add(MessageDeleted(
        message_id=message.id, room_id=message.room_id, seq=message.seq,
        user_id=message.user_id, deleted_by=user_id, deleted_at=now), now)
    if message.user_id != user_id:  # a moderator's deletion of someone else's words
        await record(tx, now, actor, "message.delete", "message", message.id,
                     room_id=message.room_id, author_id=message.user_id)


async def visible_message(tx: ChatTx, actor: Actor, message_id: int) -> Message:
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
    # The seqs of thread-only replies within the span the page covers: the room holds them
    # without showing them, so a client counting contiguous seqs sees no hole.
    thread_seqs: list[int] = field(default_factory=list)
    # Around a message (`history_around`): newer messages exist after the page.
    has_more_after: bool = False


async def history(deps: ChatDeps, actor: Actor, room_id: int, *, before_seq: int | None = None,
                  after_seq: int | None = None, limit: int = 50) -> HistoryPage:
    """Oldest first. `after_seq` pages forward from a point; otherwise the newest page before
    `before_seq` (or the end). `has_more` says whether more lie in the paging direction."""
    if not 1 <= limit <= HISTORY_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{HISTORY_MAX_PAGE}.")
    async with deps.uow.read() as tx:
        await visible_room(tx, actor, room_id)
        rows = await tx.messages.page(room_id, before_seq=before_seq, after_seq=after_seq,
                                      limit=limit + 1, timeline=True)
        has_more = len(rows) > limit
        if has_more:
            rows = rows[:limit] if after_seq is not None else rows[1:]
        # The span the page covers: up to the next message shown in either direction.
        if after_seq is not None:
            low, high = after_seq + 1, rows[-1].seq if has_more else None
        else:
            low = rows[0].seq if has_more else 1
            high = before_seq - 1 if before_seq is not None else None
        thread_seqs = await tx.messages.thread_seqs(room_id, low, high)
        await annotated(tx, rows, actor.user_id)
    return HistoryPage(rows, has_more, thread_seqs)


async def history_around(deps: ChatDeps, actor: Actor, room_id: int, around_seq: int, *,
                         limit: int = 50) -> HistoryPage:
    """A message in context (a search result opened): up to `limit` messages of the room's
    timeline, oldest first, about half at or before `around_seq` and the rest after it.
    `has_more`: older ones exist; `has_more_after`: newer ones."""
    if not 1 <= limit <= HISTORY_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{HISTORY_MAX_PAGE}.")
    older_n = limit - limit // 2
    newer_n = limit - older_n
    async with deps.uow.read() as tx:
        await visible_room(tx, actor, room_id)
        older = await tx.messages.page(room_id, before_seq=around_seq + 1, after_seq=None,
                                       limit=older_n + 1, timeline=True)
        newer = (await tx.messages.page(room_id, before_seq=None, after_seq=around_seq,
                                        limit=newer_n + 1, timeline=True)
                 if newer_n else [])
        has_more, has_more_after = len(older) > older_n, len(newer) > newer_n
        rows = older[1:] if has_more else older
        rows += newer[:newer_n]
        low = rows[0].seq if has_more and rows else 1
        high = rows[-1].seq if has_more_after else None
        thread_seqs = await tx.messages.thread_seqs(room_id, low, high)
        await annotated(tx, rows, actor.user_id)
    return HistoryPage(rows, has_more, thread_seqs, has_more_after)


@dataclass(frozen=True, slots=True)
class ThreadPage:
    root: Message
    replies: list[Message]
    has_more: bool


async def thread(deps: ChatDeps, actor: Actor, message_id: int, *,
                 after_seq: int | None = None, limit: int = 50) -> ThreadPage:
    """A thread: its root and its replies, oldest first, after `after_seq`. Asked of a
    reply, it is the reply's thread. Whoever may read the room may read it."""
    if not 1 <= limit <= HISTORY_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{HISTORY_MAX_PAGE}.")
    async with deps.uow.read() as tx:
        root = await visible_message(tx, actor, message_id)
        if root.thread_root_id is not None:
            root = await visible_message(tx, actor, root.thread_root_id)
        rows = await tx.messages.replies(root.id, after_seq=after_seq, limit=limit + 1)
        await annotated(tx, [root, *rows[:limit]], actor.user_id)
    return ThreadPage(root, rows[:limit], len(rows) > limit)
