"""Dashboard entities and rules: counters, live sockets, health, broadcasts, what changed.
No I/O, and no JSON: the shapes clients see are `adapters/views.py`."""

from services.dashboard.domain.broadcasts import (
    BROADCAST_MAX_CHARS,
    Broadcast,
    DashboardError,
    Receipt,
    validate_broadcast,
)
from services.dashboard.domain.counters import DAY, MINUTE, day_start, minute_of
from services.dashboard.domain.facts import (
    BroadcastAnnounced,
    BroadcastRead,
    CountRow,
    Fact,
    MessagePosted,
    NotificationHeld,
    NotificationSent,
    PresenceSet,
    RoomNamed,
    RoomRecord,
    UserRecord,
    UserSignedUp,
    merged_user,
)
from services.dashboard.domain.health import Instance
from services.dashboard.domain.sockets import Socket
from services.dashboard.domain.state import Changes, DashboardState
from services.dashboard.domain.storage import StorageChanged, StorageRow

__all__ = [
    "BROADCAST_MAX_CHARS",
    "DAY",
    "MINUTE",
    "Broadcast",
    "BroadcastAnnounced",
    "BroadcastRead",
    "Changes",
    "CountRow",
    "DashboardError",
    "DashboardState",
    "Fact",
    "Instance",
    "MessagePosted",
    "NotificationHeld",
    "NotificationSent",
    "PresenceSet",
    "Receipt",
    "RoomNamed",
    "RoomRecord",
    "Socket",
    "StorageChanged",
    "StorageRow",
    "UserRecord",
    "UserSignedUp",
    "day_start",
    "merged_user",
    "minute_of",
    "validate_broadcast",
]
