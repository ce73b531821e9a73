"""Each service's migrations (`shared/migrations.py`, `services/<name>/migrations/`): the
previous release's database upgrades keeping every row; the baseline is that release's
schema exactly; a new database is the same created or replayed; the code's tables never
drift from the migrations (the check that fails when a Table changes without a revision);
a newer schema, or one behind with auto-migrate off, refuses start. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, text

from services.chat.adapters.outbound.search_schema import SEARCH_TABLES
from services.migrate import schema_of
from shared.db import Database
from shared.migrations import (
    SchemaBehind,
    SchemaTooNew,
    ServiceSchema,
    current_revision,
    ensure_schema,
    upgrade,
)
from tests.integration.shared.schema_shapes import (
    SERVICES,
    drift,
    load_previous_release,
    on,
    replay_to,
    rows,
    shape,
    sqlite_ddl,
    version_of,
)

pytestmark = pytest.mark.integration
BASELINE = "0001"


def sqlite_url(tmp_path: Path, name: str = "svc") -> str:
    return f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Database]:
    db = Database(url)
    await db.prepare()
    try:
        yield db
    finally:
        await db.dispose()


# --- the previous release upgrades, keeping its rows, with no drift ---------------------------

async def _previous_release_upgrades(url: str, service: str) -> None:
    schema = schema_of(service)
    await load_previous_release(url, service)
    async with opened(url) as db:
        before = await on(db, lambda conn: rows(conn, schema))
        assert sum(map(len, before.values())) > 0, "the fixture has rows"
        done = await ensure_schema(db, schema)
        assert (done.before, done.after, done.had_tables) == (None, schema.head, True)
        assert "from before migrations" in done.describe()
        after = await on(db, lambda conn: rows(conn, schema))
        # Every row is still there, every value as it was (a column added since may join).
        assert {name: [{k: r[k] for k in old} for old, r in zip(before[name], after[name],
                                                                    strict=True)]
                for name in before} == before
        assert await on(db, lambda conn: drift(conn, schema)) == []
        assert await on(db, lambda conn: version_of(conn, schema)) == [schema.head]
        again = await ensure_schema(db, schema)
        assert again.before == again.after == schema.head


@pytest.mark.parametrize("service", SERVICES)
async def test_the_previous_release_upgrades_on_sqlite(tmp_path: Path, service: str) -> None:
    await _previous_release_upgrades(sqlite_url(tmp_path, service), service)


@pytest.mark.postgres
@pytest.mark.parametrize("service", SERVICES)
async def test_the_previous_release_upgrades_on_postgres(postgres_url: str,
                                                         service: str) -> None:
    await _previous_release_upgrades(postgres_url, service)


async def test_a_chat_database_older_than_the_added_columns_gets_them(tmp_path: Path) -> None:
    """What `ADDED_COLUMNS` did at start before migrations, the baseline does now."""
    schema = schema_of("chat")
    url = sqlite_url(tmp_path, "chat")
    await load_previous_release(url, "chat")
    async with opened(url) as db:
        async with db.write() as conn:
            await conn.execute(text("ALTER TABLE users DROP COLUMN deactivated_at"))
            await conn.execute(text("ALTER TABLE users DROP COLUMN deleted_at"))
        assert await on(db, lambda conn: drift(conn, schema)) != []
        await ensure_schema(db, schema)
        assert await on(db, lambda conn: drift(conn, schema)) == []


# --- the baseline is that release's schema; a new database is the same either way ------------

@pytest.mark.parametrize("service", SERVICES)
async def test_the_baseline_is_the_previous_release_schema_on_sqlite(
        tmp_path: Path, service: str) -> None:
    schema = schema_of(service)
    previous, replayed = sqlite_url(tmp_path, "previous"), sqlite_url(tmp_path, "replayed")
    await load_previous_release(previous, service)
    async with opened(previous) as old, opened(replayed) as new:
        await replay_to(new, schema, BASELINE)
        assert await on(new, sqlite_ddl) == await on(old, sqlite_ddl)  # the same text
        assert await on(new, shape) == await on(old, shape)


@pytest.mark.postgres
@pytest.mark.parametrize("service", SERVICES)
async def test_the_baseline_is_the_previous_release_schema_on_postgres(
        postgres_url: str, service: str) -> None:
    schema = schema_of(service)
    await load_previous_release(postgres_url, service)
    async with opened(postgres_url) as old:
        expected = await on(old, shape)
        async with old.write() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await replay_to(old, schema, BASELINE)
        assert await on(old, shape) == expected


async def _created_equals_replayed(created_url: str, replayed_url: str, service: str) -> None:
    schema = schema_of(service)
    async with opened(created_url) as created, opened(replayed_url) as replayed:
        made = await upgrade(created, schema)
        assert "new database" in made.describe()
        await upgrade(replayed, schema, replay=True)
        # The drift check: a Table changed without a revision fails here.
        assert await on(replayed, lambda conn: drift(conn, schema)) == []
        assert (await on(created, lambda conn: shape(conn, column_order=False))
                == await on(replayed, lambda conn: shape(conn, column_order=False)))
        for db in (created, replayed):
            assert await on(db, lambda conn: version_of(conn, schema)) == [schema.head]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_new_database_is_the_same_created_or_replayed_on_sqlite(
        tmp_path: Path, service: str) -> None:
    await _created_equals_replayed(sqlite_url(tmp_path, "created"),
                                   sqlite_url(tmp_path, "replayed"), service)


@pytest.mark.postgres
@pytest.mark.parametrize("service", SERVICES)
async def test_a_new_database_is_the_same_created_or_replayed_on_postgres(
        postgres_url: str, service: str) -> None:
    schema = schema_of(service)
    async with opened(postgres_url) as db:
        await upgrade(db, schema)
        created = await on(db, lambda conn: shape(conn, column_order=False))
        async with db.write() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(db, schema, replay=True)
        assert await on(db, lambda conn: drift(conn, schema)) == []
        assert await on(db, lambda conn: shape(conn, column_order=False)) == created


async def test_the_drift_check_sees_a_table_changed_without_a_migration(
        tmp_path: Path) -> None:
    chat = schema_of("chat")
    changed = MetaData()
    for table in chat.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["users"].append_column(Column("nickname", String(40)))
    edited = ServiceSchema("chat", chat.directory, changed, chat.default_url)
    async with opened(sqlite_url(tmp_path)) as db:
        await upgrade(db, chat, replay=True)
        found = await on(db, lambda conn: drift(conn, edited))
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "users", "nickname")]


COPY_USERS = '''"""A test's revision: SQLite's batch mode copies `users` to a new table."""
from alembic import op

revision = "9999"
down_revision = "{head}"


def upgrade() -> None:
    with op.batch_alter_table("users", recreate="always"):
        pass
'''


async def test_a_migration_that_copies_a_table_keeps_the_rows_pointing_at_it(
        tmp_path: Path) -> None:
    """SQLite changes a column by copying its table and dropping the old one; with foreign
    keys on, that drop would delete every session and membership (ON DELETE CASCADE) and
    orphan every message (SET NULL). Migrations run with them off, checked before commit."""
    chat = schema_of("chat")
    shutil.copytree(chat.directory, tmp_path / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # After the last revision there is, whichever it is.
    head = ScriptDirectory(str(chat.directory)).get_current_head()
    (tmp_path / "migrations" / "versions" / "9999_copy_users.py").write_text(
        COPY_USERS.replace("{head}", str(head)))
    copying = ServiceSchema("chat", tmp_path / "migrations", chat.metadata, chat.default_url)
    url = sqlite_url(tmp_path, "chat")
    await load_previous_release(url, "chat")
    async with opened(url) as db:
        before = await on(db, lambda conn: rows(conn, chat))
        assert (await upgrade(db, copying)).after == "9999"
        after = await on(db, lambda conn: rows(conn, chat))
        # Every row is still there, every value as it was (a column added since may join).
        assert {name: [{k: r[k] for k in old} for old, r in zip(before[name], after[name],
                                                                    strict=True)]
                for name in before} == before
        assert await on(db, lambda conn: version_of(conn, copying)) == ["9999"]


# --- what a start refuses ---------------------------------------------------------------------

async def _a_newer_schema_is_refused(url: str) -> None:
    schema = schema_of("presence")
    async with opened(url) as db:
        await upgrade(db, schema)
        async with db.write() as conn:  # as a newer release's migration would leave it
            await conn.execute(text(f"UPDATE {schema.version_table} "
                                    "SET version_num = '0042_from_the_future'"))
        for attempt in (ensure_schema(db, schema), upgrade(db, schema)):
            with pytest.raises(SchemaTooNew) as refused:
                await attempt
            message = str(refused.value)
            assert "'0042_from_the_future'" in message  # the revision found
            assert f"its latest is '{schema.head}'" in message  # the one known
            assert "newer release" in message and "restore the backup" in message  # what to do
        assert await on(db, lambda conn: version_of(conn, schema)) == ["0042_from_the_future"]
    # Alembic's look-up takes a prefix of an id; a version table holds whole ones only.
    assert schema.knows(schema.head) and not schema.knows(schema.head[:2])


async def test_a_schema_newer_than_the_code_is_refused_on_sqlite(tmp_path: Path) -> None:
    await _a_newer_schema_is_refused(sqlite_url(tmp_path))


@pytest.mark.postgres
async def test_a_schema_newer_than_the_code_is_refused_on_postgres(postgres_url: str) -> None:
    await _a_newer_schema_is_refused(postgres_url)


@pytest.mark.parametrize("previous_release", [False, True], ids=["new", "previous-release"])
async def test_with_auto_migrate_off_a_schema_behind_is_refused_until_migrated(
        tmp_path: Path, previous_release: bool) -> None:
    schema = schema_of("notifications")
    url = sqlite_url(tmp_path)
    if previous_release:
        await load_previous_release(url, "notifications")
    async with opened(url) as db:
        with pytest.raises(SchemaBehind) as refused:
            await ensure_schema(db, schema, auto_migrate=False)
        message = str(refused.value)
        assert "NOTIFICATIONS_AUTO_MIGRATE is false" in message
        assert "Run `tertulia migrate notifications`" in message
        assert f"needs '{schema.head}'" in message
        assert await on(db, lambda conn: current_revision(conn, schema)) is None  # untouched
        await upgrade(db, schema)  # the migrate job
        assert (await ensure_schema(db, schema, auto_migrate=False)).after == schema.head


# --- several at once, several in one database -------------------------------------------------

async def _replicas_at_once(url: str) -> None:
    schema = schema_of("chat")
    await load_previous_release(url, "chat")
    dbs = [Database(url) for _ in range(3)]
    try:
        for db in dbs:
            await db.prepare()
        done = await asyncio.gather(*(ensure_schema(db, schema) for db in dbs))
        assert sorted(d.before or "" for d in done) == ["", schema.head, schema.head]
        assert await on(dbs[0], lambda conn: version_of(conn, schema)) == [schema.head]
        assert await on(dbs[0], lambda conn: drift(conn, schema)) == []
    finally:
        for db in dbs:
            await db.dispose()


async def test_replicas_starting_at_once_migrate_once_on_sqlite(tmp_path: Path) -> None:
    await _replicas_at_once(sqlite_url(tmp_path, "chat"))


@pytest.mark.postgres
async def test_replicas_starting_at_once_migrate_once_on_postgres(postgres_url: str) -> None:
    await _replicas_at_once(postgres_url)


@pytest.mark.postgres
async def test_services_sharing_one_postgres_database_keep_to_their_own_tables(
        postgres_url: str) -> None:
    # The dashboard's `users` and `rooms` would clash with chat's: it needs its own.
    sharing = ("chat", "presence", "notifications")
    async with opened(postgres_url) as db:
        for service in sharing:
            await upgrade(db, schema_of(service))
        for service in sharing:
            schema = schema_of(service)
            assert await on(db, lambda conn, s=schema: version_of(conn, s)) == [schema.head]
            # Another service's tables are not this one's drift.
            assert await on(db, lambda conn, s=schema: drift(conn, s)) == []
        tables = await on(db, shape)
    assert {f"alembic_version_{s}" for s in sharing} <= set(
        await _tables(postgres_url))
    # Chat's search index is a table of its own, made with chat_messages (search_schema.py).
    assert set(tables) == {name for s in sharing for name in schema_of(s).metadata.tables
                           } | set(SEARCH_TABLES["postgresql"])


async def _tables(url: str) -> list[str]:
    async with opened(url) as db:
        async with db.read() as conn:
            result = await conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            return list(result.scalars())
