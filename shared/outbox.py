"""The transactional outbox: a service writes an event in the same transaction as the change
it describes, and a relay publishes it to JetStream, marking it sent only on the server's ack.

Rows go out in id order, one acknowledged publish at a time, so consumers see a service's
events in the order they were committed; the "sent" marks of a batch are written in one
statement. Several replicas may relay the same row: `Nats-Msg-Id` (the event id)
de-duplicates them within the stream's window.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.bus import EventBus, PublishFailed
from shared.contracts import CloudEvent, new_event
from shared.db import BigId, Database, UtcDateTime

log = logging.getLogger(__name__)
RETRY_MAX_SECS = 5.0


def outbox_table(metadata: MetaData, name: str = "outbox") -> Table:
    table = Table(
        name, metadata,
        Column("id", BigId, primary_key=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("subject", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime),
        # Ids are never reused, so the relay's id order is commit order even after purges.
        sqlite_autoincrement=True,
    )
    Index(f"ix_{name}_unsent", table.c.id, sqlite_where=table.c.sent_at.is_(None),
          postgresql_where=table.c.sent_at.is_(None))
    return table


async def add_to_outbox(conn: AsyncConnection, table: Table, event: BaseModel, *,
                        source: str, now: datetime) -> str:
    """Record `event` in the caller's open transaction; returns the event id."""
    subject, envelope = new_event(event, source=source, time=now)
    await conn.execute(insert(table), {"event_id": envelope.id, "subject": subject,
                                       "payload": envelope.to_bytes(), "created_at": now})
    return envelope.id


class OutboxRelay:
    def __init__(self, db: Database, bus: EventBus, table: Table, *, published: Counter,
                 pending: Gauge, poll_secs: float = 1.0, batch: int = 256) -> None:
        self._db = db
        self._bus = bus
        self._table = table
        self._published = published
        self._pending = pending
        self._poll_secs = poll_secs
        self._batch = batch
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Called after a commit that wrote outbox rows."""
        self._wake.set()

    async def pending(self) -> int:
        t = self._table
        async with self._db.read() as s:
            return int((await s.execute(
                select(func.count()).select_from(t).where(t.c.sent_at.is_(None))
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
        t = self._table
        async with self._db.read() as s:
            rows = (await s.execute(
                select(t.c.id, t.c.subject, t.c.payload)
                .where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(self._batch)
            )).all()
        if not rows:
            self._pending.set(0)
            return True
        self._pending.set(len(rows))  # at least this many (one batch)
        sent: list[int] = []
        try:
            for row in rows:
                await self._bus.publish_event(row.subject, CloudEvent.from_bytes(row.payload))
                sent.append(row.id)
        finally:
            if sent:
                await self._mark_sent(sent)
            self._pending.set(len(rows) - len(sent))
        return len(rows) < self._batch

    async def _mark_sent(self, ids: list[int]) -> None:
        t = self._table
        async with self._db.write() as s:
            await s.execute(update(t).where(t.c.id.in_(ids)).values(sent_at=datetime.now(UTC)))
        self._published.inc(len(ids))

    async def purge_sent(self, before: datetime) -> int:
        """Rows JetStream acknowledged long ago are history."""
        t = self._table
        async with self._db.write() as s:
            return (await s.execute(delete(t).where(
                t.c.sent_at.is_not(None), t.c.sent_at < before))).rowcount
