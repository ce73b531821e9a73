"""What one event's handler changed (`Effects`), and the events that leave through the
outbox for it: shared by the event handlers and the inbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notifications.domain import Decision, Notification
from services.notifications.ports import NotificationsDeps, NotificationsTx
from shared.contracts import NotificationCreated, NotificationRead, NotificationSuppressed


@dataclass(slots=True)
class Effects:
    created: list[Notification] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    read: list[Notification] = field(default_factory=list)  # went from unread to read


Handler = Callable[[NotificationsDeps, NotificationsTx, Any, datetime, datetime],
                   Awaitable[Effects | None]]


def created_event(n: Notification) -> NotificationCreated:
    return NotificationCreated(notification_id=n.id, user_id=n.user_id, reason=n.kind,
                               title=n.title, content=n.content, data=n.data,
                               created_at=n.created_at)


def read_event(n: Notification) -> NotificationRead:
    assert n.read_at is not None
    return NotificationRead(notification_id=n.id, user_id=n.user_id, reason=n.kind,
                            broadcast_id=n.broadcast_id, room_id=n.room_id,
                            message_id=n.message_id, read_at=n.read_at)


def suppressed_event(d: Decision) -> NotificationSuppressed:
    assert d.suppressed_by is not None
    return NotificationSuppressed(user_id=d.user_id, room_id=d.room_id,
                                  message_id=d.message_id, reason=d.suppressed_by,
                                  decided_at=d.decided_at)
