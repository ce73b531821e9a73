"""The retention job: on a timer, old read notifications (and old bookkeeping) go."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from services.notifications import use_cases
from services.notifications.adapters.metrics import NotificationsMetrics
from services.notifications.domain import Purged
from services.notifications.ports import NotificationsDeps

log = logging.getLogger(__name__)
PurgeSent = Callable[[datetime], Awaitable[int]]


async def purge_once(deps: NotificationsDeps, metrics: NotificationsMetrics,
                     retention_days: int, purge_sent: PurgeSent | None = None) -> Purged:
    purged = await use_cases.purge_expired(deps, retention_days)
    outbox_rows = await purge_sent(purged.cutoff) if purge_sent is not None else 0
    metrics.retention_removed.inc(purged.notifications)
    log.info(
        "retention: removed %d read notifications of %d users created before %s",
        purged.notifications, purged.users, purged.cutoff.isoformat(),
        extra={"fields": {"removed_notifications": purged.notifications,
                          "users": purged.users, "removed_decisions": purged.decisions,
                          "removed_event_ids": purged.event_ids,
                          "removed_outbox_rows": outbox_rows,
                          "cutoff": purged.cutoff.isoformat(),
                          "retention_days": retention_days}})
    return purged


async def run_retention(deps: NotificationsDeps, metrics: NotificationsMetrics, *,
                        retention_days: int, interval_secs: float,
                        purge_sent: PurgeSent | None = None) -> None:
    """Once at start, then every `interval_secs`, until cancelled. Replicas may overlap:
    deleting what is already gone is harmless."""
    while True:
        try:
            await purge_once(deps, metrics, retention_days, purge_sent)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("retention job failed; trying again at the next interval")
        await asyncio.sleep(interval_secs)
