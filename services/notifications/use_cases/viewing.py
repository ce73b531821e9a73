"""Which rooms each user has on screen, as the chat replicas report it."""

from __future__ import annotations

from services.notifications.ports import NotificationsDeps
from shared.contracts import UserViewing, ViewingHeartbeat


def record_viewing(deps: NotificationsDeps, report: UserViewing | ViewingHeartbeat) -> None:
    """What a chat replica says its sockets show now; the only source of `viewing_room`."""
    if isinstance(report, UserViewing):
        deps.viewing.user(report.replica_id, report.user_id, report.rooms)
    else:
        deps.viewing.heartbeat(report.replica_id,
                               {v.user_id: v.rooms for v in report.viewers},
                               report.interval_secs)
