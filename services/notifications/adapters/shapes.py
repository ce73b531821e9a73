"""The JSON shapes of notifications at this service's edge, one place for both boundaries:
the `notification` frame's data (`frame_data`, pushed live), the inbox's JSON and the
decisions' (HTTP). The domain returns objects; these are the adapters'."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications.domain import Decision, Notification, explain


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def frame_data(notification: Notification) -> dict[str, Any]:
    """The `notification` frame's data, as sockets receive it."""
    return {
        "id": notification.id,
        "title": notification.title,
        "content": notification.content,
        "data": notification.data,
        "reason": notification.kind,
        "created_at": _iso(notification.created_at),
        "read": notification.read,
    }


def notification_data(notification: Notification) -> dict[str, Any]:
    """The inbox's JSON: the frame's fields plus when it was read."""
    return {**frame_data(notification), "read_at": _iso(notification.read_at)}


def decision_data(decision: Decision) -> dict[str, Any]:
    return {
        "message_id": decision.message_id,
        "room_id": decision.room_id,
        "seq": decision.seq,
        "kind": decision.kind,
        "outcome": "notified" if decision.notified else "suppressed",
        "reason": decision.suppressed_by or decision.kind,
        "explanation": explain(decision),
        "notification_id": decision.notification_id,
        "decided_at": _iso(decision.decided_at),
    }
