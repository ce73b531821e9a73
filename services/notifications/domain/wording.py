"""What a notification says (preview, title), and the ids, cursors and cut-offs of the
inbox. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.notifications.domain.formatting import plain_text
from services.notifications.domain.model import (
    NOTIFICATION_ID_RE,
    Decision,
    Invalid,
    Kind,
    NewNotification,
    NotFound,
    PostedMessage,
)


def preview(content: str, chars: int) -> str:
    """The exercise's preview: the first `chars` characters, as they are."""
    return content[:chars]


def message_preview(content: str, chars: int) -> str:
    """A message's preview: its plain text (markdown markers gone, as the chat page shows
    it), then the first `chars` characters."""
    return preview(plain_text(content), chars)


def title_for(kind: Kind, sender_name: str) -> str:
    if kind == "mention":
        return f"{sender_name} mentioned you"
    if kind == "room_mention":
        return f"{sender_name} mentioned @room"
    if kind == "broadcast":
        return f"Announcement from {sender_name}"
    if kind == "direct_message":
        return f"Direct message from {sender_name}"
    return f"New message from {sender_name}"


def message_notification(decision: Decision, message: PostedMessage, preview_chars: int,
                         *, content: str | None = None) -> NewNotification:
    """`content`: the message's preview when the caller made it once for every recipient."""
    return NewNotification(
        user_id=decision.user_id,
        kind=decision.kind,
        title=title_for(decision.kind, message.sender_name),
        content=content if content is not None else message_preview(message.content,
                                                                    preview_chars),
        data={"type": "chat_message", "room_id": message.room_id,
              "message_id": message.message_id, "kind": decision.kind},
        created_at=decision.decided_at,
        room_id=message.room_id,
        message_id=message.message_id,
        seq=message.seq,
    )


def broadcast_notification(user_id: int, broadcast_id: str, content: str, sender: str,
                           max_chars: int, now: datetime) -> NewNotification:
    """Broadcasts keep their whole text (up to `max_chars`): the inbox is where someone
    who was offline reads them."""
    return NewNotification(
        user_id=user_id,
        kind="broadcast",
        title=title_for("broadcast", sender),
        content=preview(content, max_chars),
        data={"type": "admin_broadcast", "room_id": None, "message_id": None,
              "kind": "broadcast", "broadcast_id": broadcast_id},
        created_at=now,
        broadcast_id=broadcast_id,
    )


def parse_notification_id(value: str) -> int:
    match = NOTIFICATION_ID_RE.fullmatch(value)
    if match is None:
        raise NotFound("notification_not_found", f"Notification {value!r} not found.")
    return int(match.group(1))


def parse_cursor(value: str | None) -> int | None:
    """`before` is a notification id; the page holds older ones."""
    if value is None:
        return None
    match = NOTIFICATION_ID_RE.fullmatch(value)
    if match is None:
        raise Invalid("invalid_cursor", "`before` must be a notification id like `ntf_42`.")
    return int(match.group(1))


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    return now - timedelta(days=retention_days)
