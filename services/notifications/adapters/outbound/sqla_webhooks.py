"""`SqlaWebhookStore`: outgoing webhooks in `ntf_webhooks`, their delivery counts updated
in place (one statement per attempt)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.adapters.outbound.sqla_base import SqlaStore
from services.notifications.domain.webhooks import (
    NewWebhook,
    Verdict,
    Webhook,
    WebhookStatus,
)

w = t.webhooks


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row.id, url=row.url, room_ids=tuple(row.room_ids), events=tuple(row.events),
        secret=row.secret, created_by=row.created_by, created_at=row.created_at,
        status=WebhookStatus(delivered=row.delivered, failed_attempts=row.failed_attempts,
                             dead_lettered=row.dead_lettered,
                             last_success_at=row.last_success_at,
                             last_failure_at=row.last_failure_at, last_error=row.last_error))


class SqlaWebhookStore(SqlaStore):
    async def add(self, new: NewWebhook) -> Webhook:
        result = await self._c.execute(insert(w).values(
            url=new.url, room_ids=list(new.room_ids), events=list(new.events),
            secret=new.secret, created_by=new.created_by, created_at=new.created_at,
            delivered=0, failed_attempts=0, dead_lettered=0).returning(w.c.id))
        return Webhook(id=result.scalar_one(), url=new.url, room_ids=new.room_ids,
                       events=new.events, secret=new.secret, created_by=new.created_by,
                       created_at=new.created_at)

    async def get(self, webhook_id: int) -> Webhook | None:
        row = (await self._c.execute(select(w).where(w.c.id == webhook_id))).first()
        return _webhook(row) if row is not None else None

    async def all(self) -> list[Webhook]:
        return [_webhook(row) for row in await self._c.execute(select(w).order_by(w.c.id))]

    async def remove(self, webhook_id: int) -> bool:
        return (await self._c.execute(delete(w).where(w.c.id == webhook_id))).rowcount == 1

    async def record(self, webhook_id: int, verdict: Verdict, at: datetime,
                     error: str | None, dead: bool) -> None:
        values: dict[str, Any]
        if verdict == "delivered":
            values = {"delivered": w.c.delivered + 1, "last_success_at": at}
        else:
            values = {"failed_attempts": w.c.failed_attempts + 1, "last_failure_at": at,
                      "last_error": (error or "")[:500] or None}
            if dead:
                values["dead_lettered"] = w.c.dead_lettered + 1
        await self._c.execute(update(w).where(w.c.id == webhook_id).values(**values))
