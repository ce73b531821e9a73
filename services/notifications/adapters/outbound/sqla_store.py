"""The notifications unit of work: one transaction's stores (`sqla_projection`,
`sqla_inbox`, `sqla_decisions`, and here the consumer's bookkeeping: handled event ids and
dead letters) and the outbox writer, over `shared.db.Database`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.adapters.outbound.sqla_base import SqlaStore, upsert
from services.notifications.adapters.outbound.sqla_decisions import (
    SqlaDecisionLog,
    SqlaPreferenceStore,
)
from services.notifications.adapters.outbound.sqla_inbox import SqlaInbox, SqlaInboxChanges
from services.notifications.adapters.outbound.sqla_projection import (
    SqlaMemberDirectory,
    SqlaRoomDirectory,
    SqlaThreadParticipants,
    SqlaUserDirectory,
)
from services.notifications.adapters.outbound.sqla_webhooks import SqlaWebhookStore
from shared.db import Database
from shared.outbox import Committed, OutboxWriter, write_with_outbox


class SqlaProcessedEvents(SqlaStore):
    async def claim(self, event_id: str, now: datetime) -> bool:
        stmt = upsert(self._c, t.processed_events).values(event_id=event_id, processed_at=now)
        result = await self._c.execute(stmt.on_conflict_do_nothing(
            index_elements=[t.processed_events.c.event_id]))
        return result.rowcount == 1

    async def purge(self, before: datetime) -> int:
        p = t.processed_events
        return (await self._c.execute(delete(p).where(p.c.processed_at < before))).rowcount


class SqlaDeadLetters(SqlaStore):
    async def add(self, event_id: str, event_type: str, payload: bytes, error: str,
                  now: datetime) -> None:
        await self._c.execute(insert(t.dead_letters).values(
            event_id=event_id, event_type=event_type, payload=payload, error=error,
            failed_at=now))


class SqlaNotificationsTx:
    def __init__(self, conn: AsyncConnection, source: str) -> None:
        self.connection = conn
        self.users = SqlaUserDirectory(conn)
        self.rooms = SqlaRoomDirectory(conn)
        self.members = SqlaMemberDirectory(conn)
        self.threads = SqlaThreadParticipants(conn)
        self.preferences = SqlaPreferenceStore(conn)
        self.inbox = SqlaInbox(conn)
        self.changes = SqlaInboxChanges(conn)
        self.decisions = SqlaDecisionLog(conn)
        self.processed = SqlaProcessedEvents(conn)
        self.dead_letters = SqlaDeadLetters(conn)
        self.outbox = OutboxWriter(conn, t.outbox, source)
        self.webhooks = SqlaWebhookStore(conn)


class SqlaNotificationsUnitOfWork:
    """Transactions over SQLAlchemy; a write's outbox rows go to `committed` (the relay)
    right after its commit, in commit order."""

    def __init__(self, db: Database, source: str = "tertulia/notifications",
                 committed: Committed | None = None) -> None:
        self._db = db
        self._source = source
        self._committed = committed

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlaNotificationsTx]:
        async with write_with_outbox(
                self._db, lambda conn: SqlaNotificationsTx(conn, self._source),
                self._committed) as tx:
            yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlaNotificationsTx]:
        async with self._db.read() as conn:
            yield SqlaNotificationsTx(conn, self._source)
