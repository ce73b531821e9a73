"""A SQLite connection owned by one thread, for the adapters that use the driver directly.

`loop.run_in_executor` chains a `concurrent.futures.Future` to an asyncio one (locks and a
callback on each side) for every call; on the message path that was paid per batch. Here a
call is a tuple on a `SimpleQueue`, and its result comes back with one
`call_soon_threadsafe`. Columns and encodings are those of the SQLAlchemy tables
(`sqla_tables.py`), so both read each other's rows.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from services.chat.domain import Message
from shared.db import SQLITE_BUSY_TIMEOUT_MS

T = TypeVar("T")
P = ParamSpec("P")
_STOP = object()
MESSAGE_COLUMNS = ("id, room_id, seq, user_id, username, content, message_type, "
                   "client_msg_id, created_at, edited_at, is_deleted, thread_root_id, "
                   "also_send_to_room, reply_count, last_reply_at")
# Messages as read for a page or a replay: their columns and the author's current display
# name (`message_of` takes a 16th column when there is one, and whether they are a bot).
MESSAGES_WITH_AUTHOR = (", ".join(f"m.{c}" for c in MESSAGE_COLUMNS.split(", "))
                        + ", u.display_name, u.is_bot, m.author_label FROM chat_messages m "
                        "LEFT JOIN users u ON u.id = m.user_id")


def to_sqlite(moment: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for `UtcDateTime`: naive UTC, microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def from_sqlite(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text is not None else None


def message_of(row: tuple[Any, ...]) -> Message:
    """A `MESSAGE_COLUMNS` row."""
    return Message(id=row[0], room_id=row[1], seq=row[2], user_id=row[3], username=row[4],
                   content=row[5], message_type=row[6], client_msg_id=row[7],
                   created_at=from_sqlite(row[8]),  # type: ignore[arg-type]
                   edited_at=from_sqlite(row[9]), is_deleted=bool(row[10]),
                   thread_root_id=row[11], also_send_to_room=bool(row[12]),
                   reply_count=row[13], last_reply_at=from_sqlite(row[14]),
                   display_name=row[15] if len(row) > 15 else None,
                   author_is_bot=bool(row[16]) if len(row) > 16 else False,
                   author_label=row[17] if len(row) > 17 else None)


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


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the caller went away; the call ran all the same
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SqliteThread:
    """`run(fn, *args)` calls `fn(connection, *args)` in the thread, in order."""

    def __init__(self, path: str, name: str) -> None:
        self._path = path
        self._name = name
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
        self._thread.start()
        await self.run(self._open)

    async def run(self, fn: Callable[Concatenate[sqlite3.Connection, P], T],
                  *args: Any) -> T:
        assert self._thread is not None, "start() starts the thread"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((fn, args, future, loop))
        return await future

    async def stop(self) -> None:
        """Run what is queued, close the connection, end the thread."""
        if self._thread is not None and self._thread.is_alive():
            await self.run(self._close)
            self._calls.put(_STOP)
        self._thread = None

    def _open(self, _conn: sqlite3.Connection | None) -> None:
        self._conn = open_connection(self._path)

    def _close(self, conn: sqlite3.Connection) -> None:
        conn.close()
        self._conn = None

    def _serve(self) -> None:
        while True:
            call = self._calls.get()
            if call is _STOP:
                return
            fn, args, future, loop = call
            try:
                result = fn(self._conn, *args)
            except BaseException as exc:  # handed to the caller, whatever it is
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)
