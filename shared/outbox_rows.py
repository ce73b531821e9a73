"""What a transaction writes to the outbox (`shared/outbox.py` has the relay that publishes
it): the table, one row's envelope, a transaction's `OutboxWriter`, and `write_with_outbox`,
the unit of work's write that hands its rows to the relay right after its commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import Column, Index, LargeBinary, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.bus import RawEvent
from shared.contracts.envelope import encode_event
from shared.db import BigId, Database, UtcDateTime

# What a transaction just committed to the outbox, in commit order (`OutboxRelay.committed`).
Committed = Callable[[Sequence["OutboxRow"]], None]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One committed outbox row, as the relay publishes it."""

    event_id: str
    subject: str
    payload: bytes

    def raw(self) -> RawEvent:
        return RawEvent(self.subject, self.event_id, self.payload)


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


def outbox_row(event: BaseModel, *, source: str, now: datetime) -> OutboxRow:
    """The envelope of `event`, ready to insert and to publish."""
    subject, event_id, payload = encode_event(event, source=source, time=now)
    return OutboxRow(event_id, subject, payload)


async def add_to_outbox(conn: AsyncConnection, table: Table, event: BaseModel, *,
                        source: str, now: datetime) -> OutboxRow:
    """Record `event` in the caller's open transaction."""
    row = outbox_row(event, source=source, now=now)
    await conn.execute(insert(table), {"event_id": row.event_id, "subject": row.subject,
                                       "payload": row.payload, "created_at": now})
    return row


class OutboxWriter:
    """The outbox of one write transaction: `add` records an event in it, `rows` keeps
    what it recorded for the relay, which is handed them once the transaction committed."""

    def __init__(self, conn: AsyncConnection, table: Table, source: str) -> None:
        self._conn = conn
        self._table = table
        self._source = source
        self.rows: list[OutboxRow] = []

    async def add(self, event: BaseModel, now: datetime) -> None:
        self.rows.append(await add_to_outbox(self._conn, self._table, event,
                                             source=self._source, now=now))


class WritesOutbox(Protocol):
    @property
    def outbox(self) -> OutboxWriter: ...


TxT = TypeVar("TxT", bound=WritesOutbox)


@asynccontextmanager
async def write_with_outbox(db: Database, begin: Callable[[AsyncConnection], TxT],
                            committed: Committed | None) -> AsyncIterator[TxT]:
    """A unit of work's write transaction (`begin` makes its stores on the connection):
    the outbox rows it wrote go to `committed` right after the commit, still in this
    process's write turn, so they reach the relay in commit order, and never after a
    rollback. No use case has to tell the relay anything."""
    tx: TxT | None = None

    def hand_over() -> None:
        if tx is not None and tx.outbox.rows and committed is not None:
            committed(tx.outbox.rows)

    async with db.write(after_commit=hand_over) as conn:
        tx = begin(conn)
        yield tx
