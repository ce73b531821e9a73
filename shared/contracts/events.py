"""One pydantic model per durable event (JetStream stream EVENTS, subjects `events.>`).

Longer than 300 lines because it is the one list of every event of every service: the
models and `EVENT_MODELS` beside them, so a new event is one place to read and change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

EVENTS_STREAM = "EVENTS"

RoomRole = Literal["admin", "moderator", "member"]
PresenceStatus = Literal["online", "away", "busy", "offline"]
FileKind = Literal["attachment", "avatar"]
NotificationReason = Literal["message", "mention", "room_mention", "thread_reply", "broadcast",
                             "direct_message"]


class _Event(BaseModel):
    # Consumers must tolerate fields added by newer producers.
    model_config = ConfigDict(extra="ignore", frozen=True)


class UserRegistered(_Event):
    user_id: int
    username: str
    display_name: str | None = None
    is_admin: bool = False
    registered_at: datetime


class UserDeactivated(_Event):
    """An administrator deactivated an account: it cannot sign in until reactivated."""

    user_id: int
    username: str
    deactivated_by: int
    deactivated_at: datetime


class UserReactivated(_Event):
    user_id: int
    username: str
    reactivated_by: int
    reactivated_at: datetime


class UserDeleted(_Event):
    """A user deleted their account. Their messages keep `username`; the name stays taken."""

    user_id: int
    username: str
    deleted_at: datetime


class UserUpdated(_Event):
    """A user changed their profile. `display_name` is the stored one (null: none, the
    username shows); each field is the value after the change."""

    user_id: int
    username: str
    display_name: str | None = None
    status_text: str | None = None
    time_zone: str | None = None
    updated_at: datetime


SessionRevokedReason = Literal["logout", "password_changed", "deactivated", "deleted", "banned"]


class SessionRevoked(_Event):
    """A signed-in session ended before its token expired: every service refuses tokens
    carrying `session_id` (their `sid` claim) from now until `expires_at`."""

    session_id: str
    user_id: int
    reason: SessionRevokedReason
    revoked_at: datetime
    expires_at: datetime


class RoomCreated(_Event):
    room_id: int
    name: str
    description: str | None = None
    is_private: bool
    created_by: int | None
    created_at: datetime
    # "dm": a direct message between its members (private, its name internal: `dm:<ids>`).
    kind: Literal["room", "dm"] = "room"


class RoomUpdated(_Event):
    room_id: int
    name: str
    description: str | None = None
    is_private: bool
    updated_by: int
    updated_at: datetime


class MemberJoined(_Event):
    room_id: int
    user_id: int
    username: str
    role: RoomRole
    invited_by: int | None = None
    joined_at: datetime


class MemberLeft(_Event):
    room_id: int
    user_id: int
    username: str
    reason: Literal["left", "kicked", "banned"]
    removed_by: int | None = None
    left_at: datetime


class MemberRoleChanged(_Event):
    room_id: int
    user_id: int
    username: str
    role: RoomRole
    previous: RoomRole
    changed_by: int
    changed_at: datetime


class MemberRead(_Event):
    """A member's read marker moved forward (they have read up to `read_seq`)."""

    room_id: int
    user_id: int
    read_seq: int
    read_at: datetime


class MessageCreated(_Event):
    message_id: int
    room_id: int
    seq: int
    user_id: int | None
    username: str
    content: str
    message_type: Literal["text", "system", "image", "file"] = "text"
    client_msg_id: str | None = None
    mentions: list[str] = []
    created_at: datetime
    # A reply in a thread: its root's id (None for a message of the room's timeline), the
    # root's author, and whether the reply was also sent to the room's timeline.
    thread_root_id: int | None = None
    thread_root_user_id: int | None = None
    also_send_to_room: bool = False
    # The uploaded files it carries (`GET /api/chat/files/{id}`), in upload order.
    attachment_ids: list[str] = []


class MessageEdited(_Event):
    message_id: int
    room_id: int
    seq: int
    user_id: int | None
    content: str
    mentions: list[str] = []
    edited_by: int
    edited_at: datetime


class MessageDeleted(_Event):
    message_id: int
    room_id: int
    seq: int
    user_id: int | None
    deleted_by: int
    deleted_at: datetime


class ReactionAdded(_Event):
    """A member reacted to a message with an emoji (one per message, user and emoji)."""

    message_id: int
    room_id: int
    user_id: int
    emoji: str
    count: int  # how many reacted with this emoji now
    added_at: datetime


class ReactionRemoved(_Event):
    message_id: int
    room_id: int
    user_id: int
    emoji: str
    count: int
    removed_at: datetime


class MessagePinned(_Event):
    message_id: int
    room_id: int
    seq: int
    pinned_by: int
    pinned_at: datetime


class MessageUnpinned(_Event):
    message_id: int
    room_id: int
    seq: int
    unpinned_by: int
    unpinned_at: datetime


class FileStored(_Event):
    """A file was uploaded: its bytes now count in the uploader's storage (the dashboard
    sums `size` of stored minus deleted files)."""

    file_id: str
    user_id: int
    size: int
    kind: FileKind
    room_id: int | None = None
    stored_at: datetime


class FileDeleted(_Event):
    """A file's bytes were removed (its message was deleted and the retention passed, it
    was never attached, or an avatar was replaced)."""

    file_id: str
    user_id: int
    size: int
    kind: FileKind
    deleted_at: datetime


class PresenceChanged(_Event):
    user_id: int
    username: str
    status: PresenceStatus
    previous: PresenceStatus
    current_room: int | None = None
    last_active_at: datetime | None = None
    connections: int
    reason: str


class NotificationCreated(_Event):
    notification_id: str
    user_id: int
    reason: NotificationReason
    title: str
    content: str
    data: dict[str, object] = {}
    created_at: datetime


class NotificationRead(_Event):
    """A notification went from unread to read (by its user, or by reading its room)."""

    notification_id: str
    user_id: int
    reason: NotificationReason
    broadcast_id: str | None = None
    room_id: int | None = None
    message_id: int | None = None
    read_at: datetime


class NotificationSuppressed(_Event):
    """A member was not notified of a message; `reason` says why (already_read,
    viewing_room, muted, mentions_only)."""

    user_id: int
    room_id: int
    message_id: int
    reason: str
    decided_at: datetime


class BroadcastSent(_Event):
    broadcast_id: str
    content: str
    sender: str
    sent_by: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class EventSpec:
    model: type[BaseModel]
    subject: str
    type: str
    summary: str


EVENT_MODELS: tuple[EventSpec, ...] = (
    EventSpec(UserRegistered, "events.chat.user.registered",
              "tertulia.chat.user.registered.v1", "A user account was created."),
    EventSpec(UserDeactivated, "events.chat.user.deactivated",
              "tertulia.chat.user.deactivated.v1",
              "An administrator deactivated an account (it cannot sign in)."),
    EventSpec(UserReactivated, "events.chat.user.reactivated",
              "tertulia.chat.user.reactivated.v1",
              "An administrator reactivated a deactivated account."),
    EventSpec(UserDeleted, "events.chat.user.deleted",
              "tertulia.chat.user.deleted.v1", "A user deleted their own account."),
    EventSpec(UserUpdated, "events.chat.user.updated",
              "tertulia.chat.user.updated.v1",
              "A user changed their profile (display name, status text, time zone)."),
    EventSpec(SessionRevoked, "events.chat.session.revoked",
              "tertulia.chat.session.revoked.v1",
              "A session ended before its token expired (logout, password change, "
              "deactivation, deletion): every service refuses its tokens."),
    EventSpec(RoomCreated, "events.chat.room.created",
              "tertulia.chat.room.created.v1", "A room was created."),
    EventSpec(RoomUpdated, "events.chat.room.updated",
              "tertulia.chat.room.updated.v1", "A room's name, description or privacy changed."),
    EventSpec(MemberJoined, "events.chat.member.joined",
              "tertulia.chat.member.joined.v1", "A user became a member of a room."),
    EventSpec(MemberLeft, "events.chat.member.left",
              "tertulia.chat.member.left.v1", "A member left a room or was removed."),
    EventSpec(MemberRoleChanged, "events.chat.member.role_changed",
              "tertulia.chat.member.role_changed.v1", "A member's room role changed."),
    EventSpec(MemberRead, "events.chat.member.read",
              "tertulia.chat.member.read.v1", "A member's read marker moved forward."),
    EventSpec(MessageCreated, "events.chat.message.created",
              "tertulia.chat.message.created.v1", "A message was posted in a room."),
    EventSpec(MessageEdited, "events.chat.message.edited",
              "tertulia.chat.message.edited.v1", "A message's content was edited."),
    EventSpec(MessageDeleted, "events.chat.message.deleted",
              "tertulia.chat.message.deleted.v1", "A message was soft-deleted."),
    EventSpec(ReactionAdded, "events.chat.reaction.added",
              "tertulia.chat.reaction.added.v1", "A member reacted to a message."),
    EventSpec(ReactionRemoved, "events.chat.reaction.removed",
              "tertulia.chat.reaction.removed.v1", "A member took back a reaction."),
    EventSpec(MessagePinned, "events.chat.message.pinned",
              "tertulia.chat.message.pinned.v1", "A moderator pinned a message in its room."),
    EventSpec(MessageUnpinned, "events.chat.message.unpinned",
              "tertulia.chat.message.unpinned.v1", "A moderator unpinned a message."),
    EventSpec(FileStored, "events.chat.file.stored",
              "tertulia.chat.file.stored.v1", "A file was uploaded (an attachment or avatar)."),
    EventSpec(FileDeleted, "events.chat.file.deleted",
              "tertulia.chat.file.deleted.v1", "A file's bytes were removed."),
    EventSpec(PresenceChanged, "events.presence.changed",
              "tertulia.presence.changed.v1", "A user's aggregate presence changed."),
    EventSpec(NotificationCreated, "events.notifications.created",
              "tertulia.notifications.created.v1", "A notification entered a user's inbox."),
    EventSpec(NotificationRead, "events.notifications.read",
              "tertulia.notifications.read.v1", "A notification was read."),
    EventSpec(NotificationSuppressed, "events.notifications.suppressed",
              "tertulia.notifications.suppressed.v1",
              "A notification was held back, with the reason."),
    EventSpec(BroadcastSent, "events.dashboard.broadcast.sent",
              "tertulia.dashboard.broadcast.sent.v1", "An operator sent a broadcast to everyone."),
)

_BY_MODEL = {spec.model: spec for spec in EVENT_MODELS}
_BY_TYPE = {spec.type: spec for spec in EVENT_MODELS}


def spec_for(model: type[BaseModel]) -> EventSpec:
    return _BY_MODEL[model]


def spec_for_type(event_type: str) -> EventSpec:
    return _BY_TYPE[event_type]
