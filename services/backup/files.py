"""The files of a backup: SQLite databases copied with SQLite's online backup API, the
signing key copied with its mode, each with its size and sha256."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

from shared.db import SQLITE_BUSY_TIMEOUT_MS

HASH_BLOCK = 1024 * 1024


class DamagedFile(RuntimeError):
    """A copied database that SQLite does not accept as whole."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while block := data.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database (blocking: callers in an event loop use a thread),
    created readable by its owner only: it holds password hashes and sessions.

    One `backup` step for all pages: the copy is the database as of one read transaction,
    which under WAL waits for no writer and makes none wait; what is committed in the WAL
    and not checkpointed yet is in it. Read-only on the source: a missing file is an error,
    not a new empty database."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True,
                          timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)
            # The copy stands alone: one file, no -wal beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    check_sqlite(target)


def copy_database_file(source: Path, target: Path) -> None:
    """A database from a backup into a data directory, readable by its owner only (it holds
    password hashes and sessions)."""
    copy_private(source, target)
    check_sqlite(target)


def check_sqlite(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DamagedFile(f"{path.name}: {exc}") from exc
    finally:
        conn.close()
    if not result or result[0] != "ok":
        raise DamagedFile(f"{path.name}: quick_check says {result}")


def schema_revision(path: Path, service: str) -> str | None:
    """The Alembic revision a service's database is at: its `alembic_version_<service>`
    table (`shared/migrations.py`), or a plain `alembic_version`; None without either."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for table in (f"alembic_version_{service}", "alembic_version"):
            try:
                row = conn.execute(f'SELECT version_num FROM "{table}"').fetchone()
            except sqlite3.DatabaseError:
                continue  # no such table: a database made before migrations
            return row[0] if row else None
        return None
    finally:
        conn.close()


def copy_private(source: Path, target: Path) -> None:
    """A secret's copy, readable by its owner only whatever the source's mode was."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out)
    os.chmod(target, 0o600)  # O_CREAT's mode is filtered by the umask; 0600 is what we want
