"""`PostLog` on SQLite with the stdlib driver: a batch of posts is one transaction in one
thread hop.

SQLAlchemy's async engine costs three or four hand-offs to aiosqlite's thread and a greenlet
switch per statement, which on the message path cost more than SQLite itself (measured with
py-spy: 7 statements and ~3.4 ms of CPU per post). Here one thread owns one connection; a
batch (read what it needs, plan, write, commit) runs there start to end, within this
process's write turn (`Database.write_turn`), with the same columns and encodings that the
SQLAlchemy tables (`sqla_tables.py`) use, so both read each other's rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.chat.adapters.outbound.worker_thread import WorkerThread
from services.chat.domain import Member, Message, Room
from services.chat.post_plan import BatchPlan, PostContext, PostOutcome, PostRequest
from shared.db import SQLITE_BUSY_TIMEOUT_MS, Database
from shared.outbox import OutboxRow, outbox_row

Planner = Callable[[Sequence[PostRequest], PostContext], BatchPlan]
MESSAGE_COLUMNS = ("id, room_id, seq, user_id, username, content, message_type, "
                    "client_msg_id, created_at, edited_at, is_deleted")


def to_sqlite(moment: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for `UtcDateTime`: naive UTC, microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def from_sqlite(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text is not None else None


def message_of(row: tuple[Any, ...]) -> Message:
    return Message(id=row[0], room_id=row[1], seq=row[2], user_id=row[3], username=row[4],
                   content=row[5], message_type=row[6], client_msg_id=row[7],
                   created_at=from_sqlite(row[8]),  # type: ignore[arg-type]
                   edited_at=from_sqlite(row[9]), is_deleted=bool(row[10]))


def open_connection(path: str) -> sqlite3.Connection:
    """A connection configured as `shared.db` configures SQLAlchemy's; transactions are
    begun explicitly (`isolation_level=None`)."""
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # shared.db.WalCheckpointer does it
    return conn


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqlitePostLog:
    def __init__(self, path: str, db: Database, *, source: str,
                 committed: Callable[[list[OutboxRow]], None]) -> None:
        self._path = path
        self._db = db
        self._source = source
        self._committed = committed
        self._thread: WorkerThread | None = None
        self._conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        # One thread, so the connection is only ever used by it.
        self._thread = WorkerThread("chat-posts")
        await self._thread.run(self._open)

    @property
    def _worker(self) -> WorkerThread:
        assert self._thread is not None, "start() starts the thread"
        return self._thread

    async def close(self) -> None:
        if self._thread is not None:
            await self._thread.run(self._close)
            await self._thread.stop()
            self._thread = None

    def _open(self) -> None:
        self._conn = open_connection(self._path)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def commit(self, requests: Sequence[PostRequest], plan: Planner,
                     now: datetime) -> Sequence[PostOutcome]:
        async with self._db.write_turn():
            outcomes, rows = await self._worker.run(self._transaction, requests, plan, now)
            self._committed(rows)
        return outcomes

    async def mark_sent(self, event_ids: list[str], at: datetime) -> None:
        """The relay's "sent" marks, on this connection (no SQLAlchemy round trips)."""
        async with self._db.write_turn():
            await self._worker.run(self._mark, event_ids, to_sqlite(at))

    # --- in the thread ----------------------------------------------------------------

    def _mark(self, event_ids: list[str], at: str) -> None:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(event_ids), 500):  # within SQLite's variable limit
                chunk = event_ids[start:start + 500]
                conn.execute(f"UPDATE outbox SET sent_at = ? WHERE event_id IN "
                             f"({_marks(len(chunk))})", [at, *chunk])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _begin(self, requests: Sequence[PostRequest], now: datetime) -> PostContext:
        conn = self._conn
        assert conn is not None, "start() opens the connection"
        if conn.in_transaction:  # a batch abandoned half-way (cancelled at shutdown)
            conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            return self._context(conn, requests, now)
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _transaction(self, requests: Sequence[PostRequest], plan: Planner, now: datetime
                     ) -> tuple[list[PostOutcome], list[OutboxRow]]:
        ctx = self._begin(requests, now)
        try:
            result = plan(requests, ctx)
            rows = [outbox_row(event, source=self._source, now=now) for event in result.events]
        except BaseException:
            self._rollback()
            raise
        self._write_and_commit(result, rows, now)
        return result.outcomes, rows

    def _rollback(self) -> None:
        assert self._conn is not None
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _write_and_commit(self, plan: BatchPlan, rows: list[OutboxRow], now: datetime) -> None:
        conn = self._conn
        assert conn is not None
        try:
            self._write(conn, plan, rows, now)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _context(self, conn: sqlite3.Connection, requests: Sequence[PostRequest],
                 now: datetime) -> PostContext:
        room_ids = sorted({r.room_id for r in requests})
        rooms = {
            row[0]: Room(row[0], row[1], row[2], bool(row[3]), row[4],
                         from_sqlite(row[5]), row[6])  # type: ignore[arg-type]
            for row in conn.execute(
                "SELECT id, name, description, is_private, created_by, created_at, last_seq "
                f"FROM chat_rooms WHERE id IN ({_marks(len(room_ids))})", room_ids)}
        pairs = sorted({(r.room_id, r.actor.user_id) for r in requests})
        members = {
            (row[0], row[1]): Member(row[0], row[1], row[2], row[3],
                                     from_sqlite(row[4]), row[5])  # type: ignore[arg-type]
            for row in conn.execute(
                "SELECT rm.room_id, rm.user_id, u.username, rm.role, rm.joined_at, rm.read_seq "
                "FROM room_members rm JOIN users u ON u.id = rm.user_id "
                f"WHERE (rm.room_id, rm.user_id) IN (VALUES {_pairs(len(pairs))})",
                [v for pair in pairs for v in pair])}
        retried = sorted({(r.actor.user_id, r.client_msg_id) for r in requests
                          if r.client_msg_id is not None})
        earlier: dict[tuple[int, str], Message] = {}
        if retried:
            for row in conn.execute(
                    f"SELECT {MESSAGE_COLUMNS} FROM chat_messages "
                    f"WHERE (user_id, client_msg_id) IN (VALUES {_pairs(len(retried))})",
                    [v for pair in retried for v in pair]):
                message = message_of(row)
                earlier[(message.user_id, message.client_msg_id)] = message  # type: ignore[index]
        mentionable: dict[tuple[int, str], int] = {}
        names = sorted({name for r in requests for name in r.mentions})
        if names:
            for room_id, key, user_id in conn.execute(
                    "SELECT rm.room_id, u.username_key, u.id FROM room_members rm "
                    "JOIN users u ON u.id = rm.user_id "
                    f"WHERE rm.room_id IN ({_marks(len(room_ids))}) "
                    f"AND u.username_key IN ({_marks(len(names))})", [*room_ids, *names]):
                mentionable[(room_id, key)] = user_id
        # Under the write lock nobody else inserts: the next ids are ours to hand out.
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM chat_messages").fetchone()[0]
        ids = iter(range(last_id + 1, last_id + 1 + len(requests)))
        return PostContext(now, rooms, members, earlier, mentionable, ids.__next__)

    def _write(self, conn: sqlite3.Connection, plan: BatchPlan, rows: list[OutboxRow],
               now: datetime) -> None:
        at = to_sqlite(now)
        if plan.new_members:
            conn.executemany(
                "INSERT INTO room_members (room_id, user_id, role, joined_at, last_seen, "
                "read_seq) VALUES (?, ?, ?, ?, ?, ?)",
                [(m.room_id, m.user_id, m.role, at, at, m.read_seq) for m in plan.new_members])
        if plan.messages:
            conn.executemany(
                f"INSERT INTO chat_messages ({MESSAGE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)",
                [(m.id, m.room_id, m.seq, m.user_id, m.username, m.content, m.message_type,
                  m.client_msg_id, at) for m in plan.messages])
        if plan.mentions:
            conn.executemany("INSERT INTO message_mentions (message_id, user_id, room_id, seq) "
                             "VALUES (?, ?, ?, ?)", plan.mentions)
        if plan.room_seqs:
            conn.executemany("UPDATE chat_rooms SET last_seq = ? WHERE id = ?",
                             [(seq, room_id) for room_id, seq in plan.room_seqs.items()])
        if plan.read_markers:
            conn.executemany(
                "UPDATE room_members SET read_seq = ? "
                "WHERE room_id = ? AND user_id = ? AND read_seq < ?",
                [(seq, room_id, user_id, seq)
                 for (room_id, user_id), seq in plan.read_markers.items()])
        if rows:
            conn.executemany(
                "INSERT INTO outbox (event_id, subject, payload, created_at) "
                "VALUES (?, ?, ?, ?)", [(r.event_id, r.subject, r.payload, at) for r in rows])


def _pairs(n: int) -> str:
    return ",".join(["(?, ?)"] * n)
