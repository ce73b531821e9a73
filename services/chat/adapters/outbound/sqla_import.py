"""`ImportTarget` over SQLAlchemy: an export's records written in ONE write transaction, ids
kept, so a failure anywhere leaves the database as empty as it was. The search index fills
itself (its triggers fire on each insert). The outbox gets, in the same transaction and
batched like the rows, the events the use case names for each record (`ImportEvents`: who
is where, not the history), as `tx.outbox.add` would write them; the relay publishes them
when chat runs. On PostgreSQL the id sequences are moved past the imported ids before the
commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Table, exists, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_audit import SqlaAuditLog
from services.chat.adapters.outbound.sqla_tables import (
    chat_audit,
    chat_files,
    chat_messages,
    chat_rooms,
    message_edits,
    message_mentions,
    message_pins,
    message_reactions,
    outbox,
    room_members,
    users,
)
from services.chat.domain import NO_PASSWORD, Conflict
from services.chat.domain.audit import AuditEntry
from services.chat.domain.files import thumbnail_key
from shared.db import Database
from shared.outbox import outbox_row

BATCH_ROWS = 500
# Tables whose integer ids a sequence hands out on PostgreSQL.
SEQUENCED = ("users", "chat_rooms", "room_members", "chat_messages", "message_edits",
             "chat_audit")


def _user(r: dict[str, Any]) -> dict[str, Any]:
    row = {"id": r["id"], "username": r["username"], "username_key": r["username"].lower(),
           "display_name": r["display_name"], "password_hash": NO_PASSWORD,
           "is_admin": r["is_admin"], "created_at": r["created_at"],
           "deactivated_at": r["deactivated_at"], "deleted_at": r["deleted_at"],
           "status_text": r["status_text"], "time_zone": r["time_zone"],
           "avatar_file_id": r["avatar_file_id"]}
    if "is_bot" in users.c:
        row["is_bot"] = r["is_bot"]
    return row


def _plain(table: Table) -> Callable[[dict[str, Any]], dict[str, Any]]:
    columns = set(table.c.keys())
    return lambda r: {k: v for k, v in r.items() if k in columns}


def _file(r: dict[str, Any]) -> dict[str, Any]:
    row = _plain(chat_files)(r)
    row["thumbnail_key"] = thumbnail_key(r["id"]) if r["has_thumbnail"] else None
    return row


def _audit(r: dict[str, Any]) -> dict[str, Any]:
    return {**_plain(chat_audit)(r), "details": orjson.dumps(r["details"]).decode()}


class _Batches:
    """Rows waiting for one multi-row INSERT per table; flushed in the stream's order."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._pending: list[tuple[Table, list[dict[str, Any]]]] = []
        self._held = 0

    async def add(self, table: Table, row: dict[str, Any]) -> None:
        if self._pending and self._pending[-1][0] is table:
            self._pending[-1][1].append(row)
        else:
            self._pending.append((table, [row]))
        self._held += 1
        if self._held >= BATCH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        for table, rows in self._pending:
            await self._conn.execute(insert(table), rows)
        self._pending, self._held = [], 0


async def _empty(conn: AsyncConnection) -> bool:
    found = await conn.execute(select(
        exists().where(users.c.id.is_not(None))
        | exists().where(chat_rooms.c.id.is_not(None))
        | exists().where(chat_messages.c.id.is_not(None))))
    return not found.scalar()


Events = Callable[[dict[str, Any]], Sequence[BaseModel]]


class SqlaImportTarget:
    def __init__(self, db: Database, source: str = "tertulia/chat") -> None:
        self._db = db
        self._source = source  # the envelopes' `source`, as chat's unit of work writes it

    async def is_empty(self) -> bool:
        async with self._db.read() as conn:
            return await _empty(conn)

    async def load(self, records: AsyncIterator[dict[str, Any]],
                   note: AuditEntry | None = None, events: Events | None = None) -> None:
        now = note.at if note is not None else datetime.now(UTC)
        async with self._db.write() as conn:
            if not await _empty(conn):
                raise Conflict("not_empty", "The database already has accounts, rooms or "
                               "messages: import only into an empty system.")
            # The outbox's rows in a batcher of their own: between the users' or members'
            # rows they would cut each multi-row INSERT into one per row. Their ids still
            # follow the stream's order, which is the order the relay publishes them in.
            batches, outgoing = _Batches(conn), _Batches(conn)
            async for record in records:
                await self._add(batches, record)
                for event in events(record) if events is not None else ():
                    await outgoing.add(outbox, self._row(event, now))
            await batches.flush()
            await outgoing.flush()
            if not self._db.sqlite:
                await _move_sequences(conn)
            if note is not None:  # after the imported entries, with the next id
                await SqlaAuditLog(conn).add(note)

    def _row(self, event: BaseModel, now: datetime) -> dict[str, Any]:
        row = outbox_row(event, source=self._source, now=now)
        return {"event_id": row.event_id, "subject": row.subject, "payload": row.payload,
                "created_at": now}

    async def _add(self, batches: _Batches, r: dict[str, Any]) -> None:
        kind = r["type"]
        if kind == "user":
            await batches.add(users, _user(r))
        elif kind == "room":
            await batches.add(chat_rooms, _plain(chat_rooms)(r))
        elif kind == "member":
            await batches.add(room_members, _plain(room_members)(r))
        elif kind == "message":
            await batches.add(chat_messages, _plain(chat_messages)(r))
            for user_id in r["mentions"]:
                await batches.add(message_mentions, {"message_id": r["id"], "user_id": user_id,
                                                     "room_id": r["room_id"], "seq": r["seq"]})
            for edit in r["edits"]:
                await batches.add(message_edits, {**edit, "message_id": r["id"],
                                                  "room_id": r["room_id"]})
        elif kind == "reaction":
            await batches.add(message_reactions, _plain(message_reactions)(r))
        elif kind == "pin":
            await batches.add(message_pins, _plain(message_pins)(r))
        elif kind == "file":
            await batches.add(chat_files, _file(r))
        elif kind == "audit":
            await batches.add(chat_audit, _audit(r))


async def _move_sequences(conn: AsyncConnection) -> None:
    """Explicit ids leave PostgreSQL's sequences where they were: the next insert would take
    an imported id. Each goes to its table's highest id."""
    for name in SEQUENCED:
        await conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {name}), 1), "
            f"(SELECT count(*) > 0 FROM {name}))"))
