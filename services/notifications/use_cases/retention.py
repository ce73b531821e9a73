"""What goes after the retention period."""

from __future__ import annotations

from services.notifications.domain import Purged, retention_cutoff
from services.notifications.ports import NotificationsDeps


async def purge_expired(deps: NotificationsDeps, retention_days: int) -> Purged:
    """Read notifications older than `retention_days` go; unread ones stay however old.
    Decisions and handled-event ids older than that go too (they only grow otherwise)."""
    cutoff = retention_cutoff(deps.clock.now(), retention_days)
    async with deps.uow.write() as tx:
        removed, users = await tx.changes.purge_read(cutoff)
        decided = await tx.decisions.purge(cutoff)
        event_ids = await tx.processed.purge(cutoff)
    return Purged(removed, users, decided, event_ids, cutoff)
