"""`JoinReader` on SQLite with the stdlib driver: a join's reads are one read transaction in
one hop to a reader thread (SQLAlchemy's async engine took two transactions and a dozen
thread hand-offs per join). WAL mode: readers never wait for the writer."""

from __future__ import annotations

import sqlite3

from services.chat.adapters.outbound.file_rows import SQLITE_FILES_OF, file_of, give_files
from services.chat.adapters.outbound.sqlite_thread import (
    MESSAGES_WITH_AUTHOR,
    SqliteThread,
    from_sqlite,
    message_of,
)
from services.chat.domain import Member, Room
from services.chat.ports import JoinView


class SqliteJoinReader:
    def __init__(self, path: str) -> None:
        self._sqlite = SqliteThread(path, "chat-joins")

    async def start(self) -> None:
        await self._sqlite.start()

    async def close(self) -> None:
        await self._sqlite.stop()

    async def read(self, room_id: int, user_id: int | None, since_seq: int | None, *,
                   replay_max: int, history: int) -> JoinView:
        return await self._sqlite.run(self._read, room_id, user_id, since_seq, replay_max,
                                      history)

    def _read(self, conn: sqlite3.Connection, room_id: int, user_id: int | None,
              since_seq: int | None, replay_max: int, history: int) -> JoinView:
        conn.execute("BEGIN")
        try:
            return self._view(conn, room_id, user_id, since_seq, replay_max, history)
        finally:
            conn.execute("COMMIT")

    @staticmethod
    def _view(conn: sqlite3.Connection, room_id: int, user_id: int | None,
              since_seq: int | None, replay_max: int, history: int) -> JoinView:
        row = conn.execute(
            "SELECT r.id, r.name, r.description, r.is_private, r.created_by, r.created_at, "
            "r.last_seq, rm.user_id, u.username, rm.role, rm.joined_at, rm.read_seq, "
            "u.display_name, r.kind "
            "FROM chat_rooms r LEFT JOIN room_members rm ON rm.room_id = r.id "
            "AND rm.user_id = ? LEFT JOIN users u ON u.id = rm.user_id WHERE r.id = ?",
            (user_id, room_id)).fetchone()
        if row is None:
            return JoinView(None, None, [], False, [])
        room = Room(row[0], row[1], row[2], bool(row[3]), row[4],
                    from_sqlite(row[5]), row[6], row[13])  # type: ignore[arg-type]
        member = None
        if row[7] is not None:
            member = Member(room_id, row[7], row[8], row[9],
                            from_sqlite(row[10]), row[11], row[12])  # type: ignore[arg-type]
        messages, recovered = [], False
        if since_seq is not None:
            messages = [message_of(r) for r in conn.execute(
                f"SELECT {MESSAGES_WITH_AUTHOR} WHERE m.room_id = ? AND m.seq > ? "
                "ORDER BY m.seq LIMIT ?", (room_id, since_seq, replay_max + 1))]
            recovered = len(messages) <= replay_max
        if not recovered:
            messages = [message_of(r) for r in conn.execute(
                f"SELECT {MESSAGES_WITH_AUTHOR} WHERE m.room_id = ? "
                "ORDER BY m.seq DESC LIMIT ?", (room_id, history))][::-1]
        if messages:
            ids = [m.id for m in messages]
            give_files(messages, (file_of(r, from_sqlite) for r in conn.execute(
                SQLITE_FILES_OF.format(marks=",".join("?" * len(ids))), ids)))
        members = conn.execute(
            "SELECT rm.user_id, u.username FROM room_members rm "
            "JOIN users u ON u.id = rm.user_id WHERE rm.room_id = ? ORDER BY rm.id",
            (room_id,)).fetchall()
        return JoinView(room, member, messages, recovered, members)
