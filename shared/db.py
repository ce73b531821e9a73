"""Async database setup: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

`Database.write()` sessions take SQLite's write lock when they begin (`BEGIN IMMEDIATE`), so
a transaction that reads then writes waits for another process's writer instead of failing
with SQLITE_BUSY half-way; `Database.read()` sessions stay deferred so readers never queue
behind writers (WAL). On PostgreSQL both are the same pooled engine.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 15_000
CHECKPOINT_EVERY_SECS = 1.0
CHECKPOINT_STOP_SECS = 5.0
log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, begin: str, *, foreign_keys: bool = True,
                   pooled: bool = True) -> AsyncEngine:
    # A small pool: each aiosqlite connection owns a thread, and opening one (thread, file,
    # pragmas) costs more than the statements of a typical transaction.
    pool: dict[str, Any] = ({"pool_size": 5, "max_overflow": 5} if pooled
                            else {"poolclass": NullPool})
    engine = create_async_engine(url, **pool,
                                 connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # WalCheckpointer does it
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql(begin)

    return engine


def sqlite_migration_engine(url: str) -> AsyncEngine:
    """One connection for a migration (`shared/migrations.py`): the same pragmas, foreign
    keys off (SQLite changes that only outside a transaction), `BEGIN IMMEDIATE`."""
    return _sqlite_engine(url, "BEGIN IMMEDIATE", foreign_keys=False, pooled=False)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._write_lock: asyncio.Lock | None = None
        self._file_lock: WriterFileLock | None = None
        self._checkpointer: WalCheckpointer | None = None
        if self.sqlite:
            self._write_lock = asyncio.Lock()
            self.engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self._read_engine = _sqlite_engine(url, "BEGIN")
        else:
            self.engine = create_async_engine(url, pool_pre_ping=True, pool_size=10,
                                              max_overflow=20)
            self._read_engine = self.engine

    async def prepare(self) -> None:
        """Create the SQLite file's directory and open its writer lock (off the event loop)."""
        parsed = make_url(self.url)
        if self.sqlite and parsed.database not in (None, "", ":memory:"):
            path = Path(parsed.database)
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            if self._file_lock is None:
                self._file_lock = await asyncio.to_thread(
                    WriterFileLock, path.with_name(path.name + ".writer-lock"))
            if self._checkpointer is None:
                self._checkpointer = WalCheckpointer(path)

    # Core connections, not ORM sessions: the stores map rows themselves, and a Session
    # costs several times more CPU per statement on the message hot path.
    @asynccontextmanager
    async def write(self, after_commit: Callable[[], None] | None = None
                    ) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits on success and rolls back on any exception.
        `after_commit` runs right after the commit, still in this process's write turn, so
        what it hands on (outbox rows) goes in commit order."""
        async with self.write_turn():
            async with self.engine.begin() as conn:
                yield conn
            if after_commit is not None:
                after_commit()

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """This process's turn to write. SQLite has one writer at a time: writers queue
        here instead of in SQLite's busy handler, which sleeps up to 100 ms between retries
        (measured: p99 ack latency 944 ms with 10 concurrent posters before this lock).
        This process's writers (SQLAlchemy's and those on the driver) take turns on an
        asyncio lock, in FIFO order; processes sharing the file (replicas on one data
        directory) take turns on a lock file next to it, which the kernel hands over as
        soon as it is released. On PostgreSQL writers do not queue."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            file_lock = self._file_lock
            if file_lock is not None and not file_lock.try_acquire():
                await _acquire_in_thread(file_lock)  # another process is writing
            try:
                yield
            finally:
                if file_lock is not None:
                    file_lock.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._read_engine.begin() as conn:
            yield conn

    async def ping(self) -> bool:
        try:
            async with self._read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._read_engine is not self.engine:
            await self._read_engine.dispose()
        if self._file_lock is not None:
            self._file_lock.close()
            self._file_lock = None
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None


class WalCheckpointer:
    """Moves the WAL's pages into the database file from a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, and
    with its fsync that commit took up to 5.6 ms instead of 0.06 ms (measured: 3,000 small
    transactions, 2 ms apart); on the message path that was the p99. Every connection here
    turns the automatic checkpoint off (`wal_autocheckpoint=0`) and this thread runs a
    PASSIVE checkpoint every `CHECKPOINT_EVERY_SECS`, which waits for neither readers nor
    writers. Several processes on one file each run one; they take turns inside SQLite.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Checkpoint once more and end the thread (blocking: call it in a thread)."""
        self._stopping.set()
        self._thread.join(timeout=CHECKPOINT_STOP_SECS)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=False)
        failures = 0
        try:
            while True:
                stopping = self._stopping.wait(CHECKPOINT_EVERY_SECS)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    failures = 0
                except sqlite3.Error as exc:
                    failures += 1
                    if failures % 60 == 1:  # once a minute while it keeps failing
                        log.warning("WAL checkpoint failed", extra={"fields": {
                            "path": str(self._path), "error": str(exc)}})
                if stopping:
                    return
        finally:
            conn.close()


async def _acquire_in_thread(file_lock: WriterFileLock) -> None:
    """Wait for the lock in a thread; if the waiter is cancelled, the thread still gets the
    lock, and lets it go at once instead of keeping it from the other processes."""
    acquiring = asyncio.ensure_future(asyncio.to_thread(file_lock.acquire))
    try:
        await asyncio.shield(acquiring)
    except asyncio.CancelledError:
        acquiring.add_done_callback(
            lambda done: file_lock.release() if done.exception() is None else None)
        raise


class WriterFileLock:
    """An exclusive `flock` on a file beside the database, one per process and database.

    Taking it never blocks the event loop: `try_acquire` does not wait, and `acquire`
    (which does) runs in a thread. It is released when the process dies, however it dies."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def acquire(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


# SQLite keeps only INTEGER primary keys auto-incrementing; PostgreSQL gets real BIGINTs.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return value.replace(tzinfo=UTC) if value is not None else None
