"""`shared.db.create_schema`, the one schema step every service runs at start: missing
tables, then the columns added after a table's first release."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect

from shared.db import Database, UtcDateTime, create_schema

pytestmark = pytest.mark.integration


def _metadata(*, with_added: bool) -> MetaData:
    metadata = MetaData()
    columns = [Column("id", Integer, primary_key=True), Column("name", String(32))]
    if with_added:
        columns += [Column("archived_at", UtcDateTime, nullable=True),
                    Column("note", String(64), nullable=True)]
    Table("things", metadata, *columns)
    Table("others", metadata, Column("id", Integer, primary_key=True))
    return metadata


async def _columns(db: Database) -> dict[str, set[str]]:
    def read(sync_conn: object) -> dict[str, set[str]]:
        inspector = inspect(sync_conn)
        return {name: {c["name"] for c in inspector.get_columns(name)}
                for name in inspector.get_table_names()}

    async with db.read() as conn:
        return await conn.run_sync(read)


async def _database(url: str) -> Database:
    db = Database(url)
    await db.prepare()
    return db


async def _replicas_at_once_then_an_older_database_catches_up(url: str) -> None:
    # An older release made the database: `things` without the columns added since.
    old = await _database(url)
    try:
        await create_schema(old, _metadata(with_added=False))
    finally:
        await old.dispose()
    # Three replicas of the new release start together on it.
    replicas = [await _database(url) for _ in range(3)]
    try:
        await asyncio.gather(*(create_schema(db, _metadata(with_added=True),
                                             added_columns={"things": ("archived_at", "note")})
                               for db in replicas))
        columns = await _columns(replicas[0])
        assert columns["things"] == {"id", "name", "archived_at", "note"}
        assert columns["others"] == {"id"}
        # Running it again changes nothing and does not fail.
        await create_schema(replicas[1], _metadata(with_added=True),
                            added_columns={"things": ("archived_at", "note")})
        assert await _columns(replicas[1]) == columns
    finally:
        for db in replicas:
            await db.dispose()


async def test_sqlite_replicas_at_once_and_columns_added_to_an_older_file(
        tmp_path: Path) -> None:
    await _replicas_at_once_then_an_older_database_catches_up(
        f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")


async def test_postgres_replicas_at_once_and_columns_added_to_an_older_database(
        postgres_url: str) -> None:
    await _replicas_at_once_then_an_older_database_catches_up(postgres_url)


async def test_tables_only_when_nothing_was_added(tmp_path: Path) -> None:
    db = await _database(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")
    try:
        await create_schema(db, _metadata(with_added=True))
        assert set(await _columns(db)) == {"things", "others"}
    finally:
        await db.dispose()
