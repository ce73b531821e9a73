"""`PresenceRecords` in the service's own database: the exercise's `user_presence` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from services.presence.domain import PresenceRecord, Status
from shared.db import Database, UtcDateTime

metadata = MetaData()
# SQLite allows 32766 bound parameters per statement; stay far below any engine's limit.
CHUNK = 500




user_presence = Table(
    "user_presence", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(32), nullable=False, default=""),
    # The last status announced on `events.presence.changed`.
    Column("status", String(10), nullable=False, default="offline"),
    Column("last_activity", UtcDateTime),
    Column("current_room", Integer),
    # The last moment a connection was known open ("last seen").
    Column("last_seen", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_user_presence_status", "status"),
)


def _record(row: Any) -> PresenceRecord:
    return PresenceRecord(row.user_id, row.username, row.status, row.last_activity,
                          row.current_room, row.last_seen)


class SqlaPresenceRecords:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, records: Sequence[PresenceRecord]) -> None:
        if not records:
            return
        now = datetime.now(UTC)
        rows = [{"user_id": r.user_id, "username": r.username[:32], "status": r.status,
                 "last_activity": r.last_active_at, "current_room": r.current_room,
                 "last_seen": r.last_seen_at, "updated_at": now} for r in records]
        dialect = sqlite if self._db.sqlite else postgresql
        insert = dialect.insert(user_presence)
        upsert = insert.on_conflict_do_update(
            index_elements=[user_presence.c.user_id],
            set_={name: insert.excluded[name] for name in rows[0] if name != "user_id"})
        async with self._db.write() as conn:
            for start in range(0, len(rows), CHUNK):
                await conn.execute(upsert, rows[start:start + CHUNK])

    async def get(self, user_ids: Sequence[int]) -> dict[int, PresenceRecord]:
        found: dict[int, PresenceRecord] = {}
        async with self._db.read() as conn:
            for start in range(0, len(user_ids), CHUNK):
                chunk = list(user_ids[start:start + CHUNK])
                result = await conn.execute(
                    select(user_presence).where(user_presence.c.user_id.in_(chunk)))
                found.update((row.user_id, _record(row)) for row in result)
        return found

    async def not_offline(self) -> list[PresenceRecord]:
        async with self._db.read() as conn:
            result = await conn.execute(
                select(user_presence).where(user_presence.c.status != "offline"))
            return [_record(row) for row in result]

    async def count_by_status(self) -> dict[Status, int]:
        async with self._db.read() as conn:
            result = await conn.execute(
                select(user_presence.c.status, func.count()).group_by(user_presence.c.status))
            return {row[0]: int(row[1]) for row in result}
