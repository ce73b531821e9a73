"""Frames at chat's edge: the JSON shape of each domain object a frame carries (the one place
per boundary a message, room, member or unread count is shaped; HTTP responses use the same
functions), and the bytes every socket receives. The envelope itself is the wire codec's
(`shared.contracts.live.encode_frame`)."""

from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

import orjson

from services.chat.domain import (
    Frame,
    Member,
    Message,
    Room,
    ThreadUpdate,
    Unread,
    User,
    shown_name,
)
from services.chat.domain.marks import ReactionSummary
from services.chat.domain.reports import Report
from services.chat.domain.stored_file import StoredFile
from services.chat.use_cases.avatars import AvatarChanged
from shared.contracts.live import encode_frame as encode

_FIN_TEXT = 0x81

__all__ = ["ack_data", "attachment_data", "avatar_url", "encode", "encode_frame", "error",
           "file_data", "frame_data", "marks_data", "member_data", "message_data",
           "profile_data", "reaction_data", "room_data", "text_frame", "thread_data",
           "unread_data"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_data(message: Message) -> dict[str, Any]:
    """The `message` frame's data (the exercise's fields plus ours); deleted content is gone."""
    data = {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "content": "" if message.is_deleted else message.content,
        "user_id": message.user_id,
        "username": message.username,
        "message_type": message.message_type,
        "created_at": _iso(message.created_at),
        "edited_at": _iso(message.edited_at),
        "is_deleted": message.is_deleted,
        "client_msg_id": message.client_msg_id,
        "display_name": shown_name(message.username, message.display_name),
        "thread_root_id": message.thread_root_id,
        "also_send_to_room": message.also_send_to_room,
        "reply_count": message.reply_count,
        "last_reply_at": _iso(message.last_reply_at),
        "attachments": ([] if message.is_deleted or not message.attachments
                        else [attachment_data(f) for f in message.attachments]),
    }
    if message.reactions is not None:
        data.update(marks_data(message))
    return data


def attachment_data(file: StoredFile) -> dict[str, Any]:
    """A file as a message carries it; its bytes are at `url` (docs/protocol.md, Files)."""
    url = f"/api/chat/files/{file.id}"
    return {"id": file.id, "name": file.name, "size": file.size,
            "content_type": file.content_type, "width": file.width, "height": file.height,
            "url": url,
            "thumbnail_url": f"{url}/thumbnail" if file.thumbnail_key is not None else None}


def file_data(file: StoredFile) -> dict[str, Any]:
    """`POST /api/chat/files`'s answer: the attachment's fields and when it was stored."""
    return {**attachment_data(file), "created_at": _iso(file.created_at)}


def thread_data(update: ThreadUpdate) -> dict[str, Any]:
    """The `thread_updated` frame's data: a root's count after new replies."""
    return {
        "room_id": update.room_id,
        "root_id": update.root_id,
        "reply_count": update.reply_count,
        "last_reply_at": _iso(update.last_reply_at),
    }


def marks_data(message: Message) -> dict[str, Any]:
    """A message's reactions (for the viewer it was read for) and pin, when they were read."""
    pin = message.pin
    return {
        "reactions": [reaction_data(r) for r in message.reactions or ()],
        "pinned": pin is not None,
        "pinned_at": _iso(pin.pinned_at) if pin else None,
        "pinned_by": pin.pinned_by if pin else None,
        "pinned_by_username": pin.pinned_by_username if pin else None,
    }


def reaction_data(summary: ReactionSummary) -> dict[str, Any]:
    """One emoji on a message: `me` is the viewer's; `user_ids` and `usernames` the first
    `REACTION_USERS_LISTED` who reacted, earliest first."""
    return {"emoji": summary.emoji, "count": summary.count, "me": summary.me,
            "user_ids": [uid for uid, _ in summary.users],
            "usernames": [name for _, name in summary.users]}


def ack_data(message: Message) -> dict[str, Any]:
    return {
        "client_msg_id": message.client_msg_id,
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "created_at": _iso(message.created_at),
    }


def unread_data(unread: Unread) -> dict[str, Any]:
    return {
        "room_id": unread.room_id,
        "count": unread.count,
        "mentions": unread.mentions,
        "last_seq": unread.last_seq,
        "read_seq": unread.read_seq,
    }


def room_data(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "description": room.description,
        "is_private": room.is_private,
        "created_by": room.created_by,
        "created_at": _iso(room.created_at),
        "last_seq": room.last_seq,
        "kind": room.kind,
        "slow_mode_secs": room.slow_mode_secs,
    }


def member_data(member: Member) -> dict[str, Any]:
    return {
        "room_id": member.room_id,
        "user_id": member.user_id,
        "username": member.username,
        "role": member.role,
        "joined_at": _iso(member.joined_at),
        "read_seq": member.read_seq,
        "display_name": shown_name(member.username, member.display_name),
    }


def profile_data(user: User) -> dict[str, Any]:
    """A user as other people see them: the `user_updated` frame's data (`display_name` is
    the name to show; the stored one is `GET /api/auth/me`'s)."""
    return {
        "user_id": user.id,
        "username": user.username,
        "display_name": shown_name(user.username, user.display_name),
        "status_text": user.status_text,
        "time_zone": user.time_zone,
    }


def avatar_url(user_id: int, file_id: str | None) -> str | None:
    """Where a user's avatar is, or None: `?v=` changes with each new one, so the address
    of one picture can be cached for good."""
    return f"/api/chat/users/{user_id}/avatar?v={file_id}" if file_id else None


def avatar_changed_data(change: AvatarChanged) -> dict[str, Any]:
    """`user_updated` after a new (or no) avatar: the profile, and `avatar_url`."""
    return {**profile_data(change.user),
            "avatar_url": avatar_url(change.user.id, change.avatar_file_id)}


def report_data(report: Report) -> dict[str, Any]:
    """A report as the queue, its frames and its answers show it (docs/protocol.md)."""
    return {"id": report.id, "message_id": report.message_id, "room_id": report.room_id,
            "reporter_id": report.reporter_id, "reporter_username": report.reporter_username,
            "reason": report.reason, "status": report.status,
            "created_at": _iso(report.created_at), "resolved_at": _iso(report.resolved_at),
            "resolved_by": report.resolved_by, "resolution": report.resolution,
            "note": report.note,
            "message": message_data(report.message) if report.message else None}


_SHAPES: dict[type, Any] = {Message: message_data, Room: room_data, Member: member_data,
                            Unread: unread_data, User: profile_data,
                            ThreadUpdate: thread_data, AvatarChanged: avatar_changed_data,
                            Report: report_data}


def frame_data(data: Any) -> Any:
    """A frame's `data` as JSON-ready values: a domain object's shape, a dict as it is."""
    shape = _SHAPES.get(type(data))
    return data if shape is None else shape(data)


def encode_frame(frame: Frame) -> bytes:
    return encode(frame.type, frame_data(frame.data))


def error(code: str, message: str, ref: str | int | None = None,
          extra: dict[str, Any] | None = None) -> bytes:
    """`extra`: the error's own fields (`until` of `muted`, `retry_after_secs`...)."""
    return encode("error", {"code": code, "message": message, "ref": ref, **(extra or {})})


def pong(now: datetime) -> bytes:
    """The answer to `ping`: the envelope's `timestamp` and `data.timestamp` both carry the
    time, because the exercise's clients read the top-level one (docs/protocol.md)."""
    stamp = now.isoformat()
    return orjson.dumps({"type": "pong", "timestamp": stamp, "data": {"timestamp": stamp}})


def text_frame(payload: bytes) -> bytes:
    """The whole WebSocket text frame a server sends for `payload` (RFC 6455 5.2): server
    frames are not masked, so these bytes are the same for every socket that gets them."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_TEXT, 126, size) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, size) + payload
