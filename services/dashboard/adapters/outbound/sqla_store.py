"""SQLAlchemy implementations of the dashboard's stores, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.dashboard.adapters.outbound.sqla_tables import (
    broadcasts,
    fold_position,
    minute_counts,
    processed_events,
    rooms,
    service_instances,
    storage_totals,
    users,
)
from services.dashboard.domain import (
    Broadcast,
    CountRow,
    Instance,
    Receipt,
    RoomRecord,
    StorageRow,
    UserRecord,
)
from shared.db import Database


def _insert(conn: AsyncConnection, table: Table) -> Any:
    """INSERT with ON CONFLICT support in the connection's dialect."""
    return (sqlite.insert(table) if conn.dialect.name == "sqlite"
            else postgresql.insert(table))


async def _upsert(conn: AsyncConnection, table: Table, keys: list[str],
                  values: dict[str, Any]) -> None:
    stmt = _insert(conn, table).values(**values)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in values if name not in keys}))


class SqlaEventTx:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def claim(self, event_id: str, now: datetime, seq: int | None = None) -> bool:
        result = await self._c.execute(
            _insert(self._c, processed_events)
            .values(event_id=event_id, processed_at=now, seq=seq)
            .on_conflict_do_nothing(index_elements=["event_id"]))
        return result.rowcount == 1

    async def claimed_by(self, event_id: str) -> int | None:
        return (await self._c.execute(select(processed_events.c.seq).where(
            processed_events.c.event_id == event_id))).scalar()

    async def advance(self, seq: int) -> None:
        await _advance(self._c, seq)

    async def count(self, kind: str, key: str, minute: datetime, n: int) -> None:
        stmt = _insert(self._c, minute_counts).values(kind=kind, key=key, minute=minute, count=n)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=["kind", "key", "minute"],
            set_={"count": minute_counts.c.count + stmt.excluded.count}))

    async def save_room(self, room: RoomRecord) -> None:
        await _upsert(self._c, rooms, ["room_id"], {
            "room_id": room.room_id, "name": room.name, "is_private": room.is_private})

    async def save_user(self, user: UserRecord) -> None:
        await _upsert(self._c, users, ["user_id"], {
            "user_id": user.user_id, "username": user.username, "status": user.status,
            "status_at": user.status_at, "room_id": user.room_id,
            "registered_at": user.registered_at})

    async def save_storage(self, row: StorageRow) -> None:
        await _upsert(self._c, storage_totals, ["kind"], {
            "kind": row.kind, "bytes": row.bytes, "files": row.files})


FOLD = "events"


async def _advance(conn: AsyncConnection, seq: int) -> None:
    # The highest any instance reached: each folds in stream order, so it is a prefix.
    await conn.execute(_insert(conn, fold_position).values(name=FOLD, seq=0)
                       .on_conflict_do_nothing(index_elements=["name"]))
    await conn.execute(update(fold_position).where(fold_position.c.name == FOLD)
                       .values(seq=func.max(fold_position.c.seq, seq)
                               if conn.dialect.name == "sqlite"
                               else func.greatest(fold_position.c.seq, seq)))


class SqlaStatsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlaEventTx]:
        async with self._db.write() as conn:
            yield SqlaEventTx(conn)

    async def load(self, since: datetime) -> tuple[list[CountRow], list[UserRecord],
                                                   list[RoomRecord], int, list[StorageRow]]:
        # One transaction: the counts are exactly those of the events up to the position.
        async with self._db.write() as conn:
            # Holding the position's row (SQLite: the write lock), no instance commits counts
            # between our reads: each moves the position in its counting transaction.
            await _advance(conn, 0)
            position = (await conn.execute(select(fold_position.c.seq).where(
                fold_position.c.name == FOLD))).scalar() or 0
            counts = (await conn.execute(
                select(minute_counts).where(minute_counts.c.minute >= since))).all()
            user_rows = (await conn.execute(select(users))).all()
            room_rows = (await conn.execute(select(rooms))).all()
            storage_rows = (await conn.execute(select(storage_totals))).all()
        return (
            [CountRow(r.kind, r.key, r.minute, r.count) for r in counts],
            [UserRecord(r.user_id, r.username, r.status, r.status_at, r.room_id,
                        r.registered_at) for r in user_rows],
            [RoomRecord(r.room_id, r.name, r.is_private) for r in room_rows],
            position,
            [StorageRow(r.kind, r.bytes, r.files) for r in storage_rows],
        )

    async def advance(self, seq: int) -> None:
        async with self._db.write() as conn:
            await _advance(conn, seq)

    async def prune(self, before: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(minute_counts).where(minute_counts.c.minute < before))
            await conn.execute(delete(processed_events)
                               .where(processed_events.c.processed_at < before))


def _instance(row: Any) -> Instance:
    return Instance(row.service, row.instance_id, row.version, row.started_at, row.last_seen,
                    row.interval_secs, row.ready, dict(row.details or {}))


class SqlaInstanceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, instance: Instance) -> None:
        async with self._db.write() as conn:
            await _upsert(conn, service_instances, ["service", "instance_id"], {
                "service": instance.service, "instance_id": instance.instance_id,
                "version": instance.version, "started_at": instance.started_at,
                "last_seen": instance.last_seen, "interval_secs": instance.interval_secs,
                "ready": instance.ready, "details": instance.details})

    async def load(self) -> list[Instance]:
        async with self._db.read() as conn:
            return [_instance(r) for r in (await conn.execute(select(service_instances))).all()]

    async def forget(self, instances: list[Instance]) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(service_instances).where(
                tuple_(service_instances.c.service, service_instances.c.instance_id)
                .in_([i.key for i in instances])))


def _broadcast(row: Any) -> Broadcast:
    receipts = {
        replica_id: Receipt(replica_id, r["sockets"], r["users"], tuple(r.get("user_ids", ())))
        for replica_id, r in (row.receipts or {}).items()}
    return Broadcast(row.broadcast_id, row.content, row.sender, row.sent_by, row.sent_at,
                     row.total_connections, frozenset(row.expected_replicas or ()), receipts)


class SqlaBroadcastStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, b: Broadcast) -> None:
        receipts = {r.replica_id: {"sockets": r.sockets, "users": r.users,
                                   "user_ids": list(r.user_ids)}
                    for r in b.receipts.values()}
        async with self._db.write() as conn:
            await _upsert(conn, broadcasts, ["broadcast_id"], {
                "broadcast_id": b.broadcast_id, "content": b.content, "sender": b.sender,
                "sent_by": b.sent_by, "sent_at": b.sent_at,
                "total_connections": b.total_connections,
                "expected_replicas": sorted(b.expected_replicas), "receipts": receipts})

    async def get(self, broadcast_id: str) -> Broadcast | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(broadcasts).where(
                broadcasts.c.broadcast_id == broadcast_id))).first()
        return _broadcast(row) if row is not None else None

    async def delete(self, broadcast_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(broadcasts).where(
                broadcasts.c.broadcast_id == broadcast_id))

    async def recent(self, limit: int) -> list[Broadcast]:
        async with self._db.read() as conn:
            rows = (await conn.execute(
                select(broadcasts).order_by(broadcasts.c.sent_at.desc()).limit(limit))).all()
        return [_broadcast(r) for r in rows]

