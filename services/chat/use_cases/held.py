"""Held messages: a post a `hold` word filter matched is kept out of its room
(`hold_post`) until one of the room's moderators or a server admin approves it (posted as
its author through the group commit, like any post) or rejects it; the author is told."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import (
    Actor,
    Conflict,
    Forbidden,
    Frame,
    Message,
    NotFound,
    can_post,
    is_moderator,
    mentions_in,
)
from services.chat.domain.admin import refuse_archived
from services.chat.domain.held import (
    HeldMessage,
    validate_held_page,
    validate_note,
)
from services.chat.domain.word_filter import FilterScope
from services.chat.ports import ChatDeps, ChatTx
from services.chat.post_plan import PostRequest
from services.chat.use_cases._access import active_user, require_user, visible_room
from services.chat.use_cases.audit import record


@dataclass(frozen=True, slots=True)
class Held:
    """`post_message`'s answer when a `hold` rule stopped the post: nothing reached the
    room; the post waits for a moderator as `held`."""

    held: HeldMessage


def held_data(held: HeldMessage) -> dict[str, object]:
    """What the author's ack, the moderators' list and the author's frames say of it."""
    return {"held_id": held.id, "room_id": held.room_id, "user_id": held.user_id,
            "username": held.username, "content": held.content,
            "client_msg_id": held.client_msg_id, "thread_root_id": held.thread_root_id,
            "scope": held.scope, "status": held.status,
            "created_at": held.created_at.isoformat(),
            "decided_by": held.decided_by,
            "decided_at": held.decided_at.isoformat() if held.decided_at else None,
            "note": held.note, "message_id": held.message_id}


async def hold_post(deps: ChatDeps, request: PostRequest, scope: FilterScope) -> Held:
    """Store the post as held (one write transaction), if its author may post in the
    room; a retried `client_msg_id` answers with the first hold instead of a second one."""
    actor = request.actor
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        user = await active_user(tx, user_id)
        room, member = await visible_room(tx, actor, request.room_id)
        refuse_archived(room)
        if not can_post(room, actor, member):
            raise Forbidden("not_a_member", "Join the room to post in it.")
        if request.client_msg_id is not None:
            earlier = await tx.held.get(user_id=user_id, client_msg_id=request.client_msg_id)
            if earlier is not None:
                return Held(earlier)
        held = await tx.held.add(HeldMessage(
            0, request.room_id, user_id, request.content, request.client_msg_id, scope,
            deps.clock.now(), thread_root_id=request.thread_root_id,
            also_send_to_room=request.also_send_to_room,
            attachment_ids=request.attachment_ids, username=user.username))
    return Held(held)


async def _moderated(tx: ChatTx, actor: Actor, held_id: int) -> HeldMessage:
    """The held message, if the actor moderates its room (404 for anyone else)."""
    held = await tx.held.get(held_id, lock=True)
    if held is not None:
        try:
            _room, member = await visible_room(tx, actor, held.room_id)
        except NotFound:
            member, held = None, None
        if held is not None and is_moderator(actor, member):
            return held
    raise NotFound("held_not_found", f"Held message {held_id} not found.")


async def list_held(deps: ChatDeps, actor: Actor, *, room_id: int | None = None,
                    status: str = "pending", before_id: int | None = None,
                    limit: int = 50) -> tuple[list[HeldMessage], int | None]:
    """Newest first. A room's: its moderators and server admins (403 `not_moderator`
    otherwise); without `room_id`: every room for a server admin, the rooms one moderates
    for anyone else. With the page, the `before_id` of the next (None: the last)."""
    user_id = require_user(actor)
    checked = validate_held_page(limit, status)
    async with deps.uow.read() as tx:
        if room_id is not None:
            _room, member = await visible_room(tx, actor, room_id)
            if not is_moderator(actor, member):
                raise Forbidden("not_moderator", "Only the room's moderators see its held "
                                "messages.")
        rows = await tx.held.page(status=checked, room_id=room_id,
                                  moderator_id=None if actor.is_admin else user_id,
                                  before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


async def approve_held(deps: ChatDeps, actor: Actor,
                       held_id: int) -> tuple[HeldMessage, Message]:
    """Posts the held message as its author (a normal post: next `seq`, frames, events);
    the decision and its audit entry (`held.approve`) commit together first. Idempotent:
    approving again (or two moderators at once) answers with the one message. A rejected
    one is 409 `held_decided`."""
    async with deps.uow.write() as tx:
        held = await _moderated(tx, actor, held_id)
        if held.status == "rejected":
            raise Conflict("held_decided", "This message was rejected already.")
        author = await tx.users.get(held.user_id)
        if author is None or not author.active:
            raise Conflict("held_author_inactive", "The author's account is not active.")
        if held.status == "pending":
            now = deps.clock.now()
            held.status, held.decided_by, held.decided_at = "approved", actor.user_id, now
            await tx.held.decide(held)
            await record(tx, now, actor, "held.approve", "held_message", held.id,
                         room_id=held.room_id, author_id=held.user_id, scope=held.scope)
    # The post's own client_msg_id makes a second approval find the first message.
    outcome = await deps.post(PostRequest(
        Actor(held.user_id, held.username), held.room_id, held.content,
        held.approval_msg_id, tuple(mentions_in(held.content)), held.thread_root_id,
        held.also_send_to_room and held.thread_root_id is not None, held.attachment_ids))
    if outcome.error is not None:
        raise outcome.error
    message = outcome.message
    assert message is not None
    if held.message_id != message.id:
        async with deps.uow.write() as tx:
            held.message_id = message.id
            await tx.held.decide(held)
        await deps.live.to_user(held.user_id, Frame("held_approved", held_data(held)))
    return held, message


async def reject_held(deps: ChatDeps, actor: Actor, held_id: int,
                      note: str | None = None) -> HeldMessage:
    """Nothing is posted; the author gets `held_rejected` (with the note). Audited
    (`held.reject`) in the same transaction. Idempotent; an approved one is 409
    `held_decided`."""
    note = validate_note(note)
    async with deps.uow.write() as tx:
        held = await _moderated(tx, actor, held_id)
        if held.status == "approved":
            raise Conflict("held_decided", "This message was approved already.")
        if held.status == "rejected":
            return held
        now = deps.clock.now()
        held.status, held.decided_by, held.decided_at, held.note = (
            "rejected", actor.user_id, now, note)
        await tx.held.decide(held)
        await record(tx, now, actor, "held.reject", "held_message", held.id,
                     room_id=held.room_id, reason=note, author_id=held.user_id,
                     scope=held.scope)
    await deps.live.to_user(held.user_id, Frame("held_rejected", held_data(held)))
    return held
