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
    Conflict,
    Forbidden,
    Member,
    Message,
    NotFound,
    Room,
    ThreadUpdate,
    can_post,
    can_read,
    is_moderator,
    resolve_root,
)
from services.chat.domain.moderation import (
    Banned,
    Muted,
    SlowMode,
    in_force,
    refuse_if_muted,
    slow_mode_wait,
)
from services.chat.domain.stored_file import StoredFile
from shared.contracts import MemberJoined, MessageCreated


@dataclass(frozen=True, slots=True)
class PostRequest:
    """A post whose content is already validated and trimmed."""

    actor: Actor
    room_id: int
    content: str
    client_msg_id: str | None
    mentions: tuple[str, ...] = ()
    # A reply: the message it answers (its thread's root, or a reply in that thread).
    thread_root_id: int | None = None
    also_send_to_room: bool = False
    # Uploaded files to attach (ids checked for shape, at most 10, no duplicates).
    attachment_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class PostOutcome:
    message: Message | None = None
    created: bool = False  # False when a retried client_msg_id returned the first message
    joined: Member | None = None  # the membership this post created (public room)
    error: ChatError | None = None
    thread: ThreadUpdate | None = None  # a reply: its root's count after it


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
    # The messages the batch's replies answer, and the roots of those that are replies.
    roots: dict[int, Message] = field(default_factory=dict)
    # The files the batch attaches (`files_wanted`), read (and locked) only when it does.
    files: dict[str, StoredFile] = field(default_factory=dict)
    # user_id -> a server-wide mute's end (`users.muted_until`), for every poster: read with
    # the display names, in the same statements. Posters without one may be absent.
    server_mutes: dict[int, datetime | None] = field(default_factory=dict)
    # (room_id, user_id) -> {"mute"|"ban": end (FOREVER: until lifted)} of the posters with
    # no membership in that room (`chat_sanctions`), read only when a batch has any (a first
    # post in a public room). Members' room mutes are on their `Member` (`muted_until`).
    unjoined_sanctions: dict[tuple[int, int], dict[str, datetime]] = field(
        default_factory=dict)


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
    # root_id -> its count after the batch: one UPDATE per root, one frame per root.
    threads: dict[int, ThreadUpdate] = field(default_factory=dict)
    # root_id -> how many replies the batch adds (the UPDATE adds this to the stored count).
    thread_added: dict[int, int] = field(default_factory=dict)
    # (file_id, message_id, room_id) for each file a post attaches.
    attachments: list[tuple[str, int, int]] = field(default_factory=list)
    # (room_id, user_id) -> the post's time, only in slow-mode rooms (room_members.last_post_at).
    last_posts: dict[tuple[int, int], datetime] = field(default_factory=dict)


def _room_not_found(room_id: int) -> ChatError:
    # Private rooms the caller may not see get the same answer as rooms that don't exist.
    return NotFound("room_not_found", f"Room {room_id} not found.")


def roots_wanted(requests: Sequence[PostRequest]) -> list[int]:
    """The message ids the adapter reads for `PostContext.roots` (with their roots)."""
    return sorted({r.thread_root_id for r in requests if r.thread_root_id is not None})


def files_wanted(requests: Sequence[PostRequest]) -> list[str]:
    """The file ids the adapter reads for `PostContext.files`: none for plain posts."""
    return sorted({f for r in requests for f in r.attachment_ids})


def _attachable(request: PostRequest, ctx: PostContext, user_id: int) -> list[StoredFile]:
    """The post's files: each the poster's own attachment, live, attached to nothing."""
    found = []
    for file_id in request.attachment_ids:
        file = ctx.files.get(file_id)
        if (file is None or file.user_id != user_id or file.kind != "attachment"
                or file.deleted_at is not None):
            raise NotFound("attachment_not_found", f"File {file_id} not found.")
        if file.message_id is not None:
            raise Conflict("attachment_in_use", f"File {file_id} is attached already.")
        found.append(file)
    # Upload order, as every later read of the message has them (`FileStore.of_messages`).
    return sorted(found, key=lambda f: (f.created_at, f.id))


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
    _refuse_sanctioned(request, ctx, room, member)
    files = _attachable(request, ctx, user_id) if request.attachment_ids else []
    root = None
    if request.thread_root_id is not None:
        root = resolve_root(request.thread_root_id, room_id, ctx.roots)
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
    thread = None
    room.last_seq += 1
    seq = plan.room_seqs[room_id] = room.last_seq
    message = Message(id=ctx.next_message_id(), room_id=room_id, seq=seq, user_id=user_id,
                      username=actor.username or "", content=request.content,
                      message_type="text", created_at=now,
                      client_msg_id=request.client_msg_id, mentions=list(request.mentions),
                      display_name=ctx.display_names.get(user_id),
                      thread_root_id=root.id if root else None,
                      also_send_to_room=root is not None and request.also_send_to_room)
    for file in files:  # claimed now: a later post of the batch finds it in use
        file.message_id, file.room_id = message.id, room_id
        plan.attachments.append((file.id, message.id, room_id))
    message.attachments = tuple(files)
    plan.messages.append(message)
    ctx.roots[message.id] = message  # a later post of the batch may reply to it
    if root is not None:
        # The root's count moves in this transaction, so history and live frames agree.
        root.reply_count += 1
        root.last_reply_at = now
        plan.thread_added[root.id] = plan.thread_added.get(root.id, 0) + 1
        thread = plan.threads[root.id] = ThreadUpdate(room_id, root.id, root.reply_count, now)
    if request.client_msg_id is not None:
        ctx.earlier[(user_id, request.client_msg_id)] = message
    for name in request.mentions:
        mentioned = ctx.mentionable.get((room_id, name))
        if mentioned is not None and mentioned != user_id:  # yourself mentions nobody
            plan.mentions.append((message.id, mentioned, room_id, seq))
    if room.slow_mode_secs > 0:
        # A later post of the batch by the same member sees this one.
        member.last_post_at = now
        plan.last_posts[(room_id, user_id)] = now
    if member.read_seq < seq:
        # Posting in a room means you have read it up to your own message.
        member.read_seq = seq
        plan.read_markers[(room_id, user_id)] = seq
    plan.events.append(MessageCreated(
        message_id=message.id, room_id=room_id, seq=seq, user_id=user_id,
        username=message.username, content=message.content,
        client_msg_id=request.client_msg_id, mentions=message.mentions, created_at=now,
        thread_root_id=message.thread_root_id, also_send_to_room=message.also_send_to_room,
        thread_root_user_id=root.user_id if root else None,
        attachment_ids=[f.id for f in files]))
    return PostOutcome(message, created=True, joined=joined,
                       thread=thread if root is not None else None)


def _refuse_sanctioned(request: PostRequest, ctx: PostContext, room: Room,
                       member: Member | None) -> None:
    """Mutes (the server's, the room's), a room ban of a non-member, then slow mode (its
    moderators are exempt): all from what the batch read anyway."""
    user_id = request.actor.user_id
    assert user_id is not None
    now = ctx.now
    refuse_if_muted(member, ctx.server_mutes.get(user_id), now)
    if member is None:
        held = ctx.unjoined_sanctions.get((room.id, user_id), {})
        if in_force(held.get("ban"), now):
            raise Banned(held["ban"], "room")
        if in_force(held.get("mute"), now):
            raise Muted(held["mute"], "room")
    if room.slow_mode_secs > 0 and not is_moderator(request.actor, member):
        wait = slow_mode_wait(room.slow_mode_secs,
                              member.last_post_at if member else None, now)
        if wait:
            raise SlowMode(wait)
