"""Short constructors for the contracts the integration tests feed the dashboard."""

from __future__ import annotations

import itertools
from datetime import datetime

from shared.contracts import (
    ConnectionClosed,
    ConnectionInfo,
    ConnectionOpened,
    MessageCreated,
    NotificationCreated,
    PresenceChanged,
    RoomCreated,
    ServiceHeartbeat,
    UserRegistered,
)
from tests.integration.dashboard.harness import now

_ids = itertools.count(1)


def room(room_id: int, name: str) -> RoomCreated:
    return RoomCreated(room_id=room_id, name=name, is_private=False, created_by=None,
                       created_at=now())


def user(user_id: int, username: str | None = None) -> UserRegistered:
    return UserRegistered(user_id=user_id, username=username or f"u{user_id}",
                          registered_at=now())


def message(room_id: int, at: datetime | None = None) -> MessageCreated:
    n = next(_ids)
    return MessageCreated(message_id=n, room_id=room_id, seq=n, user_id=None, username="x",
                          content="hola", created_at=at or now())


def presence(user_id: int, status: str, previous: str) -> PresenceChanged:
    return PresenceChanged(user_id=user_id, username=f"u{user_id}", status=status,
                           previous=previous, connections=1, reason="test")


def notification(user_id: int, reason: str, **data: object) -> NotificationCreated:
    return NotificationCreated(notification_id=f"n{next(_ids)}", user_id=user_id,
                               reason=reason, title="t", content="c", data=data,
                               created_at=now())


def opened(replica_id: str, connection_id: str, user_id: int | None,
           rooms: list[int] | None = None) -> ConnectionOpened:
    return ConnectionOpened(replica_id=replica_id, connection=ConnectionInfo(
        connection_id=connection_id, user_id=user_id, username=None, rooms=rooms or [],
        opened_at=now(), last_active_at=now()))


def closed(replica_id: str, connection_id: str, user_id: int | None) -> ConnectionClosed:
    return ConnectionClosed(replica_id=replica_id, connection_id=connection_id,
                            user_id=user_id, closed_at=now())


def heartbeat(service: str, instance_id: str, interval_secs: float,
              version: str = "9.9.9", ready: bool = True) -> ServiceHeartbeat:
    return ServiceHeartbeat(service=service, instance_id=instance_id, version=version,
                            started_at=now(), at=now(), interval_secs=interval_secs,
                            ready=ready)
