"""The rule for storing posts, applied to a batch inside one transaction (group commit).

Pure: the `PostLog` adapter reads a `PostContext` in its transaction, `plan_batch` decides,
the adapter writes the `BatchPlan` and commits. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from services.chat.domain import (
    Actor,
    ChatError,
    Forbidden,
    Member,
    Message,
    NotFound,
    Room,
    can_post,
    can_read,
)
from shared.contracts import MemberJoined, MessageCreated


@dataclass(frozen=True, slots=True)
class PostRequest:
    """A post whose content is already validated and trimmed."""

    actor: Actor
    room_id: int
    content: str
    client_msg_id: str | None
    mentions: tuple[str, ...] = ()


@dataclass(slots=True)
class PostOutcome:
    message: Message | None = None
    created: bool = False  # False when a retried client_msg_id returned the first message
    joined: Member | None = None  # the membership this post created (public room)
    error: ChatError | None = None


@dataclass(slots=True)
class PostContext:
    """What the batch's transaction read, under its write lock, before planning."""

    now: datetime
    rooms: dict[int, Room]
    members: dict[tuple[int, int], Member]
    # (user_id, client_msg_id) -> that user's message with it, in any room.
    earlier: dict[tuple[int, str], Message]
    # (room_id, lower-cased username) -> user_id, for the members the batch mentions.
    mentionable: dict[tuple[int, str], int]
    # Hands out the ids of new messages (the adapter reserved them in this transaction).
    next_message_id: Callable[[], int]
    # user_id -> the poster's current display name (None: they have none), for every poster
    # of the batch: read with their memberships (the same statement), so no extra round trip.
    display_names: dict[int, str | None] = field(default_factory=dict)


@dataclass(slots=True)
class BatchPlan:
    """Everything one transaction writes for a batch, and each post's outcome."""

    outcomes: list[PostOutcome] = field(default_factory=list)
    new_members: list[Member] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    # (message_id, user_id, room_id, seq) for each mentioned member (never the author).
    mentions: list[tuple[int, int, int, int]] = field(default_factory=list)
    room_seqs: dict[int, int] = field(default_factory=dict)  # room_id -> its new last_seq
    read_markers: dict[tuple[int, int], int] = field(default_factory=dict)
    events: list[BaseModel] = field(default_factory=list)


def _room_not_found(room_id: int) -> ChatError:
    # Private rooms the caller may not see get the same answer as rooms that don't exist.
    return NotFound("room_not_found", f"Room {room_id} not found.")


def plan_batch(requests: Sequence[PostRequest], ctx: PostContext) -> BatchPlan:
    """Each post, in order, as if it had a transaction of its own: a retried
    `client_msg_id` returns the first message; private rooms need membership; a first post
    in a public room joins it; the post takes the room's next `seq`, moves the author's read
    marker to it and records `message.created` (after `member.joined`, if any)."""
    plan = BatchPlan()
    for request in requests:
        try:
            plan.outcomes.append(_plan_one(request, ctx, plan))
        except ChatError as exc:
            plan.outcomes.append(PostOutcome(error=exc))
    return plan


def _plan_one(request: PostRequest, ctx: PostContext, plan: BatchPlan) -> PostOutcome:
    actor, room_id = request.actor, request.room_id
    user_id = actor.user_id
    assert user_id is not None, "guests are refused before a post is queued"
    if request.client_msg_id is not None:
        earlier = ctx.earlier.get((user_id, request.client_msg_id))
        if earlier is not None:
            earlier.display_name = ctx.display_names.get(user_id)
            return PostOutcome(earlier, created=False)
    room = ctx.rooms.get(room_id)
    member = ctx.members.get((room_id, user_id))
    if room is None or not can_read(room, actor, member):
        raise _room_not_found(room_id)
    if not can_post(room, actor, member):
        raise Forbidden("not_a_member", "Join the room to post in it.")
    now = ctx.now
    joined = None
    if member is None:
        # A new member has read nothing older than their arrival.
        joined = member = Member(room_id, user_id, actor.username or "", "member", now,
                                 read_seq=room.last_seq,
                                 display_name=ctx.display_names.get(user_id))
        ctx.members[(room_id, user_id)] = member
        ctx.mentionable[(room_id, member.username.lower())] = user_id
        plan.new_members.append(member)
        plan.events.append(MemberJoined(room_id=room_id, user_id=user_id,
                                        username=member.username, role=member.role,
                                        invited_by=None, joined_at=now))
    room.last_seq += 1
    seq = plan.room_seqs[room_id] = room.last_seq
    message = Message(id=ctx.next_message_id(), room_id=room_id, seq=seq, user_id=user_id,
                      username=actor.username or "", content=request.content,
                      message_type="text", created_at=now,
                      client_msg_id=request.client_msg_id, mentions=list(request.mentions),
                      display_name=ctx.display_names.get(user_id))
    plan.messages.append(message)
    if request.client_msg_id is not None:
        ctx.earlier[(user_id, request.client_msg_id)] = message
    for name in request.mentions:
        mentioned = ctx.mentionable.get((room_id, name))
        if mentioned is not None and mentioned != user_id:  # yourself mentions nobody
            plan.mentions.append((message.id, mentioned, room_id, seq))
    if member.read_seq < seq:
        # Posting in a room means you have read it up to your own message.
        member.read_seq = seq
        plan.read_markers[(room_id, user_id)] = seq
    plan.events.append(MessageCreated(
        message_id=message.id, room_id=room_id, seq=seq, user_id=user_id,
        username=message.username, content=message.content,
        client_msg_id=request.client_msg_id, mentions=message.mentions, created_at=now))
    return PostOutcome(message, created=True, joined=joined)
