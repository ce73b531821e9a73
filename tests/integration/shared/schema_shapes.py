"""What the migration tests compare: a database's schema as reflection sees it, its rows,
the drift between it and the code's tables, and the previous release's databases
(`tests/fixtures/previous_release/`) loaded into a SQLite file or a PostgreSQL database."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from shared.db import Database
from shared.migrations import ServiceSchema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "previous_release"
SERVICES = ("chat", "presence", "notifications", "dashboard")


async def load_previous_release(url: str, service: str) -> None:
    """The database the release before migrations left: every table, no version table."""
    if make_url(url).get_backend_name() == "sqlite":
        script = (FIXTURES / f"{service}.sql").read_text()

        def load() -> None:
            conn = sqlite3.connect(make_url(url).database or "")
            try:
                conn.executescript(script)
            finally:
                conn.close()

        await asyncio.to_thread(load)
        return
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:  # the dump empties search_path for its own session: this connection is closed next
        await conn.execute((FIXTURES / "postgresql" / f"{service}.sql").read_text())
    finally:
        await conn.close()


def shape(conn: Connection, *, column_order: bool = True) -> dict[str, Any]:
    """Every table but the version tables: columns, keys, constraints, indexes (with their
    WHERE), and on SQLite whether ids are AUTOINCREMENT. Without `column_order`, columns by
    name: a migration adds a column last, `create_all` where it is declared, and no
    statement here depends on the order (every one names its columns)."""
    inspector = inspect(conn)
    tables: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if name.startswith("alembic_version"):
            continue
        columns = [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                   for c in inspector.get_columns(name)]
        tables[name] = {
            "columns": columns if column_order else sorted(columns),
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "unique": sorted((tuple(u["column_names"]), str(u["name"]))
                             for u in inspector.get_unique_constraints(name)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"],
                 tuple(f["referred_columns"]), str(f.get("options", {}).get("ondelete")))
                for f in inspector.get_foreign_keys(name)),
            "indexes": sorted(
                (str(i["name"]), tuple(str(c) for c in i["column_names"]), i["unique"],
                 str(sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items())))
                for i in inspector.get_indexes(name)),
        }
        if conn.dialect.name == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                               {"n": name}).scalar_one()
            tables[name]["autoincrement"] = "AUTOINCREMENT" in sql
    return tables


def sqlite_ddl(conn: Connection) -> list[tuple[str, str, str | None]]:
    """SQLite's own text of every table and index but the version tables'."""
    rows = conn.execute(text(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'alembic_version%' "
        "AND tbl_name NOT LIKE 'alembic_version%' ORDER BY type, name"))
    return [(r.type, r.name, r.sql) for r in rows]


def drift(conn: Connection, schema: ServiceSchema) -> list[Any]:
    """What `alembic check` would report: the code's tables against the database's."""
    context = MigrationContext.configure(conn, opts=schema.context_options(conn.dialect.name))
    return list(compare_metadata(context, schema.metadata))


def version_of(conn: Connection, schema: ServiceSchema) -> list[str]:
    return list(conn.execute(text(f"SELECT version_num FROM {schema.version_table}")).scalars())


def rows(conn: Connection, schema: ServiceSchema) -> dict[str, list[dict[str, Any]]]:
    """Every row of the service's tables, as the database holds them, in key order."""
    inspector = inspect(conn)
    found = {}
    for name in sorted(set(inspector.get_table_names()) & set(schema.metadata.tables)):
        order = ", ".join(f'"{c}"' for c in inspector.get_pk_constraint(name)
                          ["constrained_columns"])
        result = conn.execute(text(f'SELECT * FROM "{name}" ORDER BY {order}'))
        found[name] = [dict(row) for row in result.mappings()]
    return found


async def on(db: Database, work: Any) -> Any:
    async with db.read() as conn:
        return await conn.run_sync(work)


async def replay_to(db: Database, schema: ServiceSchema, revision: str) -> None:
    """Run the revisions up to `revision`, as on a database that was never migrated."""
    def run(conn: Connection) -> None:
        config = schema.config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)

    async with db.write() as conn:
        await conn.run_sync(run)
