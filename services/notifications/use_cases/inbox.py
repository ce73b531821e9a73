"""What a user does with their inbox: page it, count it, mark entries read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.notifications.domain import (
    Invalid,
    NotFound,
    Notification,
    parse_cursor,
    parse_notification_id,
)
from services.notifications.ports import NotificationsDeps, NotificationsTx
from services.notifications.use_cases._outgoing import read_event

PAGE_MAX = 200


@dataclass(frozen=True, slots=True)
class InboxPage:
    notifications: list[Notification]
    has_more: bool

    @property
    def next_before(self) -> str | None:
        return self.notifications[-1].id if self.has_more and self.notifications else None


async def list_inbox(deps: NotificationsDeps, user_id: int, *, unread_only: bool = False,
                     before: str | None = None, limit: int = 50) -> InboxPage:
    """Newest first; `before` (a notification id) pages to older ones."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid("invalid_limit", f"limit must be 1-{PAGE_MAX}.")
    before_pk = parse_cursor(before)
    async with deps.uow.read() as tx:
        rows = await tx.inbox.page(user_id, unread_only=unread_only, before_pk=before_pk,
                                   limit=limit + 1)
    return InboxPage(rows[:limit], len(rows) > limit)


async def unread_count(deps: NotificationsDeps, user_id: int) -> int:
    async with deps.uow.read() as tx:
        return await tx.inbox.unread_count(user_id)


async def mark_read(deps: NotificationsDeps, user_id: int, notification_id: str
                    ) -> Notification:
    """Idempotent; someone else's notification is "not found", like one that never was.
    Only the first read leaves an `events.notifications.read` (through the outbox)."""
    pk = parse_notification_id(notification_id)
    async with deps.uow.write() as tx:
        await _mark_read(tx, user_id, [pk], deps.clock.now())
        found = await tx.inbox.get(user_id, pk)
    if found is None:
        raise NotFound("notification_not_found", f"Notification {notification_id!r} not found.")
    return found


async def mark_all_read(deps: NotificationsDeps, user_id: int) -> int:
    """How many changed; one `events.notifications.read` each."""
    async with deps.uow.write() as tx:
        marked = await _mark_read(tx, user_id, None, deps.clock.now())
    return len(marked)


async def _mark_read(tx: NotificationsTx, user_id: int, pks: list[int] | None,
                     now: datetime) -> list[Notification]:
    marked = await tx.changes.mark_read(user_id, pks, now)
    for notification in marked:
        await tx.outbox.add(read_event(notification), now)
    return marked
