"""Schema migrations (Alembic), the one way a service's tables come to be and change.

Each service owns its migrations (`services/<name>/migrations/`: `alembic.ini`, `env.py`,
`versions/`) and describes them with a `ServiceSchema`: its name, that directory and its
tables' metadata. Its version table is its own (`alembic_version_<name>`) and autogenerate
sees only its own tables, so services may share one PostgreSQL database without touching
each other's schema.

At start a service calls `ensure_schema`: a database that is behind is upgraded (unless
`<P>AUTO_MIGRATE=false`, then the start is refused with what to run), one at a revision the
code does not know (a newer release migrated it) is refused. `tertulia migrate` calls
`upgrade`. Alembic is synchronous: it runs on the async engine's connection through
`run_sync`, in the writers' turn on SQLite and under an advisory lock on PostgreSQL, so
replicas starting together migrate once, one after another.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.types import TypeDecorator

from shared.db import Database, sqlite_migration_engine

# Before Alembic is imported: at INFO it says what it sets up at import and on every
# connection ("setup plugin ...", "Context impl SQLiteImpl."), which each start's logs would
# repeat; `schema migrated` below says what matters. The `alembic` command's own logging
# (alembic.ini) sets its level again.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)
T = TypeVar("T")


class SchemaError(RuntimeError):
    """A database this code must not start on; the message says what to do."""


class SchemaTooNew(SchemaError):
    """The database is at a revision this code does not know: a newer release migrated it."""


class SchemaBehind(SchemaError):
    """The database needs migrations and this service was told not to run them."""


@dataclass(frozen=True, eq=False)
class ServiceSchema:
    """A service's migrations: where they are and which tables are its own."""

    service: str
    directory: Path
    metadata: MetaData
    # The database `alembic -c .../alembic.ini` works on without `-x url=`: the service's
    # settings, read from the environment as `tertulia serve` reads them.
    default_url: Callable[[], str]

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service}"

    @property
    def lock_key(self) -> int:
        """PostgreSQL advisory lock id: one per service, the same in every process."""
        return zlib.crc32(f"tertulia-migrate-{self.service}".encode())

    def config(self) -> Config:
        return Config(str(self.directory / "alembic.ini"))

    @cached_property
    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    @property
    def head(self) -> str:
        head = self.script.get_current_head()
        assert head is not None, f"{self.service}: no migrations in {self.directory}"
        return head

    @cached_property
    def revisions(self) -> frozenset[str]:
        """Every revision id, whole (Alembic's own look-up also takes a prefix)."""
        return frozenset(script.revision for script in self.script.walk_revisions())

    def knows(self, revision: str) -> bool:
        return revision in self.revisions

    def include_name(self, name: str | None, type_: str, _parents: object) -> bool:
        """Autogenerate and `check` see only this service's tables."""
        return type_ != "table" or name in self.metadata.tables

    def context_options(self, dialect: str) -> dict[str, Any]:
        """What `env.py` configures Alembic with, for every command and every caller."""
        return {
            "target_metadata": self.metadata,
            "version_table": self.version_table,
            "include_name": self.include_name,
            "compare_type": True,
            # SQLite changes most columns only by copying the table ("batch" mode).
            "render_as_batch": dialect == "sqlite",
            "render_item": _render_item,
        }


def _render_item(type_: str, obj: object, _context: object) -> str | bool:
    """Migrations name plain SQLAlchemy types: a TypeDecorator of ours (`UtcDateTime`) is
    written as the column type it stores, so an old migration never imports today's code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


@dataclass(frozen=True, slots=True)
class Migrated:
    """What `upgrade` or `ensure_schema` did to one service's database."""

    service: str
    database: str  # the URL without its password
    before: str | None
    after: str
    had_tables: bool = True

    def describe(self) -> str:
        where = f"{self.service} ({self.database})"
        if self.before == self.after:
            return f"{where}: at {self.after}, the latest revision; nothing to do"
        if self.before is None and not self.had_tables:
            return f"{where}: new database, schema created at revision {self.after}"
        if self.before is None:
            return (f"{where}: a database from before migrations; recognised and "
                    f"brought to revision {self.after}")
        return f"{where}: upgraded from revision {self.before} to {self.after}"


def shown_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def current_revision(connection: Connection, schema: ServiceSchema) -> str | None:
    context = MigrationContext.configure(
        connection, opts={"version_table": schema.version_table})
    return context.get_current_revision()


def _refuse_unknown(schema: ServiceSchema, url: str, revision: str | None) -> None:
    if revision is not None and not schema.knows(revision):
        raise SchemaTooNew(
            f"{schema.service}: the database {shown_url(url)} is at schema revision "
            f"{revision!r} (table {schema.version_table}), which this release does not "
            f"know: its latest is {schema.head!r}. A newer release has migrated it. Run "
            f"that release (or newer), or restore the backup taken before the upgrade; "
            f"this one will not start on it.")


def _upgrade_sync(connection: Connection, schema: ServiceSchema, url: str, replay: bool
                  ) -> Migrated:
    before = current_revision(connection, schema)
    _refuse_unknown(schema, url, before)
    had_tables = bool(set(inspect(connection).get_table_names()) & set(schema.metadata.tables))
    if before is None and not had_tables and not replay:
        # A new database: the tables as the code declares them, marked as at the latest
        # revision (Alembic's recipe; twice as fast as replaying every revision, which
        # every test's fresh database would pay). tests/integration/shared/
        # test_migrations.py proves both give the same schema.
        schema.metadata.create_all(connection)
        MigrationContext.configure(
            connection, opts={"version_table": schema.version_table}
        ).stamp(schema.script, "head")
    elif before != schema.head:
        config = schema.config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return Migrated(schema.service, shown_url(url), before, schema.head, had_tables)


async def _migrating(db: Database, schema: ServiceSchema, work: Callable[[Connection], T]) -> T:
    """Run `work` (Alembic, synchronous) on `db` in one migration transaction.

    On SQLite in this process's and the file's writers' turn, on a connection of its own
    with foreign keys off (SQLite cannot change them inside a transaction, and a batch
    migration that copies a table would otherwise cascade the drop of the old one),
    checked with `foreign_key_check` before the commit; on PostgreSQL under an advisory
    lock, so a second replica waits, then finds the work done."""
    async with db.write_turn():
        engine = sqlite_migration_engine(db.url) if db.sqlite else db.engine
        try:
            async with engine.begin() as conn:
                if not db.sqlite:
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                       {"key": schema.lock_key})
                result = await conn.run_sync(work)
                if db.sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise SchemaError(f"{schema.service}: the migration left rows "
                                          f"whose foreign keys point nowhere: {broken[:5]}")
        finally:
            if engine is not db.engine:
                await engine.dispose()
    return result


async def upgrade(db: Database, schema: ServiceSchema, *, replay: bool = False) -> Migrated:
    """Bring `db` to the latest revision (nothing if it is there already). `replay`: run
    every revision even on a new database (the tests that compare both ways)."""
    done = await _migrating(db, schema,
                            lambda conn: _upgrade_sync(conn, schema, db.url, replay))
    if done.before != done.after:
        log.info("schema migrated", extra={"fields": {
            "service": schema.service, "from": done.before, "to": done.after}})
    return done


async def ensure_schema(db: Database, schema: ServiceSchema, *, auto_migrate: bool = True
                        ) -> Migrated:
    """At a service's start: refuse a database newer than this code; upgrade one that is
    behind (or refuse, telling the operator to run `tertulia migrate`, when
    `auto_migrate` is off); at the latest revision, only this one read."""
    async with db.read() as conn:
        revision = await conn.run_sync(current_revision, schema)
    await asyncio.to_thread(_refuse_unknown, schema, db.url, revision)
    if revision == schema.head:
        return Migrated(schema.service, shown_url(db.url), revision, revision)
    if not auto_migrate:
        prefix = schema.service.upper()
        found = f"is at schema revision {revision!r}" if revision else "was never migrated"
        raise SchemaBehind(
            f"{schema.service}: the database {shown_url(db.url)} {found}, this release "
            f"needs {schema.head!r}, and {prefix}_AUTO_MIGRATE is false. Run `tertulia "
            f"migrate {schema.service}` (the migrate job) with this service's settings, then "
            f"start it again.")
    return await upgrade(db, schema)


def run_env(schema: ServiceSchema) -> None:
    """The body of every service's `env.py`. In-process (`upgrade`) Alembic is handed the
    connection; from the `alembic` command line the database is `-x url=...`, else the
    service's settings, and it is opened as the services open it (`Database`)."""
    from logging.config import fileConfig

    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_migrations(context, connection, schema)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = context.get_x_argument(as_dictionary=True).get("url") or schema.default_url()
    if context.is_offline_mode():  # `--sql`: the statements, printed
        context.configure(url=url, literal_binds=True,
                          **schema.context_options(make_url(url).get_backend_name()))
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        db = Database(url)
        await db.prepare()
        try:
            await _migrating(db, schema, lambda conn: _run_migrations(context, conn, schema))
        finally:
            await db.dispose()

    asyncio.run(online())


def _run_migrations(context: Any, connection: Connection, schema: ServiceSchema) -> None:
    context.configure(connection=connection, **schema.context_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()
