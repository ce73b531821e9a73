"""What the dashboard takes from each durable event: the fact it counts, or nothing."""

from __future__ import annotations

from services.dashboard.domain.facts import (
    BroadcastAnnounced,
    BroadcastRead,
    Fact,
    MessagePosted,
    NotificationHeld,
    NotificationSent,
    PresenceSet,
    RoomNamed,
    UserSignedUp,
)
from services.dashboard.domain.storage import StorageChanged
from shared.contracts import (
    BroadcastSent,
    CloudEvent,
    FileDeleted,
    FileStored,
    MessageCreated,
    NotificationCreated,
    NotificationRead,
    NotificationSuppressed,
    PresenceChanged,
    RoomCreated,
    RoomUpdated,
    UserRegistered,
)


def fact_of(event: CloudEvent) -> Fact | None:
    """What the dashboard takes from an event; None for types it does not count.
    Raises ValueError when a known type's data does not fit its model."""
    try:
        payload = event.payload()
    except KeyError:
        return None
    if isinstance(payload, MessageCreated):
        return MessagePosted(payload.room_id, payload.created_at)
    if isinstance(payload, RoomCreated | RoomUpdated):
        return RoomNamed.of(payload)
    if isinstance(payload, UserRegistered):
        return UserSignedUp(payload.user_id, payload.username, payload.registered_at)
    if isinstance(payload, PresenceChanged):
        return PresenceSet(payload.user_id, payload.username, payload.status, payload.previous,
                           payload.current_room, payload.last_active_at, payload.reason,
                           event.time)
    if isinstance(payload, NotificationCreated):
        broadcast_id = payload.data.get("broadcast_id")
        return NotificationSent(payload.user_id, payload.reason, payload.created_at,
                                broadcast_id if isinstance(broadcast_id, str) else None)
    if isinstance(payload, NotificationSuppressed):
        return NotificationHeld(payload.user_id, payload.reason, payload.decided_at)
    if isinstance(payload, NotificationRead) and payload.broadcast_id:
        return BroadcastRead(payload.user_id, payload.broadcast_id, payload.read_at)
    if isinstance(payload, BroadcastSent):
        return BroadcastAnnounced(payload.broadcast_id)
    if isinstance(payload, FileStored):
        return StorageChanged(payload.kind, payload.size, 1)
    if isinstance(payload, FileDeleted):
        return StorageChanged(payload.kind, -payload.size, -1)
    return None
