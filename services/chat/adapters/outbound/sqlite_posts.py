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
from datetime import datetime

from services.chat.adapters.outbound.file_rows import FILE_COLUMNS, file_of
from services.chat.adapters.outbound.sqlite_thread import (
    MESSAGE_COLUMNS,
    SqliteThread,
    from_sqlite,
    message_of,
    to_sqlite,
)
from services.chat.domain import Member, Message, Room, Unauthenticated
from services.chat.domain.moderation import FOREVER
from services.chat.post_plan import (
    BatchPlan,
    PostContext,
    PostOutcome,
    PostRequest,
    files_wanted,
    roots_wanted,
)
from shared.db import Database
from shared.outbox import OutboxRow, outbox_row

Planner = Callable[[Sequence[PostRequest], PostContext], BatchPlan]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqlitePostLog:
    def __init__(self, path: str, db: Database, *, source: str,
                 committed: Callable[[list[OutboxRow]], None]) -> None:
        self._db = db
        self._source = source
        self._committed = committed
        self._sqlite = SqliteThread(path, "chat-posts")

    async def start(self) -> None:
        await self._sqlite.start()

    async def close(self) -> None:
        await self._sqlite.stop()

    async def commit(self, requests: Sequence[PostRequest], plan: Planner,
                     now: datetime) -> Sequence[PostOutcome]:
        async with self._db.write_turn():
            try:
                outcomes, rows = await self._sqlite.run(self._transaction, requests, plan, now)
            except sqlite3.IntegrityError as exc:
                if "FOREIGN KEY" not in str(exc):
                    raise
                # Rooms and mentioned members were read in this transaction: only a poster's
                # user row can be missing (a token that outlived its account).
                raise Unauthenticated(
                    "unknown_user", "The account behind this token no longer exists.") from exc
            self._committed(rows)
        return outcomes

    async def mark_sent(self, event_ids: list[str], at: datetime) -> None:
        """The relay's "sent" marks, on this connection (no SQLAlchemy round trips)."""
        async with self._db.write_turn():
            await self._sqlite.run(self._mark, event_ids, to_sqlite(at))

    # --- in the thread ----------------------------------------------------------------

    @staticmethod
    def _mark(conn: sqlite3.Connection, event_ids: list[str], at: str) -> None:
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

    def _transaction(self, conn: sqlite3.Connection, requests: Sequence[PostRequest],
                     plan: Planner, now: datetime
                     ) -> tuple[list[PostOutcome], list[OutboxRow]]:
        if conn.in_transaction:  # a batch abandoned half-way (cancelled at shutdown)
            conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = plan(requests, self._context(conn, requests, now))
            rows = [outbox_row(event, source=self._source, now=now) for event in result.events]
            self._write(conn, result, rows, now)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return result.outcomes, rows

    @staticmethod
    def _context(conn: sqlite3.Connection, requests: Sequence[PostRequest],
                 now: datetime) -> PostContext:
        room_ids = sorted({r.room_id for r in requests})
        rooms = {
            row[0]: Room(row[0], row[1], row[2], bool(row[3]), row[4],
                         from_sqlite(row[5]), row[6],  # type: ignore[arg-type]
                         slow_mode_secs=row[7])
            for row in conn.execute(
                "SELECT id, name, description, is_private, created_by, created_at, last_seq, "
                f"slow_mode_secs FROM chat_rooms WHERE id IN ({_marks(len(room_ids))})",
                room_ids)}
        pairs = sorted({(r.room_id, r.actor.user_id) for r in requests})
        members = {}
        server_mutes: dict[int, datetime | None] = {}
        for row in conn.execute(
                "SELECT rm.room_id, rm.user_id, u.username, rm.role, rm.joined_at, rm.read_seq, "
                "u.display_name, rm.muted_until, rm.last_post_at, u.muted_until "
                "FROM room_members rm JOIN users u ON u.id = rm.user_id "
                f"WHERE (rm.room_id, rm.user_id) IN (VALUES {_pairs(len(pairs))})",
                [v for pair in pairs for v in pair]):
            members[(row[0], row[1])] = Member(
                row[0], row[1], row[2], row[3], from_sqlite(row[4]),  # type: ignore[arg-type]
                row[5], row[6], from_sqlite(row[7]), from_sqlite(row[8]))
            server_mutes[row[1]] = from_sqlite(row[9])
        # The posters' display names (and server mutes) come with their memberships; only a
        # first post in a public room (no membership yet) reads the user row, and the
        # sanctions of that room.
        display_names = {m.user_id: m.display_name for m in members.values()}
        strangers = sorted({r.actor.user_id for r in requests} - display_names.keys())
        if strangers:
            for user_id, display_name, muted_until in conn.execute(
                    "SELECT id, display_name, muted_until FROM users "
                    f"WHERE id IN ({_marks(len(strangers))})", strangers):
                display_names[user_id] = display_name
                server_mutes[user_id] = from_sqlite(muted_until)
        unjoined: dict[tuple[int, int], dict[str, datetime]] = {}
        if outside := sorted(set(pairs) - members.keys()):
            for kind, room_id, user_id, until in conn.execute(
                    "SELECT kind, room_id, user_id, until FROM chat_sanctions "
                    f"WHERE (room_id, user_id) IN (VALUES {_pairs(len(outside))})",
                    [v for pair in outside for v in pair]):
                unjoined.setdefault((room_id, user_id), {})[kind] = (
                    from_sqlite(until) or FOREVER)
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
        roots: dict[int, Message] = {}
        wanted = roots_wanted(requests)
        if wanted:
            # The messages replied to and, for those that are replies, their roots.
            marks = _marks(len(wanted))
            for row in conn.execute(
                    f"SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id IN ({marks}) "
                    f"OR id IN (SELECT thread_root_id FROM chat_messages WHERE id IN ({marks}))",
                    [*wanted, *wanted]):
                message = message_of(row)
                roots[message.id] = message
        # Under the write lock nobody else inserts: the next ids are ours to hand out.
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM chat_messages").fetchone()[0]
        ids = iter(range(last_id + 1, last_id + 1 + len(requests)))
        files = {}
        if attached := files_wanted(requests):  # plain posts read no file
            files = {row[0]: file_of(row, from_sqlite) for row in conn.execute(
                f"SELECT {FILE_COLUMNS} FROM chat_files WHERE id IN ({_marks(len(attached))})",
                attached)}
        return PostContext(now, rooms, members, earlier, mentionable, ids.__next__,
                           display_names, roots, files, server_mutes, unjoined)

    @staticmethod
    def _write(conn: sqlite3.Connection, plan: BatchPlan, rows: list[OutboxRow],
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
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, 0, NULL)",
                [(m.id, m.room_id, m.seq, m.user_id, m.username, m.content, m.message_type,
                  m.client_msg_id, at, m.thread_root_id, int(m.also_send_to_room))
                 for m in plan.messages])
        if plan.attachments:
            conn.executemany("UPDATE chat_files SET message_id = ?, room_id = ? "
                             "WHERE id = ? AND message_id IS NULL",
                             [(m, r, f) for f, m, r in plan.attachments])
        if plan.thread_added:
            # One UPDATE per root the batch replied to.
            conn.executemany(
                "UPDATE chat_messages SET reply_count = reply_count + ?, last_reply_at = ? "
                "WHERE id = ?", [(added, at, root_id)
                                 for root_id, added in plan.thread_added.items()])
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
        if plan.last_posts:  # slow-mode rooms only
            conn.executemany(
                "UPDATE room_members SET last_post_at = ? WHERE room_id = ? AND user_id = ?",
                [(to_sqlite(t), room_id, user_id)
                 for (room_id, user_id), t in plan.last_posts.items()])
        if rows:
            conn.executemany(
                "INSERT INTO outbox (event_id, subject, payload, created_at) "
                "VALUES (?, ?, ?, ?)", [(r.event_id, r.subject, r.payload, at) for r in rows])


def _pairs(n: int) -> str:
    return ",".join(["(?, ?)"] * n)
