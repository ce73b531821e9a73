"""Publishes the outbox to JetStream; a row is marked sent only once the server acknowledged it.

The same pattern as the chat service's relay (services never import each other): rows go out
in id order, one acknowledged publish at a time; several replicas may relay the same row and
`Nats-Msg-Id` (the event id) de-duplicates them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from services.notifications.adapters.metrics import NotificationsMetrics
from services.notifications.adapters.outbound.sqla_tables import outbox
from shared.bus import EventBus, PublishFailed
from shared.contracts import CloudEvent
from shared.db import Database

log = logging.getLogger(__name__)
RETRY_MAX_SECS = 5.0


class OutboxRelay:
    def __init__(self, db: Database, bus: EventBus, metrics: NotificationsMetrics, *,
                 poll_secs: float = 1.0, batch: int = 256) -> None:
        self._db = db
        self._bus = bus
        self._metrics = metrics
        self._poll_secs = poll_secs
        self._batch = batch
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Called after a commit that wrote outbox rows."""
        self._wake.set()

    async def pending(self) -> int:
        async with self._db.read() as s:
            return int((await s.execute(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            )).scalar_one())

    async def run(self) -> None:
        backoff = 0.0
        while True:
            try:
                drained = await self.relay_once()
                backoff = 0.0
            except PublishFailed as exc:
                backoff = min(max(backoff * 2, 0.25), RETRY_MAX_SECS)
                log.warning("outbox relay: JetStream unavailable, retrying",
                            extra={"fields": {"error": str(exc), "retry_secs": backoff}})
                await asyncio.sleep(backoff)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if drained:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_secs)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def relay_once(self) -> bool:
        """Publish one batch; True when the outbox is drained."""
        async with self._db.read() as s:
            rows = (await s.execute(
                select(outbox.c.id, outbox.c.subject, outbox.c.payload)
                .where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(self._batch)
            )).all()
        if not rows:
            self._metrics.outbox_pending.set(0)
            return True
        self._metrics.outbox_pending.set(len(rows))  # at least this many (one batch)
        sent: list[int] = []
        try:
            for row in rows:
                await self._bus.publish_event(row.subject, CloudEvent.from_bytes(row.payload))
                sent.append(row.id)
        finally:
            if sent:
                await self._mark_sent(sent)
            self._metrics.outbox_pending.set(len(rows) - len(sent))
        return len(rows) < self._batch

    async def _mark_sent(self, ids: list[int]) -> None:
        async with self._db.write() as s:
            await s.execute(update(outbox).where(outbox.c.id.in_(ids))
                            .values(sent_at=datetime.now(UTC)))
        self._metrics.outbox_published.inc(len(ids))

    async def purge_sent(self, before: datetime) -> int:
        """Rows JetStream acknowledged long ago are history; one per notification adds up."""
        async with self._db.write() as s:
            return (await s.execute(delete(outbox).where(
                outbox.c.sent_at.is_not(None), outbox.c.sent_at < before))).rowcount
