"""Threads: a reply names its thread's root, a message of the same room that is not itself
a reply. Replies are messages of the room (they take its next `seq`); a thread-only reply
(`also_send_to_room` false) stays out of the room's timeline and unread counts. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.chat.domain.model import ChatError, Invalid, Message, NotFound


@dataclass(frozen=True, slots=True)
class ThreadUpdate:
    """A root's count after a batch of replies: the `thread_updated` frame's data."""

    room_id: int
    root_id: int
    reply_count: int
    last_reply_at: datetime | None


def thread_root_not_found(root_id: int) -> ChatError:
    return NotFound("thread_root_not_found", f"Message {root_id} is not in this room.")


def resolve_root(requested_id: int, room_id: int, found: dict[int, Message]) -> Message:
    """The root a reply to `requested_id` attaches to. `found` holds the requested message
    and, when that is itself a reply, its root. A reply to a reply joins the same thread
    (threads are one level deep, as in the chat products people use). The root must be a
    message of the same room and not deleted."""
    target = found.get(requested_id)
    if target is None or target.room_id != room_id:
        raise thread_root_not_found(requested_id)
    if target.thread_root_id is not None:
        root = found.get(target.thread_root_id)
        if root is None or root.room_id != room_id:
            raise thread_root_not_found(requested_id)
        target = root
    if target.is_deleted:
        raise Invalid("thread_root_deleted", "A deleted message cannot get replies.")
    return target


def in_room_timeline(message: Message) -> bool:
    """Whether the room's timeline (history, unread counts) shows the message: roots and
    ordinary messages, and replies that were also sent to the room."""
    return message.thread_root_id is None or message.also_send_to_room
