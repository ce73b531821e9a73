"""Notifications use cases, one module per capability: applying consumed events
(`events`, with the handlers in `projection` and `notifying`), what the chat replicas say is
on screen (`viewing`), the inbox, preferences, decisions, retention, outgoing webhooks
(`webhooks`); `_outgoing` holds the
effects and outbox events they share. Callers use the package (`use_cases.apply_event`):
which module a use case lives in is this package's business."""

from services.notifications.use_cases.decisions import DECISIONS_PAGE, decisions
from services.notifications.use_cases.events import Applied, apply_event, record_dead_letter
from services.notifications.use_cases.inbox import (
    PAGE_MAX,
    InboxPage,
    list_inbox,
    mark_all_read,
    mark_read,
    unread_count,
)
from services.notifications.use_cases.preferences import (
    RoomPreference,
    preferences,
    set_preferences,
)
from services.notifications.use_cases.retention import purge_expired
from services.notifications.use_cases.viewing import record_viewing
from services.notifications.use_cases.webhooks import (
    attempt_delivery,
    create_webhook,
    delete_webhook,
    fan_out,
    fan_out_failed,
    list_webhooks,
)

__all__ = [
    "DECISIONS_PAGE",
    "PAGE_MAX",
    "Applied",
    "InboxPage",
    "RoomPreference",
    "apply_event",
    "attempt_delivery",
    "create_webhook",
    "decisions",
    "delete_webhook",
    "fan_out",
    "fan_out_failed",
    "list_inbox",
    "list_webhooks",
    "mark_all_read",
    "mark_read",
    "preferences",
    "purge_expired",
    "record_dead_letter",
    "record_viewing",
    "set_preferences",
    "unread_count",
]
