"""The chat unit of work over SQLAlchemy (its transaction bundles the stores of
`sqla_accounts`, `sqla_rooms` and `sqla_messages`), the outbox writer, and `create_schema()`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_accounts import SqlaSessionStore, SqlaUserStore
from services.chat.adapters.outbound.sqla_messages import SqlaMessageStore
from services.chat.adapters.outbound.sqla_rooms import SqlaMemberStore, SqlaRoomStore
from services.chat.adapters.outbound.sqla_tables import metadata, outbox
from shared.db import Database
from shared.outbox import OutboxRow, add_to_outbox


class SqlaOutbox:
    def __init__(self, session: AsyncConnection, source: str) -> None:
        self._s = session
        self._source = source
        self.rows: list[OutboxRow] = []

    async def add(self, event: BaseModel, now: datetime) -> None:
        self.rows.append(await add_to_outbox(self._s, outbox, event, source=self._source,
                                             now=now))


class SqlaChatTx:
    def __init__(self, session: AsyncConnection, source: str) -> None:
        self.session = session
        self.users = SqlaUserStore(session)
        self.rooms = SqlaRoomStore(session)
        self.members = SqlaMemberStore(session)
        self.messages = SqlaMessageStore(session)
        self.sessions = SqlaSessionStore(session)
        self.outbox = SqlaOutbox(session, source)


class SqlaChatUnitOfWork:
    """Transactions over SQLAlchemy; a write's outbox rows go to `committed` (the relay)
    right after its commit, in commit order."""

    def __init__(self, db: Database, source: str = "tertulia/chat",
                 committed: Callable[[list[OutboxRow]], None] | None = None) -> None:
        self._db = db
        self._source = source
        self._committed = committed

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlaChatTx]:
        tx: SqlaChatTx | None = None

        def hand_over() -> None:
            if tx is not None and tx.outbox.rows and self._committed is not None:
                self._committed(tx.outbox.rows)

        async with self._db.write(after_commit=hand_over) as session:
            tx = SqlaChatTx(session, self._source)
            yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlaChatTx]:
        async with self._db.read() as session:
            yield SqlaChatTx(session, self._source)


# Columns added to existing tables after their first release, added at start-up to a
# database made before them (there is no migrations tool yet).
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {"users": ("deactivated_at", "deleted_at")}


def _missing_columns(sync_conn: Any) -> list[tuple[str, str]]:
    inspector = inspect(sync_conn)
    missing = []
    for table, names in ADDED_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        missing += [(table, name) for name in names if name not in present]
    return missing


async def _add_missing_columns(conn: AsyncConnection) -> None:
    for table, name in await conn.run_sync(_missing_columns):
        column = metadata.tables[table].c[name]
        kind = column.type.compile(dialect=conn.dialect)
        await conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{name}" {kind}'))


async def create_schema(db: Database) -> None:
    """Create missing tables and add missing columns; safe when several replicas start at
    once."""
    for attempt in range(3):
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                await _add_missing_columns(conn)
            return
        except Exception:
            # Another replica created a table (or column) between our check and our CREATE.
            if attempt == 2:
                raise
